import { PlatformError } from './errors.js';
import type { Experiment, Run, RunLifecycleStage, RunStatus } from './tracking.js';

/** What a filter or an ordering can name: a metric, a param, a tag or an attribute of the run. */
export interface FieldRef {
  entity: 'metrics' | 'params' | 'tags' | 'attributes';
  key: string;
}

/** The comparison operators of the filter language; LIKE and ILIKE (case-blind) match text against `%` and `_` patterns. */
export type ComparisonOperator = '=' | '!=' | '>' | '>=' | '<' | '<=' | 'LIKE' | 'ILIKE';

/** One condition, such as `metrics.auc > 0.8`. */
export interface Comparison {
  field: FieldRef;
  operator: ComparisonOperator;
  value: number | string;
}

/** A parsed filter: every comparison must hold (the language has `and` only, as MLflow's search). */
export type RunFilter = Comparison[];

/** One ordering key, such as `metrics.auc desc`. */
export interface RunOrder {
  field: FieldRef;
  direction: 'asc' | 'desc';
}

/** A search over runs, as callers write it. */
export interface RunSearch {
  experimentIds?: string[];
  /** e.g. `metrics.auc > 0.8 and params.lr = 0.1 and attributes.status = 'FINISHED'` */
  filter?: string;
  /** e.g. `['metrics.auc desc']`; runs lacking the value sort last either way. */
  orderBy?: string[];
  maxResults?: number;
  /** Which runs count: the active ones (the default), the deleted ones, or all. */
  runView?: RunLifecycleStage | 'all';
}

const ENTITIES: Record<string, FieldRef['entity']> = {
  metric: 'metrics',
  metrics: 'metrics',
  param: 'params',
  params: 'params',
  tag: 'tags',
  tags: 'tags',
  attribute: 'attributes',
  attributes: 'attributes',
  attr: 'attributes',
  run: 'attributes',
};
const ATTRIBUTES: Record<string, string> = {
  status: 'status',
  run_name: 'run_name',
  name: 'run_name',
  run_id: 'run_id',
  id: 'run_id',
  experiment_id: 'experiment_id',
  start_time: 'start_time',
  end_time: 'end_time',
};
const TIME_ATTRIBUTES = new Set(['start_time', 'end_time']);
const STATUSES: RunStatus[] = ['RUNNING', 'FINISHED', 'FAILED', 'KILLED'];
const OPERATORS: ComparisonOperator[] = ['!=', '>=', '<=', '=', '>', '<'];
const ORDERING = new Set<ComparisonOperator>(['>', '>=', '<', '<=']);
const PATTERN = new Set<ComparisonOperator>(['LIKE', 'ILIKE']);

type Token =
  | { kind: 'field'; text: string; position: number; entity: string; key: string }
  | { kind: 'operator'; text: ComparisonOperator; position: number }
  | { kind: 'number'; text: string; position: number; value: number }
  | { kind: 'string'; text: string; position: number; value: string }
  | { kind: 'word'; text: string; position: number };

const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*/;
const BARE_KEY = /^[A-Za-z0-9_\-./:]+/;

/** Thrown for any mistake in a filter or ordering, naming the token and where it is. */
function invalid(source: string, position: number, message: string, token?: string): PlatformError {
  return new PlatformError('TRACKING.INVALID_FILTER', `Invalid search ${JSON.stringify(source)}: ${message} (at position ${position}).`, {
    details: { token, position },
  });
}

/** Reads a quoted text starting at `at` (the opening quote); returns the text and the index after the closing quote. */
function quoted(source: string, at: number): { value: string; end: number } {
  const quote = source[at]!;
  const close = source.indexOf(quote, at + 1);
  if (close < 0) throw invalid(source, at, `unterminated ${quote === '`' ? 'backquoted name' : 'string'} starting with ${quote}`, source.slice(at));
  return { value: source.slice(at + 1, close), end: close + 1 };
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < source.length) {
    const rest = source.slice(at);
    const space = /^\s+/.exec(rest);
    if (space) {
      at += space[0].length;
      continue;
    }
    const operator = OPERATORS.find((candidate) => rest.startsWith(candidate));
    const number = NUMBER.exec(rest);
    const word = WORD.exec(rest);
    if (operator) {
      tokens.push({ kind: 'operator', text: operator, position: at });
      at += operator.length;
    } else if (rest[0] === "'" || rest[0] === '"') {
      const { value, end } = quoted(source, at);
      tokens.push({ kind: 'string', text: source.slice(at, end), position: at, value });
      at = end;
    } else if (number) {
      tokens.push({ kind: 'number', text: number[0], position: at, value: Number(number[0]) });
      at += number[0].length;
    } else if (word && rest[word[0].length] === '.') {
      const keyStart = at + word[0].length + 1;
      const { key, end } = fieldKey(source, keyStart);
      tokens.push({ kind: 'field', text: source.slice(at, end), position: at, entity: word[0], key });
      at = end;
    } else if (word) {
      tokens.push({ kind: 'word', text: word[0], position: at });
      at += word[0].length;
    } else {
      throw invalid(source, at, `unexpected character ${JSON.stringify(rest[0])}`, rest[0]);
    }
  }
  return tokens;
}

