import type { LoggedModel, LoggedModelStatus, ModelOutput, NewLoggedModel, RunModels } from '../domain/logged-model.js';

/**
 * MLflow 3's logged models and their links to runs: Firestore, beside the tracking store. A
 * mutation of an id that does not exist answers `undefined`, as `get` does, for the caller to refuse.
 */
export interface LoggedModelStore {
  /** Creates a PENDING model with a new `m-<hex>` id and its artifact location. */
  create(model: NewLoggedModel): Promise<LoggedModel>;
  get(id: string): Promise<LoggedModel | undefined>;
  /** Sets the status (READY once the files are uploaded, UPLOAD_FAILED if not) and its message. */
  finalize(id: string, status: LoggedModelStatus, message?: string): Promise<LoggedModel | undefined>;
  /** Adds params; a param already set to another value is TRACKING.PARAM_CONFLICT. */
  logParams(id: string, params: Record<string, string>): Promise<LoggedModel | undefined>;
  /** Sets tags, replacing values of the same keys. */
  setTags(id: string, tags: Record<string, string>): Promise<LoggedModel | undefined>;
  /** Removes a tag; removing one that is not set changes nothing. */
  deleteTag(id: string, key: string): Promise<LoggedModel | undefined>;
  /** The models of the given experiments, newest first. */
  search(search: { experimentIds: string[]; maxResults?: number }): Promise<LoggedModel[]>;
  /** Records models a run produced; logging the same model again keeps the latest step. */
  logOutputs(runId: string, outputs: ModelOutput[]): Promise<void>;
  /** Records models a run used. */
  logInputs(runId: string, modelIds: string[]): Promise<void>;
  /** What a run produced and used, in the order first recorded. */
  runModels(runId: string): Promise<RunModels>;
  close(): Promise<void>;
}
