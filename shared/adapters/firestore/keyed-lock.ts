/**
 * Runs tasks one at a time per key within this process. Used in front of transactions that
 * contend on one document: they stay correct without it, but the Firestore emulator resolves
 * lock conflicts only by a 2 s timeout, so uncoordinated local writers stall for seconds.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
