import { Agent } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ManagedProcess } from '../../../../../shared/processes/processes.js';
import { RevisionSupervisor, type RevisionSupervisorOptions, type ServingNotice } from '../../../../../shared/adapters/local-serving/revision-supervisor.js';
import type { RevisionInstance } from '../../../../../shared/adapters/local-serving/serving-revision.js';

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** An instance whose process "exits" when the test says so. */
function fakeInstance(): RevisionInstance & { exit(how: Exit): void } {
  let exit!: (how: Exit) => void;
  const exited = new Promise<Exit>((resolve) => (exit = resolve));
  const process = { name: 'revision', child: {}, stop: async () => undefined } as unknown as ManagedProcess;
  return { port: 0, version: 1, agent: new Agent(), process, healthyAt: Date.now(), stopping: false, exited, exit };
}

describe('a supervised serving revision', () => {
  let notices: ServingNotice[];
  let started: ReturnType<typeof fakeInstance>[];
  let up: RevisionInstance[];
  let failStarts: boolean;

  const supervise = (overrides: Partial<RevisionSupervisorOptions> = {}) =>
    new RevisionSupervisor(fakeInstance(), {
      name: 'churn-v1-001',
      version: 1,
      start: async () => {
        if (failStarts) throw new Error('Revision churn-v1-001 did not become healthy: exited with exit code 1\nstack');
        const instance = fakeInstance();
        started.push(instance);
        return instance;
      },
      schedule: (restart) => void restart(),
      onDown: () => up.push(undefined as never),
      onUp: (instance) => up.push(instance),
      onNotice: (notice) => notices.push(notice),
      ...overrides,
    });
  /** Lets the exit and restart promises run, then moves the clock. */
  const advance = async (ms: number) => {
    await vi.advanceTimersByTimeAsync(ms);
  };

  beforeEach(() => {
    vi.useFakeTimers();
    notices = [];
    started = [];
    up = [];
    failStarts = false;
  });
  afterEach(() => vi.useRealTimers());

  it('restarts a killed process under the same revision, logging how it ended', async () => {
    const supervisor = supervise();
    const first = supervisor.instance as ReturnType<typeof fakeInstance>;
    first.exit({ code: null, signal: 'SIGKILL' });
    await advance(0);
    expect(started).toHaveLength(1);
    expect(supervisor.instance).toBe(started[0]);
    expect(up).toEqual([undefined, started[0]]);
    expect(notices[0]).toMatchObject({ severity: 'WARNING', revision: 'churn-v1-001', exit: { signal: 'SIGKILL' }, restartInMs: 0 });
    expect(notices[0]!.message).toContain('exited unexpectedly with signal SIGKILL');
    expect(notices[1]).toMatchObject({ severity: 'INFO', message: expect.stringContaining('serving again') });
  });

  it('restarts three fast crashes at once, then backs off 1 s, 2 s, 4 s', async () => {
    const supervisor = supervise();
    const delays: number[] = [];
    for (let crash = 1; crash <= 6; crash++) {
      (supervisor.instance as ReturnType<typeof fakeInstance>).exit({ code: 1, signal: null });
      await advance(0);
      const delay = notices.filter((notice) => notice.severity === 'WARNING').at(-1)!.restartInMs!;
      delays.push(delay);
      if (delay > 0) {
        await advance(delay - 1);
        expect(started).toHaveLength(crash - 1);
        await advance(1);
      }
      expect(started).toHaveLength(crash);
    }
    expect(delays).toEqual([0, 0, 0, 1000, 2000, 4000]);
    expect(notices.find((notice) => notice.restartInMs === 1000)!.message).toContain('4 crashes in a row');
  });

  it('counts afresh after a process that served for a while', async () => {
    const supervisor = supervise({ fastCrashMs: 30_000 });
    for (let crash = 0; crash < 4; crash++) {
      await advance(31_000);
      (supervisor.instance as ReturnType<typeof fakeInstance>).exit({ code: 1, signal: null });
      await advance(0);
    }
    expect(notices.filter((notice) => notice.severity === 'WARNING').map((notice) => notice.restartInMs)).toEqual([0, 0, 0, 0]);
  });

  it('keeps trying, with backoff, when a restart fails', async () => {
    const supervisor = supervise();
    failStarts = true;
    (supervisor.instance as ReturnType<typeof fakeInstance>).exit({ code: 1, signal: null });
    await advance(500);
    const errors = notices.filter((notice) => notice.severity === 'ERROR');
    expect(errors.map((notice) => notice.restartInMs)).toEqual([0, 0, 1000]);
    expect(errors[0]!.message).toContain('could not be restarted (Revision churn-v1-001 did not become healthy: exited with exit code 1)');
    failStarts = false;
    await advance(1000);
    expect(supervisor.instance).toBe(started[0]);
  });

  it('leaves a deliberately stopped or retired revision down', async () => {
    const stopped = supervise();
    stopped.instance!.stopping = true;
    (stopped.instance as ReturnType<typeof fakeInstance>).exit({ code: 0, signal: null });
    const retired = supervise();
    retired.retire();
    (retired.instance as ReturnType<typeof fakeInstance>).exit({ code: null, signal: 'SIGKILL' });
    await advance(60_000);
    expect(started).toEqual([]);
    expect(notices).toEqual([]);
  });
});
