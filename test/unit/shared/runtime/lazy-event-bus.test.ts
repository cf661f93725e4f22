import { describe, expect, it } from 'vitest';
import type { EventBus } from '../../../../shared/ports/event-bus.port.js';
import { LazyEventBus } from '../../../../shared/runtime/lazy-event-bus.js';

/** A bus that records what it was asked, and a factory that counts how often it built one. */
function counted() {
  const calls: string[] = [];
  const backend: EventBus = {
    publish: async (topic, data) => {
      calls.push(`publish ${topic} ${JSON.stringify(data)}`);
      return `id-${calls.length}`;
    },
    request: async (topic) => {
      calls.push(`request ${topic}`);
      return { id: 'reply', data: null, attributes: {} };
    },
    close: async () => {
      calls.push('close');
    },
  };
  const made = { count: 0 };
  const make = async () => {
    made.count++;
    return backend;
  };
  return { calls, made, make };
}

describe('LazyEventBus', () => {
  it('builds its backend on the first publish, once, and passes every call through', async () => {
    const { calls, made, make } = counted();
    const bus = new LazyEventBus(make);
    expect(made.count).toBe(0);
    expect(await Promise.all([bus.publish('a', { n: 1 }), bus.publish('b', { n: 2 })])).toEqual(['id-1', 'id-2']);
    await bus.request('c', {}, { replyTopic: 'd', match: { correlationId: 'x' }, timeoutMs: 10 });
    expect(made.count).toBe(1);
    expect(calls).toEqual(['publish a {"n":1}', 'publish b {"n":2}', 'request c']);
  });

  it('closes without building anything when never used, and closes the backend when it was', async () => {
    const unused = counted();
    await new LazyEventBus(unused.make).close();
    expect(unused.made.count).toBe(0);

    const used = counted();
    const bus = new LazyEventBus(used.make);
    await bus.publish('a', 1);
    await bus.close();
    expect(used.calls).toEqual(['publish a 1', 'close']);
    // Used again after closing, it builds a new backend, as the platform's other adapters do.
    await bus.publish('a', 2);
    expect(used.made.count).toBe(2);
  });

  it('fails each call with the reason its backend could not be built', async () => {
    const bus = new LazyEventBus(async () => {
      throw new Error('no Pub/Sub client installed');
    });
    await expect(bus.publish('a', 1)).rejects.toThrow('no Pub/Sub client installed');
  });
});
