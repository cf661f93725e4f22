import type { TensorSpec } from '../../shared/domain/model-signature.js';
import type { Model, ModelVersion } from '../../shared/domain/registry.js';
import type { EventBus } from '../../shared/ports/event-bus.port.js';
import type { ModelRegistry } from '../../shared/ports/model-registry.port.js';
import type { Row } from '../../shared/ports/warehouse.port.js';

/** A seeded generator (mulberry32), so a scenario's rows are the same on every run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The five input features of the scenario: three numeric, two categorical. */
export const FEATURES = ['age', 'plan', 'region', 'spend', 'tenure'] as const;

/** Which features a row set shifts: tenure by one standard deviation, plan towards pro. */
export interface Shift {
  tenure?: boolean;
  plan?: boolean;
}

function pick(random: () => number, choices: [string, number][]): string {
  let u = random();
  for (const [choice, share] of choices) {
    if (u < share) return choice;
    u -= share;
  }
  return choices.at(-1)![0];
}

/** One feature row: tenure ~ N(24, 6) or N(30, 6), spend lognormal, age uniform, plan and region categorical. */
export function featureRow(random: () => number, shift: Shift = {}): Record<string, number | string> {
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return {
    tenure: Math.round(((shift.tenure ? 30 : 24) + 6 * normal()) * 100) / 100,
    spend: Math.round(Math.exp(3 + 0.5 * normal()) * 100) / 100,
    age: Math.round((18 + 52 * random()) * 10) / 10,
    plan: pick(
      random,
      shift.plan
        ? [
            ['basic', 0.2],
            ['plus', 0.3],
            ['pro', 0.5],
          ]
        : [
            ['basic', 0.5],
            ['plus', 0.3],
            ['pro', 0.2],
          ],
    ),
    region: pick(random, [
      ['eu', 0.6],
      ['us', 0.4],
    ]),
  };
}

/** Prediction rows of a classifier for `count` feature rows spread evenly over [start, start + spanMs). */
export function predictionRows(
  random: () => number,
  {
    model,
    version,
    start,
    spanMs,
    count,
    shift,
    idPrefix,
  }: { model: string; version: number; start: Date; spanMs: number; count: number; shift?: Shift; idPrefix: string },
): Row[] {
  return Array.from({ length: count }, (_, index) => {
    const features = featureRow(random, shift);
    const probability = 1 / (1 + Math.exp(-((features.tenure as number) - 27) / 4));
    return {
      prediction_id: `${idPrefix}-${index}`,
      model,
      version,
      request_time: new Date(start.getTime() + Math.floor((index * spanMs) / count)).toISOString(),
      features,
      outputs: { label: probability >= 0.5 ? 1 : 0, probability: Math.round(probability * 1e6) / 1e6 },
      latency_ms: 1 + (index % 100) / 10,
      source: 'online',
    };
  });
}

/** offline_features rows of a training dataset. */
export function datasetRows(random: () => number, dataset: string, count: number): Row[] {
  return Array.from({ length: count }, (_, index) => ({
    dataset_id: dataset,
    entity_id: `e${index}`,
    event_time: '2025-12-01T00:00:00.000Z',
    features: featureRow(random),
    loaded_at: '2025-12-01T00:00:00.000Z',
  }));
}

/** The outputs of the platform's own classifier export, which predictionRows logs: the task reads label and score (binary). */
export const CLASSIFIER_OUTPUTS: TensorSpec[] = [
  { name: 'label', type: 'int64', shape: [null] },
  { name: 'probability', type: 'float32', shape: [null] },
];

/** A registry holding one model whose versions hold the given aliases, each with these signature outputs (the classifier's by default). */
export function registryWith(
  model: string,
  versions: { version: number; aliases: string[]; datasetId?: string; tags?: Record<string, string>; outputs?: TensorSpec[] }[],
): ModelRegistry {
  const record: Model = {
    name: model,
    latestVersion: Math.max(...versions.map((entry) => entry.version)),
    aliases: Object.fromEntries(versions.flatMap((entry) => entry.aliases.map((alias) => [alias, entry.version]))),
    aliasHistory: {},
    tags: {},
    description: '',
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  };
  const versionOf = (entry: (typeof versions)[number]): ModelVersion => ({
    model,
    version: entry.version,
    status: 'ready',
    artifactUri: `gs://bucket/models/${model}/${entry.version}/model.onnx`,
    generation: '1',
    sha256: '0'.repeat(64),
    sizeBytes: 1,
    signature: { inputs: [], outputs: entry.outputs ?? CLASSIFIER_OUTPUTS },
    metrics: {},
    params: {},
    tags: entry.tags ?? {},
    description: '',
    lineage: { sourceUri: 'test', datasetId: entry.datasetId },
    createdAt: '2026-01-01T00:00:00Z',
  });
  const fake: Partial<ModelRegistry> = {
    listModels: async () => [record],
    getModel: async (name) => (name === model ? record : undefined),
    getVersion: async (name, version) => {
      const entry = versions.find((candidate) => candidate.version === version);
      return name === model && entry ? versionOf(entry) : undefined;
    },
  };
  return fake as ModelRegistry;
}

/** An event bus that records what is published. */
export function recordingBus(): EventBus & { published: { topic: string; data: unknown }[] } {
  const published: { topic: string; data: unknown }[] = [];
  return {
    published,
    publish: async (topic, data) => {
      published.push({ topic, data });
      return String(published.length);
    },
    request: async (topic) => {
      throw new Error(`the recording bus takes publishes only: nothing would reply to ${topic}`);
    },
    close: async () => {},
  };
}
