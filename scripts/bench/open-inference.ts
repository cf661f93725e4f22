import { MODELS } from './context.js';
import { inferBody } from './models.js';
import { type Section, percent } from './report.js';
import { ENTRIES } from './serving-entries.js';
import { type RouteMeasurement, bareDrift, measureRoute, oneRow, routeCommands, routeTable } from './serving-route.js';

/** The Open Inference Protocol route under the same load as /predict, on both entries. */
export const openInferenceSection: Section = {
  id: 'oip',
  title: `Serving: Open Inference Protocol POST /v2/models/<name>/infer with prediction logging on`,
  async run(context) {
    const measurement = await measureRoute(context, { id: 'infer', path: `/v2/models/${MODELS.small.name}/infer`, body: inferBody });
    const predict = await context.recall<RouteMeasurement>('route:predict')?.catch(() => undefined);
    return {
      title: this.title,
      body: [
        routeTable(measurement),
        '',
        bareDrift(measurement),
        '',
        comparison(measurement, predict),
        '',
        routeCommands([...measurement.results, ...measurement.bare]),
      ].join('\n'),
      targets: [],
    };
  },
};

function comparison(infer: RouteMeasurement, predict: RouteMeasurement | undefined): string {
  if (!predict) return 'Run together with `serving` (`--only serving,oip`) to compare with /predict.';
  const lines = (['node-server', 'functions-framework'] as const).map((entry) => {
    const oip = oneRow(infer, entry);
    const plain = oneRow(predict, entry);
    return oip && plain ? `${ENTRIES[entry].label} ${percent(oip.requestsPerSecond / plain.requestsPerSecond)}` : undefined;
  });
  return `One row through /infer against /predict in the same run: ${lines.filter(Boolean).join('; ')} of the /predict req/s. Both routes run the same model and prediction log; the codec differs (tensors instead of rows), and so may each route's path through the server.`;
}
