/** The platform's TypeScript SDK: experiment tracking from training code. */
export { createTracking, Tracking, type StartRunOptions, type TrackingOptions } from './tracking.js';
export { TrackedRun, type RegisterModelOptions, type RegisteredModel } from './tracked-run.js';
export type { RunArtifact, RunDetails, NamedRunSearch } from '../services/tracking.js';
export type { Experiment, MetricPoint, MetricSummary, Run, RunEndStatus, RunStatus } from '../domain/tracking.js';
export type { ModelVersion } from '../domain/registry.js';
