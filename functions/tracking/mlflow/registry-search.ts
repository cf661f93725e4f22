import type { Model, ModelVersion } from '../../../shared/domain/registry.js';
import { MlflowError } from './protocol.js';

/** One condition of a registry search filter: `name = 'churn'`, `tags.team LIKE 'ri%'`, `run_id IN ('a', 'b')`. */
export interface RegistryCondition {
  /** `name`, `run_id`, `source_path`, or `tags.<key>`. */
  field: string;
  operator: '=' | '!=' | 'LIKE' | 'ILIKE' | 'IN';
  values: string[];
}

const TERM = /^\s*(name|run_id|source_path|tags?\.(?:`[^`]+`|[\w.-]+))\s*(!=|=|ILIKE\b|LIKE\b|IN\b)\s*('(?:[^']|'')*'|"[^"]*"|\([^)]*\))\s*/i;
const STRING = /'((?:[^']|'')*)'|"([^"]*)"/g;
const SUPPORTED = `name = 'churn', name LIKE 'ch%', tags.<key> = 'value' (and, for model versions, run_id = '<id>' or run_id IN ('<id>', ...)), joined with AND`;

/**
 * Parses the filter of registered-models/search or model-versions/search (MLflow's syntax:
 * conditions on the given fields joined with AND). Anything else is INVALID_PARAMETER_VALUE saying what is supported.
 */
export function parseRegistryFilter(filter: string | undefined, fields: readonly string[]): RegistryCondition[] {
  const conditions: RegistryCondition[] = [];
  let rest = filter?.trim() ?? '';
  while (rest !== '') {
    const term = TERM.exec(rest);
    if (!term) throw badFilter(filter!, `cannot read ${JSON.stringify(rest)}`);
    const condition = conditionOf(term[1]!, term[2]!.toUpperCase() as RegistryCondition['operator'], term[3]!);
    const base = condition.field.startsWith('tags.') ? 'tags' : condition.field;
    if (!fields.includes(base)) throw badFilter(filter!, `${condition.field} cannot be filtered on here`);
    if (condition.operator === 'IN' && condition.field !== 'run_id') throw badFilter(filter!, 'only run_id takes IN');
    conditions.push(condition);
    rest = rest.slice(term[0].length);
    const and = /^AND\s+/i.exec(rest);
    if (and) rest = rest.slice(and[0].length);
    else if (rest !== '') throw badFilter(filter!, `expected AND before ${JSON.stringify(rest)}`);
  }
  return conditions;
}

/** Whether an entity with the given field values meets every condition. */
export function meetsFilter(conditions: RegistryCondition[], fieldValue: (field: string) => string | undefined): boolean {
  return conditions.every(({ field, operator, values }) => {
    const value = fieldValue(field);
    if (value === undefined) return operator === '!=';
    if (operator === '=') return value === values[0];
    if (operator === '!=') return value !== values[0];
    if (operator === 'IN') return values.includes(value);
    return likePattern(values[0]!, operator === 'ILIKE').test(value);
  });
}

function conditionOf(rawField: string, operator: RegistryCondition['operator'], rawValue: string): RegistryCondition {
  const field = rawField.replace(/^tags?\./i, 'tags.').replace(/`/g, '');
  const values = [...rawValue.matchAll(STRING)].map((match) => (match[1] !== undefined ? match[1].replace(/''/g, "'") : match[2]!));
  return { field: field.startsWith('tags.') ? field : field.toLowerCase(), operator, values };
}

/** SQL LIKE as MLflow's stores apply it: `%` any run of characters, `_` one character. */
function likePattern(pattern: string, ignoreCase: boolean): RegExp {
  const source = [...pattern].map((char) => (char === '%' ? '.*' : char === '_' ? '.' : char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
}

function badFilter(filter: string, reason: string): MlflowError {
  return new MlflowError('INVALID_PARAMETER_VALUE', `Invalid filter ${JSON.stringify(filter)}: ${reason}. Supported: ${SUPPORTED}.`);
}

type Column<T> = (item: T) => string | number;
const MODEL_COLUMNS: Record<string, Column<Model>> = {
  name: (model) => model.name,
  creation_timestamp: (model) => Date.parse(model.createdAt),
  last_updated_timestamp: (model) => Date.parse(model.updatedAt),
};
const VERSION_COLUMNS: Record<string, Column<ModelVersion>> = {
  name: (version) => version.model,
  version_number: (version) => version.version,
  creation_timestamp: (version) => Date.parse(version.createdAt),
  last_updated_timestamp: (version) => Date.parse(version.createdAt),
};

/** Models in the order asked, ties by name (MLflow's tiebreak). */
export function sortModels(models: Model[], orderBy: string[] = []): Model[] {
  return sortBy(models, [...orderBy, 'name ASC'], MODEL_COLUMNS);
}

/** Versions in the order asked, ties by name then newest version first (MLflow's tiebreak). */
export function sortVersions(versions: ModelVersion[], orderBy: string[] = []): ModelVersion[] {
  return sortBy(versions, [...orderBy, 'name ASC', 'version_number DESC'], VERSION_COLUMNS);
}

function sortBy<T>(items: T[], orderBy: string[], columns: Record<string, Column<T>>): T[] {
  const keys = orderBy.map((clause) => {
    const [column = '', direction = 'ASC', ...rest] = clause.trim().split(/\s+/);
    const value = columns[column];
    if (!value || rest.length > 0 || !/^(ASC|DESC)$/i.test(direction)) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `Invalid order_by ${JSON.stringify(clause)}: use one of ${Object.keys(columns).join(', ')}, optionally followed by ASC or DESC.`,
      );
    }
    return { value, sign: direction.toUpperCase() === 'DESC' ? -1 : 1 };
  });
  return [...items].sort((a, b) => {
    for (const { value, sign } of keys) {
      const [x, y] = [value(a), value(b)];
      if (x !== y) return (x < y ? -1 : 1) * sign;
    }
    return 0;
  });
}
