import { spawn } from 'node:child_process';

/** How gcloud took one command when it has no credentials. */
export interface ParseVerdict {
  argv: string[];
  /** `parsed`: it got as far as asking for an account; `argument-error`: gcloud refused the command line. */
  outcome: 'parsed' | 'argument-error' | 'unexpected';
  exitCode: number | null;
  /** gcloud's first ERROR line (or the end of its output). */
  message: string;
}

/** Options of checkParsing. */
export interface ParseCheckOptions {
  /** What runs `gcloud` (default: the gcloud on PATH). */
  gcloud?: string[];
  /** The environment: an empty CLOUDSDK_CONFIG, no account, prompts and probes off. */
  env: Record<string, string>;
  cwd: string;
  /** Commands run at once; each is a CPU-heavy Python process. */
  parallelism?: number;
  timeoutMs?: number;
}

const NO_ACCOUNT = 'You do not currently have an active account selected';
const ARGUMENT_ERROR =
  /unrecognized arguments|argument [-A-Z_a-z]+:|Invalid value for \[|Invalid choice|expected one argument|must be specified|Failed to parse/;

/** Classifies gcloud's answer: the missing-account error means every argument parsed. */
export function verdictOf(argv: string[], exitCode: number | null, stderr: string): ParseVerdict {
  const message = (stderr.split('\n').find((line) => line.startsWith('ERROR:')) ?? stderr.trim().slice(-500)).trim();
  if (exitCode === 1 && stderr.includes(NO_ACCOUNT)) return { argv, outcome: 'parsed', exitCode, message };
  const refused = exitCode === 2 || ARGUMENT_ERROR.test(message);
  return { argv, outcome: refused ? 'argument-error' : 'unexpected', exitCode, message };
}

/** Runs each command through gcloud without credentials, a few at a time, and says how gcloud took it. */
export async function checkParsing(
  commands: string[][],
  { gcloud = ['gcloud'], env, cwd, parallelism = 2, timeoutMs = 90_000 }: ParseCheckOptions,
): Promise<ParseVerdict[]> {
  const verdicts: ParseVerdict[] = new Array(commands.length);
  let next = 0;
  const worker = async () => {
    while (next < commands.length) {
      const index = next++;
      verdicts[index] = await runOne(commands[index]!, { gcloud, env, cwd, timeoutMs });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, commands.length) }, worker));
  return verdicts;
}

function runOne(argv: string[], { gcloud, env, cwd, timeoutMs }: Required<Omit<ParseCheckOptions, 'parallelism'>>): Promise<ParseVerdict> {
  const [program, ...args] = argv[0] === 'gcloud' ? [...gcloud, ...argv.slice(1)] : argv;
  return new Promise((resolve) => {
    const child = spawn(program!, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', (error) => resolve({ argv, outcome: 'unexpected', exitCode: null, message: error.message }));
    child.on('close', (code, signal) =>
      resolve(signal ? { argv, outcome: 'unexpected', exitCode: null, message: `killed by ${signal}` } : verdictOf(argv, code, stderr)),
    );
  });
}
