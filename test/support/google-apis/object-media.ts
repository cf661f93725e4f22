import { createHash } from 'node:crypto';

/** The metadata and the bytes of a multipart upload (`uploadType=multipart`): a JSON part, then the media part. */
export function parseMultipart(raw: Buffer): { metadata: Record<string, unknown>; media: Buffer } {
  // gcloud writes the parts with bare LF line ends; other clients use CRLF.
  const text = raw.toString('latin1');
  const boundary = text.slice(0, text.search(/\r?\n/));
  const parts = text.split(boundary).slice(1, -1);
  const body = (part: string) => {
    const headersEnd = /\r?\n\r?\n/.exec(part)!;
    return part.slice(headersEnd.index + headersEnd[0].length).replace(/\r?\n$/, '');
  };
  const metadata = parts[0] ? (JSON.parse(body(parts[0])) as Record<string, unknown>) : {};
  return { metadata, media: Buffer.from(parts[1] ? body(parts[1]) : '', 'latin1') };
}

const CRC32C_TABLE = Array.from({ length: 256 }, (_, index) => {
  let value = index;
  for (let bit = 0; bit < 8; bit++) value = value & 1 ? (value >>> 1) ^ 0x82f63b78 : value >>> 1;
  return value >>> 0;
});

/** The checksums Cloud Storage reports for an object (base64 md5 and big-endian crc32c), which gcloud verifies after an upload. */
export function checksumsOf(media: Buffer): { md5Hash: string; crc32c: string } {
  let crc = 0xffffffff;
  for (const byte of media) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return { md5Hash: createHash('md5').update(media).digest('base64'), crc32c: bytes.toString('base64') };
}
