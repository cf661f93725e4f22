import { spawn } from 'node:child_process';

/** What a job process measured, as the JSON line it printed. */
export type JobOutput = Record<string, number> & { flagged?: string };

/** The command line of a job script with its environment, for BENCHMARKS.md. */
export function jobCommand(script: string, env: Record<string, string>): string {
  return `${Object.entries(env)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ')} node --import tsx ${script}`;
}

/** Runs `node --import tsx <script>` with `env` added and returns the JSON line it printed. */
export async function runJob(script: string, env: Record<string, string>): Promise<JobOutput> {
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${code}: ${err.slice(-2000)}`))));
  });
  return JSON.parse(output.trim().split('\n').at(-1)!) as JobOutput;
}
