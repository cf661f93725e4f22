import type { IncomingHttpHeaders } from 'node:http';
import { SHADOW_OF_HEADER } from '../../shared/domain/rollout.js';
import { type RolloutTarget, bytesOf } from './rollout-settings.js';

/** How much the mirror may hold up and how it draws its share; `random` lets a test choose. */
export interface ShadowMirrorOptions {
  /** Copies in flight at once; past it a copy is skipped (and counted), never queued. */
  maxInFlight?: number;
  /** Longest a copy may take before it is abandoned and counted as failed. */
  timeoutMs?: number;
  random?: () => number;
}

/** What became of the copies offered to the shadow. */
export interface ShadowMirrorStats {
  sent: number;
  failed: number;
  skipped: number;
}

/**
 * Past this the ids would not fit a request header (Node's limit is 16 KiB for them all): a copy of a
 * request this large is skipped, as production's answer could not be linked to the shadow's.
 */
const MAX_IDS_HEADER = 8000;

/**
 * Sends a copy of a share of the primary's answered prediction requests to the shadow revision,
 * after the answer and off its path: a slow, failing or absent shadow costs the client nothing. The
 * copy carries the primary's prediction ids, so the shadow's answers can be joined to production's.
 */
export class ShadowMirror {
  readonly stats: ShadowMirrorStats = { sent: 0, failed: 0, skipped: 0 };
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly timeoutMs: number;
  private readonly random: () => number;

  constructor(
    private readonly target: RolloutTarget,
    { maxInFlight = 64, timeoutMs = 5000, random = Math.random }: ShadowMirrorOptions = {},
  ) {
    this.maxInFlight = maxInFlight;
    this.timeoutMs = timeoutMs;
    this.random = random;
  }

  /** Perhaps sends a copy of a request answered with `ids`: `path` on the shadow, the same body, content type and API key. */
  offer(path: string, headers: IncomingHttpHeaders | Headers, body: Buffer | string, ids: readonly string[]): void {
    if (this.random() * 100 >= this.target.percent) return;
    const shadowOf = ids.join(',');
    if (this.inFlight >= this.maxInFlight || shadowOf.length > MAX_IDS_HEADER) {
      this.stats.skipped++;
      return;
    }
    this.inFlight++;
    const copy = copyHeaders(headers, shadowOf);
    // The next turn of the event loop: the client's answer is written before any of the copy's work.
    setImmediate(() => void this.send(path, copy, body));
  }

  private async send(path: string, headers: Record<string, string>, body: Buffer | string): Promise<void> {
    try {
      const response = await fetch(`${this.target.url}${path}`, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : bytesOf(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.arrayBuffer(); // read to the end, so the connection goes back to the pool
      if (response.ok) this.stats.sent++;
      else this.stats.failed++;
    } catch {
      this.stats.failed++;
    } finally {
      this.inFlight--;
    }
  }
}

/** The headers a copy keeps: its media type and API key, plus the ids of production's answer. */
function copyHeaders(headers: IncomingHttpHeaders | Headers, shadowOf: string): Record<string, string> {
  const read = (name: string) => (headers instanceof Headers ? (headers.get(name) ?? undefined) : headerText(headers[name]));
  const copy: Record<string, string> = { 'content-type': read('content-type') ?? 'application/json', [SHADOW_OF_HEADER]: shadowOf };
  for (const name of ['authorization', 'x-api-key']) {
    const value = read(name);
    if (value !== undefined) copy[name] = value;
  }
  return copy;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