/** The key after `metrics.`: bare (`auc`, `train/loss`), backquoted (`` `my metric` ``) or quoted. */
function fieldKey(source: string, at: number): { key: string; end: number } {
  const first = source[at];
  if (first === '`' || first === '"' || first === "'") {
    const { value, end } = quoted(source, at);
    return { key: value, end };
  }
  const bare = BARE_KEY.exec(source.slice(at));
  if (!bare) throw invalid(source, at, 'expected a name after "."', source.slice(at, at + 1) || undefined);
  return { key: bare[0], end: at + bare[0].length };
}

function resolveField(source: string, token: Token | undefined): FieldRef {
  // MLflow reads a bare name (`start_time DESC`) as an attribute.
  if (token?.kind === 'word' && ATTRIBUTES[token.text.toLowerCase()]) return { entity: 'attributes', key: ATTRIBUTES[token.text.toLowerCase()]! };
  if (token?.kind !== 'field') {
    const found = token ? `found ${JSON.stringify(token.text)}` : 'found the end';
    throw invalid(
      source,
      token?.position ?? source.length,
      `expected a field such as metrics.auc, params.lr, tags.team or attributes.status, ${found}`,
      token?.text,
    );
  }
  const entity = ENTITIES[token.entity.toLowerCase()];
  if (!entity)
    throw invalid(source, token.position, `unknown field ${JSON.stringify(token.text)}: start it with metrics., params., tags. or attributes.`, token.text);
  if (entity !== 'attributes') return { entity, key: token.key };
  const attribute = ATTRIBUTES[token.key.toLowerCase()];
  if (!attribute) {
    throw invalid(
      source,
      token.position,
      `unknown attribute ${JSON.stringify(token.key)}: use status, run_name, run_id, experiment_id, start_time or end_time`,
      token.text,
    );
  }
  return { entity, key: attribute };
}

/** Refuses a value that is neither a number nor a quoted string (a keyword, an operator, the end). */
function requireLiteral(source: string, operator: Token, value: Token): asserts value is Token & { kind: 'number' | 'string' } {
  if (value.kind !== 'number' && value.kind !== 'string') {
    throw invalid(
      source,
      value.position,
      `expected a number or a quoted string after ${JSON.stringify(operator.text)}, found ${JSON.stringify(value.text)}`,
      value.text,
    );
  }
}

/** A time given as milliseconds since the epoch or an ISO date. */
function timeOf(source: string, name: string, value: Token & { kind: 'number' | 'string' }): number {
  const time = value.kind === 'number' ? value.value : Date.parse(value.value);
  if (Number.isNaN(time)) throw invalid(source, value.position, `${name} expects milliseconds since the epoch or an ISO date, got ${value.text}`, value.text);
  return time;
}
/** Checks a comparison's value against its field and returns it normalised (statuses upper-cased, times in ms). */
function checkedValue(source: string, field: FieldRef, operator: Token, value: Token): number | string {
  const name = `${field.entity}.${field.key}`;
  if (PATTERN.has(operatorOf(operator)!)) return checkedPattern(source, name, field.entity === 'metrics' || TIME_ATTRIBUTES.has(field.key), operator, value);
  requireLiteral(source, operator, value);
  if (field.entity === 'attributes' && TIME_ATTRIBUTES.has(field.key)) return timeOf(source, name, value);
  if (field.entity === 'metrics' && value.kind !== 'number')
    throw invalid(source, value.position, `${name} compares numbers, but ${value.text} is a string`, value.text);
  if (ORDERING.has(operator.text as ComparisonOperator) && value.kind === 'string') {
    throw invalid(source, value.position, `operator ${operator.text} compares numbers, but ${value.text} is a string`, value.text);
  }
  if (field.entity === 'attributes' && field.key === 'status') {
    const status = String(value.value).toUpperCase();
    if (!STATUSES.includes(status as RunStatus)) throw invalid(source, value.position, `unknown status ${value.text}: use ${STATUSES.join(', ')}`, value.text);
    return status;
  }
  return value.value;
}

