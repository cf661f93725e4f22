/** A demo step that did not do what it claims; the demo prints it and exits 1. */
export class DemoCheckFailed extends Error {
  override readonly name = 'DemoCheckFailed';
}

/** Throws DemoCheckFailed with `message` unless `condition` holds. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new DemoCheckFailed(message);
}

/** Polls `probe` until it returns a value other than undefined, or fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  { what, timeoutMs, intervalMs = 200 }: { what: string; timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new DemoCheckFailed(`Timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}.`);
}

/** GETs JSON, failing with the URL and status when the answer is not 2xx. */
export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new DemoCheckFailed(`GET ${url} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return (await response.json()) as T;
}

/** POSTs JSON and returns the parsed answer, failing with the status and body when it is not 2xx. */
export async function postJson<T>(url: string, body: unknown): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new DemoCheckFailed(`POST ${url} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return (await response.json()) as T;
}

/** A CLI run in this process: `mlops ...argv`, with its exit code and output. */
export type Cli = (...argv: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Runs the CLI and fails with its stderr unless it exits 0. */
export async function mlopsOk(cli: Cli, ...argv: string[]): Promise<string> {
  const result = await cli(...argv);
  check(result.code === 0, `mlops ${argv.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  return result.stdout;
}
