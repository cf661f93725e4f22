import { randomUUID } from 'node:crypto';
import { parseVersionNumber, validateAliasName, validateModelName } from '../../shared/domain/names.js';
import type { AliasMove } from '../../shared/ports/model-registry.port.js';
import type { CliContext } from './context.js';
import { callFunction } from './http.js';

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
  return callFunction<AliasMove>(context, 'registry-api', path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mlops-actor': context.actor },
    body: JSON.stringify(body),
  });
}