/** The pattern after LIKE or ILIKE: quoted text, compared with a text field only. */
function checkedPattern(source: string, name: string, numeric: boolean, operator: Token, value: Token): string {
  if (numeric) throw invalid(source, operator.position, `${name} is a number: compare it with = != > >= < <=, not ${operator.text}`, operator.text);
  if (value.kind !== 'string')
    throw invalid(source, value.position, `operator ${operator.text} matches text, but ${value.text} is not a quoted pattern`, value.text);
  return value.value;
}

/**
 * Parses a run filter: comparisons `<field> <op> <value>` joined by `and`. Fields are
 * `metrics.<name>`, `params.<name>`, `tags.<name>` or `attributes.<status|run_name|run_id|experiment_id|start_time|end_time>`
 * (an attribute may go bare, `status = 'FINISHED'`, as in MLflow); names with spaces go in backquotes. An empty
 * filter matches every run. Throws TRACKING.INVALID_FILTER naming the bad token.
 */
export function parseRunFilter(source: string): RunFilter {
  return parseConditions(source, resolveField, checkedValue);
}

/** The operator a token names: a symbol, or the word LIKE or ILIKE in any case. */
function operatorOf(token: Token | undefined): ComparisonOperator | undefined {
  if (token?.kind === 'operator') return token.text;
  const word = token?.kind === 'word' ? token.text.toUpperCase() : undefined;
  return word === 'LIKE' || word === 'ILIKE' ? word : undefined;
}

/** The `<field> <op> <value> [and ...]` loop both filter languages share. */
function parseConditions(
  source: string,
  resolve: (source: string, token: Token | undefined) => FieldRef,
  check: (source: string, field: FieldRef, operator: Token, value: Token) => number | string,
): Comparison[] {
  const tokens = tokenize(source);
  const filter: Comparison[] = [];
  let index = 0;
  while (index < tokens.length) {
    const field = resolve(source, tokens[index]);
    const operatorToken = tokens[index + 1];
    const operator = operatorOf(operatorToken);
    if (!operatorToken || !operator) {
      const found = operatorToken ? JSON.stringify(operatorToken.text) : 'the end';
      throw invalid(
        source,
        operatorToken?.position ?? source.length,
        `expected an operator (= != > >= < <=) after ${tokens[index]!.text}, found ${found}; text also takes LIKE and ILIKE`,
        operatorToken?.text,
      );
    }
    const value = tokens[index + 2];
    if (!value) throw invalid(source, source.length, `expected a value after ${JSON.stringify(operatorToken.text)}, found the end`);
    filter.push({ field, operator, value: check(source, field, operatorToken, value) });
    index += 3;
    const joiner = tokens[index];
    if (!joiner) break;
    if (joiner.kind === 'word' && joiner.text.toLowerCase() === 'or') {
      throw invalid(source, joiner.position, '"or" is not supported: conditions combine with "and" only; run two searches instead', joiner.text);
    }
    if (joiner.kind !== 'word' || joiner.text.toLowerCase() !== 'and')
      throw invalid(source, joiner.position, `expected "and", found ${JSON.stringify(joiner.text)}`, joiner.text);
    index += 1;
    if (index >= tokens.length) throw invalid(source, source.length, 'expected a condition after "and", found the end');
  }
  return filter;
}

/** Parses one ordering key: `<field> [asc|desc]`, ascending by default. */
export function parseRunOrder(source: string): RunOrder {
  const [fieldToken, directionToken, extra] = tokenize(source);
  return { field: resolveField(source, fieldToken), direction: direction(source, directionToken, extra) };
}

