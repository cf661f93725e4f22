import { type Socket, connect } from 'node:net';

/** An HTTP/1.1 answer as read off the wire. */
export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** Interim answers before it (100 Continue), by status. */
  interim: number[];
}

/** A raw TCP connection to a loopback port, kept open between exchanges as a keep-alive client keeps it. */
export interface RawConnection {
  socket: Socket;
  /** Resolves once the server has closed the connection (or it failed). */
  closed: Promise<void>;
  /** Writes `request` and resolves with the next complete answer; rejects if the connection closes first. */
  exchange(request: string): Promise<RawAnswer>;
}

/** Opens a raw connection, for tests that must see which connection an answer came on and when it closes. */
export async function rawConnection(port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffer = Buffer.alloc(0);
  let waiting: { resolve(answer: RawAnswer): void; reject(error: Error): void; interim: number[] } | undefined;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const settle = () => {
    while (waiting) {
      const answer = parseAnswer(buffer);
      if (!answer) return;
      buffer = buffer.subarray(answer.length);
      if (answer.status < 200) waiting.interim.push(answer.status);
      else {
        const done = waiting;
        waiting = undefined;
        done.resolve({ ...answer, interim: done.interim });
      }
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    settle();
  });
  socket.on('error', () => undefined);
  void closed.then(() => waiting?.reject(new Error('the server closed the connection before answering')));
  return {
    socket,
    closed,
    exchange: (request) =>
      new Promise((resolve, reject) => {
        if (socket.destroyed) return reject(new Error('the connection is closed'));
        waiting = { resolve, reject, interim: [] };
        socket.write(request);
        settle();
      }),
  };
}

/** A one-row POST /predict on a keep-alive connection. */
export function predictRequest(body = '{"instances":[[1,2,3,4]]}'): string {
  return `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function parseAnswer(buffer: Buffer): (Omit<RawAnswer, 'interim'> & { length: number }) | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(statusLine!.split(' ')[1]);
  const body = status < 200 ? { text: '', end: end + 4 } : readBody(buffer, end + 4, headers);
  return body && { status, headers, body: body.text, length: body.end };
}

/** The body that starts at `start`, by its Content-Length or its chunks; undefined until all of it is in. */
function readBody(buffer: Buffer, start: number, headers: Record<string, string>): { text: string; end: number } | undefined {
  if (headers['transfer-encoding'] !== 'chunked') {
    const end = start + Number(headers['content-length'] ?? 0);
    return buffer.length < end ? undefined : { text: buffer.subarray(start, end).toString(), end };
  }
  const chunks: Buffer[] = [];
  let at = start;
  for (;;) {
    const line = buffer.indexOf('\r\n', at);
    if (line < 0) return undefined;
    const size = Number.parseInt(buffer.subarray(at, line).toString('latin1'), 16);
    if (buffer.length < line + 2 + size + 2) return undefined;
    if (size === 0) return { text: Buffer.concat(chunks).toString(), end: line + 4 };
    chunks.push(buffer.subarray(line + 2, line + 2 + size));
    at = line + 2 + size + 2;
  }
}
