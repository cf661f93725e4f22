import { spawn } from 'node:child_process';
import { ENV } from '../config/env.js';
import { signedWebhookHeaders } from '../domain/webhooks.js';
import { type Clock, systemClock } from '../ports/clock.port.js';
import type { RetrainTarget } from '../ports/retrain-target.port.js';

/** Options of the webhook target. */
export interface WebhookTargetOptions {
  url: string;
  /** Signs each POST as registry webhooks are signed (shared/domain/webhooks.ts), the request id as the delivery id. */
  secret?: string;
  post?: typeof fetch;
  timeoutMs?: number;
  clock?: Clock;
}

/** A target that POSTs the request JSON to a URL; any answer but a 2xx is a failure. */
export function webhookTarget({ url, secret, post = fetch, timeoutMs = 10_000, clock = systemClock }: WebhookTargetOptions): RetrainTarget {
  const { origin, pathname } = new URL(url);
  return {
    // The query string may hold a token: it stays out of the name the audit trail shows.
    name: `webhook:${origin}${pathname}`,
    async deliver(request) {
      const body = JSON.stringify(request);
      const headers = secret ? signedWebhookHeaders(secret, { deliveryId: request.requestId, body, now: clock.now() }) : { 'content-type': 'application/json' };
      const response = await post(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
      const answer = (await response.text().catch(() => '')).slice(0, 200);
      if (!response.ok) throw new Error(`the webhook answered ${response.status} ${answer}`.trim());
      return `answered ${response.status}`;
    },
  };
}

/** Options of the command target. */
export interface CommandTargetOptions {
  command: string;
  timeoutMs: number;
  /** Where the command's output goes, once it ended. */
  onOutput?: (output: { stdout: string; stderr: string; code: number | null }) => void;
}

const OUTPUT_LIMIT = 16_384;

/**
 * A target that runs a shell command, the request JSON on its stdin and in MLOPS_RETRAIN_REQUEST:
 * exit 0 means delivered. A command outliving its timeout is stopped (its whole process group) and failed.
 */
export function commandTarget({ command, timeoutMs, onOutput }: CommandTargetOptions): RetrainTarget {
  return {
    name: `command:${command}`,
    async deliver(request) {
      const body = JSON.stringify(request);
      const { code, stdout, stderr, timedOut } = await runCommand(command, body, { ...process.env, [ENV.retrainRequest]: body }, timeoutMs);
      onOutput?.({ stdout, stderr, code });
      if (timedOut) throw new Error(`the command did not finish within ${timeoutMs} ms and was stopped`);
      if (code !== 0) throw new Error(`the command exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      return `exited 0`;
    },
  };
}

interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runCommand(command: string, input: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout stops what the shell started too.
    const child = spawn(command, { shell: true, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const output = { stdout: '', stderr: '' };
    const keep = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      output[stream] = (output[stream] + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    child.stdout.on('data', keep('stdout'));
    child.stderr.on('data', keep('stderr'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ...output, timedOut });
    });
    // A command that does not read its stdin closes it early: that is no failure of the delivery.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