function direction(source: string, token: Token | undefined, extra: Token | undefined): 'asc' | 'desc' {
  if (extra) throw invalid(source, extra.position, `unexpected ${JSON.stringify(extra.text)} after the direction`, extra.text);
  if (!token) return 'asc';
  const word = token.text.toLowerCase();
  if (token.kind !== 'word' || (word !== 'asc' && word !== 'desc'))
    throw invalid(source, token.position, `expected asc or desc, found ${JSON.stringify(token.text)}`, token.text);
  return word;
}

/** The value a field has on a run: metrics as numbers, times in ms, params and tags as stored text. */
function fieldValue(run: Run, field: FieldRef): number | string | undefined {
  if (field.entity === 'metrics') return run.metrics[field.key];
  if (field.entity === 'params') return run.params[field.key];
  if (field.entity === 'tags') return run.tags[field.key];
  const attributes: Record<string, number | string | undefined> = {
    status: run.status,
    run_name: run.name,
    run_id: run.id,
    experiment_id: run.experimentId,
    start_time: Date.parse(run.startTime),
    end_time: run.endTime === null ? undefined : Date.parse(run.endTime),
  };
  return attributes[field.key];
}

/** Text that reads as a number compares as one, so `params.lr = 0.1` matches a stored "0.10". */
function asNumber(value: number | string): number | undefined {
  if (typeof value === 'number') return value;
  const number = Number(value);
  return value.trim() !== '' && Number.isFinite(number) ? number : undefined;
}

function holds({ operator, value }: Comparison, stored: number | string | undefined): boolean {
  if (stored === undefined) return false;
  if (operator === 'LIKE' || operator === 'ILIKE') return likePattern(String(value), operator === 'ILIKE').test(String(stored));
  if (typeof value === 'string') return operator === '=' ? String(stored) === value : operator === '!=' && String(stored) !== value;
  const left = asNumber(stored);
  if (left === undefined) return operator === '!=';
  return compareNumbers(left, operator, value);
}

function compareNumbers(left: number, operator: ComparisonOperator, right: number): boolean {
  switch (operator) {
    case '=':
      return left === right;
    case '!=':
      return left !== right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    default:
      return false;
  }
}

