import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A child process started in its own process group, so stopping it stops its children too. */
export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Stops the whole group: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** How startProcess runs a command. */
export interface StartProcessOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logTail?: string[];
  onLine?: (line: string) => void;
  /** Opens an IPC channel to a Node.js child (`child.send`, `process.on('message')`), e.g. to hand it connections. */
  ipc?: boolean;
}

/** Spawns a command in a new process group, collecting its output for error messages. */
export function startProcess(name: string, command: string, args: string[], options: StartProcessOptions = {}): ManagedProcess {
  const stdio: StdioOptions = options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'];
  const child = spawn(command, args, { detached: true, stdio, env: options.env ?? process.env, cwd: options.cwd });
  const tail = options.logTail ?? [];
  const keep = (chunk: Buffer) => {
    const lines = chunk.toString().split('\n').filter(Boolean);
    tail.push(...lines);
    tail.splice(0, Math.max(0, tail.length - 40));
    if (options.onLine) for (const line of lines) options.onLine(line);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    child,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // The group may outlive its leader (a shell script's java child): make sure it is gone.
      signalGroup(child, 'SIGKILL');
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls an HTTP URL until it answers 2xx, the process dies, or the timeout passes. */
export async function waitForHttp(url: string, { timeoutMs = 30_000, process: managed }: { timeoutMs?: number; process?: ManagedProcess } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (managed && managed.child.exitCode !== null) throw new Error(`${managed.name} exited with code ${managed.child.exitCode} before it was ready`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** Fails with a message naming the port and what wanted it when something already listens there. */
export async function requireFreePort(port: number, what: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', () =>
      reject(new Error(`Port ${port} (${what}) is already in use: is another "npm start" running? Stop it, or choose another port (see npm start -- --help).`)),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}
