import { execFile } from 'node:child_process';

/** How a check came out: `unchecked` when it could not run (offline, no account), with why in the detail. */
export type CheckStatus = 'ok' | 'missing' | 'warning' | 'unchecked';

/** One line of `mlops doctor`: what was checked, what was found, and the command that fixes it. */
export interface CheckResult {
  group: 'local' | 'deploy';
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
  /** A required check that is not ok makes doctor exit 1. */
  required: boolean;
}

/** What running a tool gave: its output, or that it is not installed or did not answer in time. */
export interface ToolOutput {
  ok: boolean;
  stdout: string;
  stderr: string;
  notInstalled: boolean;
  timedOut: boolean;
}

/** Runs a tool with a deadline; never throws, so one check cannot stop the others. */
export function runTool(command: string, args: string[], { env, timeoutMs }: { env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<ToolOutput> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      resolve({ ok: !error, stdout, stderr, notInstalled: code === 'ENOENT', timedOut: Boolean(error && (error as { killed?: boolean }).killed) });
    });
  });
}

/** The first meaningful line of a tool's error output, for "could not check: <why>". */
export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.replace(/^ERROR:\s*/, '').trim())
      .find(Boolean) ?? 'no output'
  );
}