/** SQL's LIKE as a regular expression: `%` any text, `_` one character, the rest literal. */
function likePattern(pattern: string, caseBlind: boolean): RegExp {
  const body = [...pattern].map((char) => (char === '%' ? '.*' : char === '_' ? '.' : char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, caseBlind ? 'is' : 's');
}

/** Whether a run satisfies every comparison. A run lacking the field does not match (not even `!=`). */
export function matchesRunFilter(run: Run, filter: RunFilter): boolean {
  return filter.every((comparison) => holds(comparison, fieldValue(run, comparison.field)));
}

/** Missing values sort last in both directions; numbers before text; then the direction applies. */
function compareBy(a: Run, b: Run, { field, direction }: RunOrder): number {
  const [left, right] = [fieldValue(a, field), fieldValue(b, field)].map((value) => (value === undefined ? undefined : (asNumber(value) ?? String(value))));
  if (left === undefined || right === undefined) return left === right ? 0 : left === undefined ? 1 : -1;
  if (typeof left !== typeof right) return typeof left === 'number' ? -1 : 1;
  const order = left < right ? -1 : left > right ? 1 : 0;
  return direction === 'asc' ? order : -order;
}

const NEWEST_FIRST: RunOrder[] = [{ field: { entity: 'attributes', key: 'start_time' }, direction: 'desc' }];

/**
 * Compiles a search once (so a bad filter fails before any query) into a function that filters,
 * orders (newest first when no order is given; ties by run id) and limits runs in memory.
 */
export function compileRunSearch({ filter = '', orderBy = [], maxResults = 1000, runView = 'active' }: RunSearch): (runs: Run[]) => Run[] {
  const conditions = parseRunFilter(filter);
  const orders = [...orderBy.filter((text) => text.trim() !== '').map(parseRunOrder), ...NEWEST_FIRST];
  const inView = (run: Run) => runView === 'all' || (run.lifecycleStage ?? 'active') === runView;
  return (runs) =>
    runs
      .filter((run) => inView(run) && matchesRunFilter(run, conditions))
      .sort((a, b) => orders.reduce((decided, order) => decided || compareBy(a, b, order), 0) || a.id.localeCompare(b.id))
      .slice(0, maxResults);
}

/** A search over experiments, as MLflow's experiments/search sends it. */
export interface ExperimentSearch {
  /** e.g. `name LIKE 'churn%' and tags.team = 'risk'` */
  filter?: string;
  /** e.g. `['name ASC']`; newest first when none is given. */
  orderBy?: string[];
}

const EXPERIMENT_ATTRIBUTES: Record<string, string> = {
  name: 'name',
  experiment_id: 'experiment_id',
  creation_time: 'creation_time',
  last_update_time: 'last_update_time',
};
const EXPERIMENT_TIMES = new Set(['creation_time', 'last_update_time']);

/** An experiment field: `name`, `creation_time`, `last_update_time`, `experiment_id` (bare or after `attributes.`) or `tags.<key>`. */
function resolveExperimentField(source: string, token: Token | undefined): FieldRef {
  const attribute =
    token?.kind === 'word' ? token.text : token?.kind === 'field' && ENTITIES[token.entity.toLowerCase()] === 'attributes' ? token.key : undefined;
  const key = attribute === undefined ? undefined : EXPERIMENT_ATTRIBUTES[attribute.toLowerCase()];
  if (key) return { entity: 'attributes', key };
  if (token?.kind === 'field' && ENTITIES[token.entity.toLowerCase()] === 'tags') return { entity: 'tags', key: token.key };
  const found = token ? `found ${JSON.stringify(token.text)}` : 'found the end';
  throw invalid(source, token?.position ?? source.length, `expected name, creation_time, last_update_time, experiment_id or tags.<key>, ${found}`, token?.text);
}

/** A time compares as ms or an ISO date; text compares with = != LIKE ILIKE only. */
function checkedExperimentValue(source: string, field: FieldRef, operator: Token, value: Token): number | string {
  const numeric = field.entity === 'attributes' && EXPERIMENT_TIMES.has(field.key);
  if (PATTERN.has(operatorOf(operator)!)) return checkedPattern(source, field.key, numeric, operator, value);
  requireLiteral(source, operator, value);
  if (numeric) return timeOf(source, field.key, value);
  if (value.kind !== 'string' || ORDERING.has(operator.text as ComparisonOperator)) {
    throw invalid(
      source,
      value.position,
      `${field.key} is text: compare it with = != LIKE or ILIKE and a quoted value, not ${operator.text} ${value.text}`,
      value.text,
    );
  }
  return value.value;
}

function experimentValue(experiment: Experiment, field: FieldRef): number | string | undefined {
  if (field.entity === 'tags') return experiment.tags[field.key];
  if (field.key === 'name') return experiment.name;
  if (field.key === 'experiment_id') return experiment.id;
  return Date.parse(experiment.createdAt);
}

function parseExperimentOrder(source: string): RunOrder {
  const [fieldToken, directionToken, extra] = tokenize(source);
  return { field: resolveExperimentField(source, fieldToken), direction: direction(source, directionToken, extra) };
}

const EXPERIMENTS_NEWEST_FIRST: RunOrder[] = [{ field: { entity: 'attributes', key: 'creation_time' }, direction: 'desc' }];

/**
 * Compiles an experiment search (so a bad filter fails before any read) into a function that filters
 * and orders experiments in memory: newest first when no order is given, ties by id.
 * Experiments never change once made, so last_update_time is their creation time.
 */
export function compileExperimentSearch({ filter = '', orderBy = [] }: ExperimentSearch): (experiments: Experiment[]) => Experiment[] {
  const conditions = parseConditions(filter, resolveExperimentField, checkedExperimentValue);
  const orders = [...orderBy.filter((text) => text.trim() !== '').map(parseExperimentOrder), ...EXPERIMENTS_NEWEST_FIRST];
  const compare = (a: Experiment, b: Experiment, { field, direction }: RunOrder) => {
    const [left, right] = [experimentValue(a, field), experimentValue(b, field)];
    if (left === undefined || right === undefined) return left === right ? 0 : left === undefined ? 1 : -1;
    const order = left < right ? -1 : left > right ? 1 : 0;
    return direction === 'asc' ? order : -order;
  };
  return (experiments) =>
    experiments
      .filter((experiment) => conditions.every((condition) => holds(condition, experimentValue(experiment, condition.field))))
      .sort((a, b) => orders.reduce((decided, order) => decided || compare(a, b, order), 0) || a.id.localeCompare(b.id));
}
