/** One answer (or failure) of a load loop: the status (0 when the request failed) and the version that answered. */
export interface LoadOutcome {
  status: number;
  version?: number;
  error?: string;
}

/** Sends one-row predictions to `url`/predict from `workers` loops until stopped, recording every outcome in order. */
export function constantLoad(url: string, workers: number) {
  const outcomes: LoadOutcome[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[[1,2,3,4]]}' });
        outcomes.push({ status: response.status, version: ((await response.json()) as { version?: number }).version });
      } catch (error) {
        outcomes.push({ status: 0, error: String((error as Error).cause ?? error) });
      }
    }
  });
  return {
    outcomes,
    /** How many answers the given version gave. */
    answered: (version: number) => outcomes.filter((outcome) => outcome.version === version).length,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
