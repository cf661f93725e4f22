import { PlatformError } from './errors.js';
import type { LoggedModel } from './logged-model.js';

/** One condition of a logged model search, such as `tags.team = 'risk'`. */
export interface LoggedModelCondition {
  field: { entity: 'attributes' | 'tags' | 'params'; key: string };
  operator: '=' | '!=';
  value: string;
}

/** The attributes a logged model filter can name, with how each is read from a model. */
const ATTRIBUTES: Record<string, (model: LoggedModel) => string | undefined> = {
  name: (model) => model.name,
  model_id: (model) => model.id,
  model_type: (model) => model.modelType,
  status: (model) => model.status,
  source_run_id: (model) => model.sourceRunId,
};

// `<field> <op> '<value>'`, then `and` or the end. A key may be quoted with backticks or double quotes.
const CONDITION =
  /\s*(?:(tags|params)\.(?:`([^`]+)`|"([^"]+)"|([A-Za-z0-9_\-./:]+))|(?:attributes\.)?([A-Za-z_]+))\s*(!=|=)\s*(?:'([^']*)'|"([^"]*)")\s*(?:and\s+|$)/iy;

/**
 * Parses the subset of MLflow's logged model filter this server answers: `=` and `!=` on
 * name, model_id, model_type, status, source_run_id, `tags.<key>` and `params.<key>`, joined by AND.
 * Anything else is TRACKING.INVALID_FILTER saying what is supported.
 */
export function parseLoggedModelFilter(source: string): LoggedModelCondition[] {
  const conditions: LoggedModelCondition[] = [];
  CONDITION.lastIndex = 0;
  while (CONDITION.lastIndex < source.length && source.slice(CONDITION.lastIndex).trim() !== '') {
    const at = CONDITION.lastIndex;
    const match = CONDITION.exec(source);
    if (!match) throw invalid(source, `cannot read it from position ${at}`);
    const [, entity, backticked, doubleQuoted, bare, attribute, operator, single, double] = match;
    if (attribute !== undefined && !(attribute.toLowerCase() in ATTRIBUTES)) throw invalid(source, `"${attribute}" is not a field`);
    conditions.push({
      field: entity
        ? { entity: entity.toLowerCase() as 'tags' | 'params', key: (backticked ?? doubleQuoted ?? bare)! }
        : { entity: 'attributes', key: attribute!.toLowerCase() },
      operator: operator as '=' | '!=',
      value: (single ?? double)!,
    });
  }
  return conditions;
}

/** Whether a logged model meets every condition; a missing tag or param equals nothing. */
export function matchesLoggedModelFilter(model: LoggedModel, conditions: LoggedModelCondition[]): boolean {
  return conditions.every(({ field, operator, value }) => {
    const stored = field.entity === 'attributes' ? ATTRIBUTES[field.key]!(model) : model[field.entity][field.key];
    return operator === '=' ? stored === value : stored !== value;
  });
}

function invalid(source: string, reason: string): PlatformError {
  return new PlatformError(
    'TRACKING.INVALID_FILTER',
    `Logged model filter ${JSON.stringify(source)} is not supported: ${reason}. Use conditions such as name = 'model' or tags.team != 'risk' ` +
      `(= or != on ${Object.keys(ATTRIBUTES).join(', ')}, tags.<key>, params.<key>) joined by AND.`,
  );
}
