/** A Firestore `Value` as the REST API encodes it in JSON: exactly one of these keys is set. */
export type FirestoreValue = {
  nullValue?: null;
  booleanValue?: boolean;
  /** int64, as a decimal string. */
  integerValue?: string;
  /** A number, or "NaN", "Infinity", "-Infinity". */
  doubleValue?: number | string;
  stringValue?: string;
  arrayValue?: { values?: FirestoreValue[] };
  mapValue?: { fields?: Record<string, FirestoreValue> };
} & Record<string, unknown>;

/** A value kind the reader does not decode (timestamps, bytes, references, ...): the caller reads through the SDK instead. */
export class UndecodableValueError extends Error {}

// Each kind decodes to what the Firestore SDK's `data()` returns for it (integers as numbers, its default).
const DECODERS: Record<string, (value: FirestoreValue) => unknown> = {
  nullValue: () => null,
  booleanValue: (value) => value.booleanValue,
  integerValue: (value) => Number(value.integerValue),
  doubleValue: (value) => Number(value.doubleValue),
  stringValue: (value) => value.stringValue,
  arrayValue: (value) => (value.arrayValue?.values ?? []).map(decodeValue),
  mapValue: (value) => decodeFields(value.mapValue?.fields ?? {}),
};

/** Decodes one Value; throws UndecodableValueError for a kind the SDK would turn into one of its own classes. */
export function decodeValue(value: FirestoreValue): unknown {
  const kind = Object.keys(value).find((key) => key in DECODERS);
  if (!kind) throw new UndecodableValueError(`Firestore value of kind ${Object.keys(value).join(', ') || 'none'} is not decoded over REST.`);
  if (kind === 'mapValue' && value.mapValue?.fields?.__type__?.stringValue === '__vector__') {
    throw new UndecodableValueError('Firestore vector values are not decoded over REST.');
  }
  return DECODERS[kind]!(value);
}

/** Decodes a document's (or a map's) fields to a plain object. */
export function decodeFields(fields: Record<string, FirestoreValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, decodeValue(value)]));
}
