import { describe, expect, it } from 'vitest';
import { COMPONENTS, firestoreLocationOf, generateBucketName, parseDeployConfig } from '../../../infra/deploy-config.js';
import { defaultCpuOf, estimateMonthlyCost, runsPerDay } from '../../../infra/cost.js';
import { STACK } from '../../../infra/stack.js';

const BASE = { project: 'acme-mlops', bucket: 'acme-mlops-artifacts' };

describe('parseDeployConfig', () => {
  it('needs only a project; everything else has a default', () => {
    const config = parseDeployConfig({ project: 'acme-mlops' });
    expect(config).toMatchObject({
      region: 'us-central1',
      serving: { memory: '1Gi', minInstances: 0, maxInstances: 20, auth: 'api-keys', apiKeyHashes: [] },
      bigquery: { dataset: 'mlops', location: 'US' },
      deadLetterRetention: '7d',
    });
    expect(config.bucket).toBeUndefined();
    expect(COMPONENTS.every((component) => config.components[component])).toBe(true);
    expect(config.cost.assumptions.predictionsPerDay).toBe(100_000);
  });

  it('lets flags override the file', () => {
    const config = parseDeployConfig(
      { ...BASE, components: { tracking: false }, serving: { maxInstances: 5 } },
      {
        region: 'europe-west1',
        disable: ['monitoring'],
        enable: ['tracking'],
        servingMaxInstances: 50,
        servingAuth: 'iam',
        schedules: ['monitor-hourly=*/30 * * * *'],
      },
    );
    expect(config.region).toBe('europe-west1');
    expect(config.components).toMatchObject({ monitoring: false, tracking: true, serving: true });
    expect(config.serving).toMatchObject({ maxInstances: 50, auth: 'iam' });
    expect(config.schedules).toEqual({ 'monitor-hourly': '*/30 * * * *' });
  });

  it('names every bad field in one message', () => {
    expect(() => parseDeployConfig({ project: 'Bad_Project', serving: { memory: 'lots', minInstances: 9, maxInstances: 2 } })).toThrow(
      /project[\s\S]*serving\.memory/,
    );
    expect(() => parseDeployConfig({ ...BASE, components: { billing: true } })).toThrow(/billing/);
    expect(() => parseDeployConfig(BASE, { disable: ['billing'] })).toThrow(/Unknown component "billing"/);
    expect(() => parseDeployConfig({ ...BASE, serving: { minInstances: 9, maxInstances: 2 } })).toThrow(/minInstances must not exceed/);
  });

  it('generates a unique-looking bucket name from the project', () => {
    expect(generateBucketName('acme-mlops', () => 0)).toBe('acme-mlops-mlops-aaaaaa');
    expect(generateBucketName('acme-mlops')).toMatch(/^acme-mlops-mlops-[a-z0-9]{6}$/);
    expect(generateBucketName('acme-mlops')).not.toBe(generateBucketName('acme-mlops'));
  });

  it('puts Firestore in the multi-region around the region unless told otherwise', () => {
    expect(firestoreLocationOf(parseDeployConfig({ ...BASE, region: 'us-east1' }))).toBe('nam5');
    expect(firestoreLocationOf(parseDeployConfig({ ...BASE, region: 'europe-west4' }))).toBe('eur3');
    expect(firestoreLocationOf(parseDeployConfig({ ...BASE, region: 'asia-east1' }))).toBe('asia-east1');
    expect(firestoreLocationOf(parseDeployConfig({ ...BASE, firestore: { location: 'us-east4' } }))).toBe('us-east4');
  });
});

describe('estimateMonthlyCost', () => {
  const cost = (file: Record<string, unknown>) => estimateMonthlyCost(STACK, parseDeployConfig({ ...BASE, ...file }));
  const line = (estimate: ReturnType<typeof cost>, item: string) => estimate.lines.find((candidate) => candidate.price.item === item);

  it('grows serving compute in proportion to traffic', () => {
    const light = line(cost({ cost: { assumptions: { predictionsPerDay: 100_000 } } }), 'CPU while handling requests')!;
    const heavy = line(cost({ cost: { assumptions: { predictionsPerDay: 1_000_000 } } }), 'CPU while handling requests')!;
    expect(heavy.quantity).toBeGreaterThan(light.quantity * 8);
    expect(heavy.billedUsd).toBeGreaterThan(light.billedUsd);
  });

  it('charges idle minimum instances for the base service and each served model', () => {
    expect(line(cost({}), 'idle min-instance CPU')).toBeUndefined();
    const idle = line(cost({ serving: { minInstances: 1 }, cost: { assumptions: { servedModels: 2 } } }), 'idle min-instance CPU')!;
    expect(idle.quantity).toBe(3 * 30 * 86_400);
  });

  it('uses the configured prices and applies the free tier', () => {
    const listed = cost({});
    const doubled = cost({ cost: { prices: { runVcpuSecond: 0.000048 } } });
    expect(line(doubled, 'CPU while handling requests')!.listUsd).toBeCloseTo(line(listed, 'CPU while handling requests')!.listUsd * 2);
    for (const item of listed.lines) expect(item.billedUsd).toBeLessThanOrEqual(item.listUsd);
    expect(listed.pricesAsOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('drops the lines of switched-off components', () => {
    const estimate = cost({ components: { monitoring: false, 'prediction-log': false } });
    // Serving's own job (the rollout analysis) stays; switching serving off too leaves none.
    expect(line(estimate, 'jobs')?.quantity).toBe(1);
    expect(line(cost({ components: { monitoring: false, 'prediction-log': false, serving: false } }), 'jobs')).toBeUndefined();
    expect(line(estimate, 'streaming inserts (1 KB minimum per row)')).toBeUndefined();
  });

  it('counts cron runs and default vCPU like Cloud Scheduler and Cloud Functions do', () => {
    expect(runsPerDay('0 * * * *')).toBe(24);
    expect(runsPerDay('*/15 * * * *')).toBe(96);
    expect(runsPerDay('0 3 * * 1')).toBeCloseTo(1 / 7);
    expect(defaultCpuOf('256Mi')).toBe(0.167);
    expect(defaultCpuOf('2Gi')).toBe(1);
  });
});
