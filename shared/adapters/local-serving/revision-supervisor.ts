import { type RevisionInstance, describeExit, stopRevisionInstance } from './serving-revision.js';

/** A restart of a crashed revision, or a failure to restart it, for the runner's log. */
export interface ServingNotice {
  severity: 'INFO' | 'WARNING' | 'ERROR';
  message: string;
  revision: string;
  version: number;
  /** How the process ended, for a notice about an exit. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** Crashes in a row, each soon after a start. */
  fastCrashes: number;
  /** When the next restart is attempted, for a notice that announces one. */
  restartInMs?: number;
}

/** What the supervisor of one revision does, and with what. */
export interface RevisionSupervisorOptions {
  name: string;
  version: number;
  /** Starts a fresh process of the revision and resolves once it is healthy. */
  start(): Promise<RevisionInstance>;
  /** Runs a restart in turn with the model's deploys, so a restart never races a roll-out. */
  schedule(restart: () => Promise<void>): void;
  /** The revision is down: the stable URL answers 503 until `onUp`. */
  onDown(): void;
  onUp(instance: RevisionInstance): void;
  onNotice(notice: ServingNotice): void;
  /** A crash within this time of becoming healthy is a fast one. */
  fastCrashMs?: number;
  /** Fast crashes in a row that are restarted at once; after them, restarts back off. */
  crashesBeforeBackoff?: number;
  maxBackoffMs?: number;
}

/**
 * Keeps a revision running, as Cloud Run replaces a crashed instance: when its process dies
 * unexpectedly a new one starts under the same revision name. After `crashesBeforeBackoff` fast
 * crashes in a row, each restart waits twice as long as the last (1 s, 2 s, ... `maxBackoffMs`).
 */
export class RevisionSupervisor {
  /** The process now serving, if any. */
  instance: RevisionInstance | undefined;
  private fastCrashes = 0;
  private retired = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    first: RevisionInstance,
    private readonly options: RevisionSupervisorOptions,
  ) {
    this.watch(first);
  }

  /** Stops supervising (the revision was replaced or the platform stops): no restart from now on. */
  retire(): void {
    this.retired = true;
    clearTimeout(this.timer);
  }

  private watch(instance: RevisionInstance): void {
    this.instance = instance;
    void instance.exited.then((exit) => this.exited(instance, exit));
  }

  private exited(instance: RevisionInstance, exit: NonNullable<ServingNotice['exit']>): void {
    if (instance.stopping || this.retired || this.instance !== instance) return;
    this.instance = undefined;
    instance.agent.destroy();
    this.options.onDown();
    const { fastCrashMs = 30_000 } = this.options;
    this.fastCrashes = Date.now() - instance.healthyAt < fastCrashMs ? this.fastCrashes + 1 : 1;
    const delay = this.restartDelay();
    this.notify('WARNING', `exited unexpectedly with ${describeExit(exit)}; ${this.when(delay)}`, { exit, restartInMs: delay });
    this.restartIn(delay);
  }

  private async restart(): Promise<void> {
    if (this.retired) return;
    try {
      const instance = await this.options.start();
      if (this.retired) return void (await stopRevisionInstance(instance));
      this.watch(instance);
      this.options.onUp(instance);
      this.notify('INFO', 'was restarted and is serving again.');
    } catch (error) {
      this.fastCrashes++;
      const delay = this.restartDelay();
      const reason = (error as Error).message.split('\n')[0];
      this.notify('ERROR', `could not be restarted (${reason}); ${this.when(delay)}`, { restartInMs: delay });
      this.restartIn(delay);
    }
  }

  private restartIn(delayMs: number): void {
    this.timer = setTimeout(() => this.options.schedule(() => this.restart()), delayMs);
    this.timer.unref();
  }

  private restartDelay(): number {
    const { crashesBeforeBackoff = 3, maxBackoffMs = 30_000 } = this.options;
    const beyond = this.fastCrashes - crashesBeforeBackoff;
    return beyond <= 0 ? 0 : Math.min(1000 * 2 ** (beyond - 1), maxBackoffMs);
  }

  private when(delayMs: number): string {
    if (delayMs === 0) return 'restarting it.';
    return `restarting it in ${delayMs / 1000} s (${this.fastCrashes} crashes in a row soon after starting; deploy the version again to retry now).`;
  }

  private notify(severity: ServingNotice['severity'], what: string, details: Partial<ServingNotice> = {}): void {
    const { name, version, onNotice } = this.options;
    onNotice({
      severity,
      message: `Serving revision ${name} (version ${version}) ${what}`,
      revision: name,
      version,
      fastCrashes: this.fastCrashes,
      ...details,
    });
  }
}
