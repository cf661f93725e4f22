import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SMOKE_STEPS } from '../../scripts/lib/smoke/run-smoke.js';

/** Runs a command to its end, collecting what it printed. */
function run(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLOPS_LOG_LEVEL: 'silent' } });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// The smoke `npm run smoke` runs after a deploy, its whole plan through the same ports, against a
// local platform it starts itself (only the adapters behind the ports differ).
describe('npm run smoke -- --local', () => {
  it('passes every step against the local platform, each printed with its time', async () => {
    const result = await run(['--import', 'tsx', 'scripts/smoke.ts', '--local'], 55_000);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const steps = [...result.stdout.matchAll(/^ {2}(\d)\/6 (.+?) +([\d.]+) s {2}(.+)$/gm)].map((match) => ({
      name: match[2],
      seconds: Number(match[3]),
      detail: match[4],
    }));
    expect(steps.map((step) => step.name)).toEqual(SMOKE_STEPS.map((step) => step.name));
    expect(steps.every((step) => step.seconds >= 0 && step.seconds < 30)).toBe(true);
    expect(steps[0]!.detail).toMatch(/^gs:\/\/mlops-artifacts\/models\/smoke\/\S+-smoke-\S+\/model\.onnx/);
    expect(steps[3]!.detail).toMatch(/^http:\/\/127\.0\.0\.1:\d+ \(revision smoke-v1-/);
    expect(steps[5]!.detail).toBe('DuckDB mlops.predictions holds it');
    expect(result.stdout).toMatch(/Smoke test passed in [\d.]+ s\.\n$/);
  }, 60_000);
});
