import { PlatformError } from './errors.js';
import type { ModelSignature, TensorSpec } from './model-signature.js';

/** What a model predicts. */
export type TaskKind = 'binary' | 'multiclass' | 'regression' | 'other';

export const TASK_KINDS: readonly TaskKind[] = ['binary', 'multiclass', 'regression', 'other'];

/** The roles an output can play, as named in tags (`output.<role>=<output name>`). */
export type OutputRole = 'label' | 'probabilities' | 'score';

const ROLES: readonly OutputRole[] = ['label', 'probabilities', 'score'];

/**
 * What a model is and what each of its outputs means, read from its signature and overridden by
 * tags. Performance from ground truth, output drift and the dashboard read outputs through it, so
 * `output_label`, `label` and `variable` are understood alike.
 */
export interface ModelTask {
  kind: TaskKind;
  /** Class labels as text, in the order of the probability columns; a binary model's positive class is the second. */
  classes?: string[];
  /** The output holding the predicted class. */
  label?: string;
  /** The output holding one probability per class: [batch, classes], or keyed by class. */
  probabilities?: string;
  /** The output holding one number per instance: a regression's value, or a binary model's positive-class score. */
  score?: string;
  /** The tags that set any of the above, so `mlops models show` can say what was declared rather than inferred. */
  fromTags: string[];
}

/** Tag keys that declare the task: `task`, `classes` and `output.<role>`. */
export const TASK_TAG = 'task';
export const CLASSES_TAG = 'classes';
const ROLE_TAG_PREFIX = 'output.';

// Names converters give their outputs: skl2onnx (output_label, output_probability, variable),
// onnxmltools (label, probabilities, variable), the platform's own writer (label, probability, value).
const LABEL_NAMES = new Set(['label', 'labels', 'output_label', 'predicted_label', 'class', 'classes', 'class_label']);
const PROBABILITY_NAMES = new Set(['probabilities', 'probability', 'output_probability', 'output_probabilities', 'probs', 'proba', 'predict_proba']);
const SCORE_NAMES = new Set(['variable', 'value', 'values', 'score', 'prediction', 'predictions', 'output', 'y', 'target']);

/**
 * The task of a model with `signature` and `tags`: inferred from output names, types, shapes and
 * what the graph says of them (ZipMap class labels, a final Softmax or Sigmoid), then overridden by
 * the `task`, `classes` and `output.<role>` tags. Throws MODEL.LOAD_FAILED when a tag contradicts
 * the model, naming the tag and what the model has.
 */
export function modelTask(signature: ModelSignature, tags: Record<string, string> = {}): ModelTask {
  const declared = declaredTask(signature, tags);
  const inferred = inferTask(signature.outputs, declared);
  const task = { ...inferred, fromTags: Object.keys(tags).filter(isTaskTag).sort() };
  checkConsistent(signature, task);
  return dropUndefined(task);
}

/** True for the tag keys that declare the task. */
export function isTaskTag(key: string): boolean {
  return key === TASK_TAG || key === CLASSES_TAG || (key.startsWith(ROLE_TAG_PREFIX) && ROLES.includes(key.slice(ROLE_TAG_PREFIX.length) as OutputRole));
}

/** One line describing a task, for the CLI: `binary (classes 0, 1; label output_label, probabilities output_probability)`. */
export function describeTask(task: ModelTask): string {
  const parts = [task.classes ? `classes ${task.classes.join(', ')}` : '', ...ROLES.map((role) => (task[role] ? `${role} ${task[role]}` : ''))].filter(Boolean);
  const declared = task.fromTags.length > 0 ? ` [tags: ${task.fromTags.join(', ')}]` : '';
  return `${task.kind}${parts.length > 0 ? ` (${parts.join('; ')})` : ''}${declared}`;
}

/** The positive class of a binary task, when the model names its classes. */
export function positiveClassOf(task: ModelTask): string | undefined {
  return task.kind === 'binary' ? task.classes?.[1] : undefined;
}

type Declared = { kind?: TaskKind; classes?: string[]; roles: Partial<Record<OutputRole, string | null>> };

function declaredTask(signature: ModelSignature, tags: Record<string, string>): Declared {
  const declared: Declared = { roles: {} };
  const kind = tags[TASK_TAG]?.trim();
  if (kind !== undefined) {
    if (!TASK_KINDS.includes(kind as TaskKind)) throw badTag(`tag ${TASK_TAG}=${kind} is not a task; use one of ${TASK_KINDS.join(', ')}`);
    declared.kind = kind as TaskKind;
  }
  const classes = tags[CLASSES_TAG];
  if (classes !== undefined) declared.classes = parseClasses(classes);
  const outputs = signature.outputs.map((output) => output.name);
  for (const role of ROLES) {
    const value = tags[`${ROLE_TAG_PREFIX}${role}`]?.trim();
    if (value === undefined) continue;
    if (value === '' || value === 'none') declared.roles[role] = null;
    else if (!outputs.includes(value)) {
      throw badTag(`tag ${ROLE_TAG_PREFIX}${role}=${value} names no output of the model; its outputs are ${outputs.map((name) => `'${name}'`).join(', ')}`);
    } else declared.roles[role] = value;
  }
  return declared;
}

// `a,b,c` or a JSON array; labels are compared as text, as ground truth labels are.
function parseClasses(text: string): string[] {
  let classes: unknown = text.split(',').map((label) => label.trim());
  if (text.trim().startsWith('[')) {
    try {
      classes = JSON.parse(text);
    } catch {
      throw badTag(`tag ${CLASSES_TAG} is not a valid JSON array; write it as a,b,c or ["a","b","c"]`);
    }
  }
  if (!Array.isArray(classes) || classes.length < 2 || !classes.every((label) => typeof label === 'string' || typeof label === 'number')) {
    throw badTag(`tag ${CLASSES_TAG} must list at least two class labels, as a,b,c or ["a","b","c"]`);
  }
  const labels = classes.map(String);
  if (labels.some((label) => label === '') || new Set(labels).size !== labels.length) throw badTag(`tag ${CLASSES_TAG} lists an empty or repeated label`);
  return labels;
}

