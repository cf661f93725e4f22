import { randomUUID } from 'node:crypto';
import { type ErrorCode, PlatformError } from '../../shared/domain/errors.js';
import { parseVersionNumber, validateAliasName, validateModelName } from '../../shared/domain/names.js';
import type { AliasMove } from '../../shared/ports/model-registry.port.js';
import type { CliContext } from './context.js';

/** `mlops promote <name> <version> --to <alias>`: through the registry API, which applies the promotion policy. */
export async function promote(context: CliContext, name: string, version: string, alias: string, reason: string): Promise<AliasMove> {
  const body = { version: parseVersionNumber(version), reason, requestId: randomUUID() };
  return callRegistry(context, `/models/${validateModelName(name)}/aliases/${validateAliasName(alias)}`, body);
}

/** `mlops rollback <name> [--alias production]`: the alias goes back to its previous holder. */
export async function rollback(context: CliContext, name: string, alias: string, reason: string): Promise<AliasMove> {
  return callRegistry(context, `/models/${validateModelName(name)}/aliases/${validateAliasName(alias)}/rollback`, { reason, requestId: randomUUID() });
}

/** Describes a move for people. */
export function describeMove(move: AliasMove, verb: string): string {
  const from = move.previousVersion === null ? 'no previous holder' : `was version ${move.previousVersion}`;
  return `${move.model}: ${move.alias} ${verb} version ${move.version} (${from})${move.applied ? '' : ' [already applied]'}`;
}

async function callRegistry(context: CliContext, path: string, body: unknown): Promise<AliasMove> {
  const url = `${context.functionUrl('registry-api')}${path}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-mlops-actor': context.actor };
  if (context.apiKey) headers.authorization = `Bearer ${context.apiKey}`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  } catch (error) {
    throw new PlatformError('CONFIG.INVALID', `Cannot reach the registry API at ${url} (${(error as Error).message}). Is the platform running (npm start)?`, {
      permanent: false,
    });
  }
  const payload = (await response.json().catch(() => ({}))) as { error?: string; code?: ErrorCode } & AliasMove;
  if (!response.ok) throw new PlatformError(payload.code ?? 'CONFIG.INVALID', payload.error ?? `The registry API answered ${response.status}.`);
  return payload;
}
