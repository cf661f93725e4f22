import { PlatformError } from '../domain/errors.js';

/** Reads a JSON request body; an empty body is `{}`, and bad JSON is a 400 saying so. */
export async function readJsonBody(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new PlatformError('EVENT.INVALID', 'The request body is not valid JSON.');
  }
}