function inferTask(outputs: readonly TensorSpec[], declared: Declared): Omit<ModelTask, 'fromTags'> {
  const pick = (role: OutputRole, find: () => TensorSpec | undefined): string | undefined =>
    declared.roles[role] === null ? undefined : (declared.roles[role] ?? find()?.name);
  const floats = outputs.filter((output) => isFloat(output));
  const label = pick('label', () => outputs.find((output) => LABEL_NAMES.has(output.name.toLowerCase()) && !isFloat(output) && widthOf(output) === 1));
  const probabilities = pick('probabilities', () => {
    const wide = floats.filter((output) => widthOf(output) !== 1);
    const byShape = (kind?: TaskKind) => ((kind === 'binary' || kind === 'multiclass') && wide.length === 1 ? wide[0] : undefined);
    return (
      wide.find((output) => output.classes !== undefined || output.keyedByClass) ??
      wide.find((output) => PROBABILITY_NAMES.has(output.name.toLowerCase())) ??
      wide.find((output) => output.activation === 'softmax') ??
      byShape(declared.kind)
    );
  });
  const probabilitiesSpec = outputs.find((output) => output.name === probabilities);
  const narrow = floats.filter((output) => widthOf(output) === 1);
  const score = pick('score', () => {
    const named = narrow.find((output) => SCORE_NAMES.has(output.name.toLowerCase()) || PROBABILITY_NAMES.has(output.name.toLowerCase()));
    if (probabilities !== undefined) return undefined;
    return named ?? narrow.find((output) => output.activation === 'sigmoid') ?? (narrow.length === 1 && outputs.length <= 2 ? narrow[0] : undefined);
  });
  const scoreSpec = outputs.find((output) => output.name === score);
  const labelSpec = outputs.find((output) => output.name === label);
  const classes = declared.classes ?? probabilitiesSpec?.classes ?? labelSpec?.classes ?? columnClasses(probabilitiesSpec);
  const kind = declared.kind ?? inferKind({ label, probabilities, scoreSpec, classes });
  return {
    kind,
    classes: kind === 'binary' && classes === undefined ? ['0', '1'] : kind === 'regression' || kind === 'other' ? declared.classes : classes,
    label,
    probabilities,
    score,
  };
}

function inferKind({
  label,
  probabilities,
  scoreSpec,
  classes,
}: {
  label?: string;
  probabilities?: string;
  scoreSpec?: TensorSpec;
  classes?: string[];
}): TaskKind {
  if (classes !== undefined && (label !== undefined || probabilities !== undefined)) return classes.length === 2 ? 'binary' : 'multiclass';
  if (probabilities !== undefined) return 'multiclass';
  // A classifier's label with one score beside it (the platform's own export: label and probability) is binary.
  if (label !== undefined) return scoreSpec ? 'binary' : 'multiclass';
  if (scoreSpec?.activation === 'sigmoid') return 'binary';
  // Logits are a classifier's, but not probabilities: which classes they score only a tag can say.
  if (scoreSpec) return /logit/i.test(scoreSpec.name) ? 'other' : 'regression';
  return 'other';
}

/** Column indices as class labels when the model names none: '0', '1', … */
function columnClasses(spec: TensorSpec | undefined): string[] | undefined {
  const width = spec ? widthOf(spec) : null;
  return width !== null && width >= 2 ? Array.from({ length: width }, (_, index) => String(index)) : undefined;
}

function checkConsistent(signature: ModelSignature, task: ModelTask): void {
  const spec = (name: string | undefined) => signature.outputs.find((output) => output.name === name);
  const probabilities = spec(task.probabilities);
  if (probabilities) {
    if (!isFloat(probabilities)) throw badTag(`output '${probabilities.name}' is ${probabilities.type}, so it cannot hold probabilities`);
    const width = widthOf(probabilities);
    if (task.classes && width !== null && width !== task.classes.length) {
      throw badTag(`output '${probabilities.name}' has ${width} columns but ${task.classes.length} classes are named (${task.classes.join(', ')})`);
    }
  }
  const score = spec(task.score);
  if (score && (!isNumeric(score) || widthOf(score) !== 1)) throw badTag(`output '${score.name}' must hold one number per instance to be the score`);
  if (task.kind === 'binary' && task.classes && task.classes.length !== 2) {
    throw badTag(`a binary model has two classes, but ${task.classes.length} are named (${task.classes.join(', ')}); set task=multiclass`);
  }
}

/** Values per instance: 1 for [batch] and [batch, 1], k for [batch, k], null when a dimension is dynamic. */
function widthOf(spec: TensorSpec): number | null {
  if (spec.keyedByClass) return spec.classes?.length ?? null;
  let width = 1;
  for (const size of spec.shape.slice(1)) {
    if (size === null) return null;
    width *= size;
  }
  return width;
}

const isFloat = (spec: TensorSpec) => spec.type === 'float32' || spec.type === 'float64' || spec.type === 'float16';
const isNumeric = (spec: TensorSpec) => spec.type !== 'string' && spec.type !== 'bool';

function dropUndefined(task: ModelTask): ModelTask {
  return Object.fromEntries(Object.entries(task).filter(([, value]) => value !== undefined)) as unknown as ModelTask;
}

function badTag(reason: string): PlatformError {
  return new PlatformError('MODEL.LOAD_FAILED', `The model's task cannot be read: ${reason}. Fix the tag and upload again.`);
}
