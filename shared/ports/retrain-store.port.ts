import type { EpisodeStep, RetrainEpisode, RunVerdict } from '../domain/retrain.js';

/** Where one retrain request stands with one target (a webhook, a Cloud Run job, a command). */
export interface RetrainDelivery {
  requestId: string;
  target: string;
  status: 'delivered' | 'failed';
  attempts: number;
  lastError?: string;
  updatedAt: string;
}

/**
 * The state retraining keeps: each model's episode (`retrain_episodes/{model}`), and per request its
 * window export and each target's delivery, so a redelivered request reaches each target once.
 */
export interface RetrainStore {
  /** Applies a run's verdict to the model's episode by the episode rule, in a transaction, so racing or redelivered runs agree on one step. */
  stepEpisode(verdict: RunVerdict): Promise<EpisodeStep>;
  /** Marks the episode's request as published (a later step then publishes it no more). */
  markPublished(model: string, requestId: string): Promise<void>;
  getEpisode(model: string): Promise<RetrainEpisode | undefined>;
  getDelivery(requestId: string, target: string): Promise<RetrainDelivery | undefined>;
  /** Records a delivery attempt: counts it, and keeps `delivered` once reached. */
  recordDelivery(requestId: string, target: string, outcome: { delivered: boolean; error?: string; at: string }): Promise<RetrainDelivery>;
  /** The gs:// URI of the request's window export, once written. */
  getWindowExport(requestId: string): Promise<string | undefined>;
  recordWindowExport(requestId: string, uri: string): Promise<void>;
}
