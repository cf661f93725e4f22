import { ENV } from '../../../shared/config/env.js';
import { SMOKE_FEATURES } from './registry-steps.js';
import { SmokeFailure, type SmokeStep, pollUntil } from './smoke-step.js';

/** What /predict answers. */
interface PredictAnswer {
  version: number;
  ids: string[];
  predictions: Record<string, unknown>[];
}

/** Calls /predict once; undefined when the endpoint is not answering yet (a cold start, a rollout). */
async function callPredict(url: string, apiKey: string | undefined): Promise<PredictAnswer | undefined> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const body = JSON.stringify({ instances: [SMOKE_FEATURES.map((_, index) => index + 1)] });
  const response = await fetch(`${url}/predict`, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
  if (response.status >= 500 || response.status === 429) throw new Error(`${url}/predict answered ${response.status}`);
  const answer = (await response.json().catch(() => ({}))) as Partial<PredictAnswer> & { error?: string };
  if (response.ok) return answer as PredictAnswer;
  const hint = response.status === 401 || response.status === 403 ? ` (set ${ENV.apiKey} to a key whose sha256 is in serving.apiKeyHashes)` : '';
  throw new SmokeFailure(`${url}/predict answered ${response.status}: ${answer.error ?? 'no reason given'}${hint}`);
}

/** Calls /predict at the serving URL with one row, with the API key when MLOPS_API_KEY is set. */
export const predict: SmokeStep = {
  name: 'predict',
  timeoutSeconds: 120,
  async run({ apiKey, state, deadline }) {
    const url = state.url!;
    const answer = await pollUntil(deadline, `${url}/predict to answer from version ${state.version}`, async () => {
      const answered = await callPredict(url, apiKey);
      return answered?.version === state.version ? answered : undefined;
    });
    state.predictionId = answer.ids[0];
    if (!state.predictionId) throw new SmokeFailure(`${url}/predict answered without a prediction id`);
    return `prediction ${state.predictionId}: ${JSON.stringify(answer.predictions[0])}`;
  },
};

/** Waits until ingest-predictions wrote that prediction's row to the warehouse (BigQuery on Google Cloud). */
export const predictionRow: SmokeStep = {
  name: 'prediction row',
  timeoutSeconds: 300,
  async run({ platform, model, state, deadline }) {
    const warehouse = await platform.warehouse();
    const sql = 'SELECT prediction_id, model, version FROM {{predictions}} WHERE prediction_id = @id';
    const [row] = await pollUntil(deadline, `ingest-predictions to write prediction ${state.predictionId}`, async () => {
      const rows = await warehouse.query<{ prediction_id: string; model: string; version: number }>(sql, { id: state.predictionId });
      return rows.length > 0 ? rows : undefined;
    });
    if (row!.model !== model || Number(row!.version) !== state.version)
      throw new SmokeFailure(`the row names ${row!.model} version ${row!.version}, not ${model} version ${state.version}`);
    return `${warehouse.dialect === 'bigquery' ? 'BigQuery' : 'DuckDB'} ${platform.config.warehouse.dataset}.predictions holds it`;
  },
};
