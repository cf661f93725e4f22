import type { ModelRegistry } from '../../shared/ports/model-registry.port.js';
import type { ModelRunner } from '../../shared/ports/model-runner.port.js';

/** The steps of a serving revision's cold start, in the order they end. */
export const COLD_START_STEPS = ['modulesLoaded', 'registryRead', 'artifactFetched', 'sessionCreated', 'appBuilt'] as const;

/** One step of a cold start: its modules loaded, its version read, its artifact verified, its session and app built. */
export type ColdStartStep = (typeof COLD_START_STEPS)[number];

/**
 * When each step ended, in milliseconds since the process started; logged with the "serving" line, so a
 * slow start shows where it went. `runtimeLoaded` (onnxruntime imported) is not a step of its own: the
 * import starts with the registry read and runs while the read waits, so it ends within another step.
 */
export type ColdStartTimeline = Partial<Record<ColdStartStep | 'runtimeLoaded', number>>;

/** Records when each step of a cold start ends, on Node's clock (zero when the process started). */
export class ColdStartClock {
  readonly timeline: ColdStartTimeline = {};

  mark(step: keyof ColdStartTimeline): void {
    this.timeline[step] = Math.round(performance.now() * 10) / 10;
  }

  /** The registry as a cold start reads it: the read ends when the version arrives (after the alias, if any). */
  registry(registry: ModelRegistry): ModelRegistry {
    return new Proxy(registry, {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        if (key !== 'getVersion') return value.bind(target);
        return async (...args: Parameters<ModelRegistry['getVersion']>) => {
          const version = await target.getVersion(...args);
          this.mark('registryRead');
          return version;
        };
      },
    });
  }

  /**
   * A runner that loads the model with `runner` once it is ready: the caller starts loading the runner's
   * module before the registry read, so the import fills the read's wait. The artifact is fetched and
   * verified when the session build starts.
   */
  runner(runner: Promise<ModelRunner>): ModelRunner {
    runner.then(() => this.mark('runtimeLoaded')).catch(() => undefined);
    return {
      load: async (bytes) => {
        this.mark('artifactFetched');
        const loaded = await (await runner).load(bytes);
        this.mark('sessionCreated');
        return loaded;
      },
    };
  }
}
