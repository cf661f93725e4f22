import type { Model, ModelVersion } from '../../domain/registry.js';
import type { ModelRegistry } from '../../ports/model-registry.port.js';
import { FirestoreRestReader, type FirestoreRestReaderOptions } from './firestore-rest-reader.js';

/** Options of the REST-reading registry. */
export interface FirestoreRestModelRegistryOptions extends FirestoreRestReaderOptions {
  /** The full registry (the Firestore SDK adapter), built on first need: every write, every list, and any read REST could not answer. */
  fallback: () => Promise<ModelRegistry>;
  /** Told when a read fell back, with why. */
  onFallback?: (error: unknown) => void;
}

/**
 * The registry for a process that reads a model or a version as it starts: those reads go over the
 * REST API (the same `models/{name}` and `models/{name}/versions/{n}` documents FirestoreModelRegistry
 * writes), the rest through the SDK adapter, which then loads. A read REST cannot answer is made again
 * through the SDK, so it succeeds or fails exactly as it would have there.
 */
export class FirestoreRestModelRegistry implements ModelRegistry {
  private readonly reader: FirestoreRestReader;
  private readonly fallback: () => Promise<ModelRegistry>;
  private readonly onFallback: (error: unknown) => void;

  constructor({ fallback, onFallback = () => undefined, ...reader }: FirestoreRestModelRegistryOptions) {
    this.reader = new FirestoreRestReader(reader);
    this.fallback = fallback;
    this.onFallback = onFallback;
  }

  async getModel(name: string): Promise<Model | undefined> {
    return this.read(['models', name], (registry) => registry.getModel(name)) as Promise<Model | undefined>;
  }

  async getVersion(name: string, version: number): Promise<ModelVersion | undefined> {
    return this.read(['models', name, 'versions', String(version)], (registry) => registry.getVersion(name, version)) as Promise<ModelVersion | undefined>;
  }

  registerVersion: ModelRegistry['registerVersion'] = async (...args) => (await this.fallback()).registerVersion(...args);
  createModel: ModelRegistry['createModel'] = async (...args) => (await this.fallback()).createModel(...args);
  removeAlias: ModelRegistry['removeAlias'] = async (...args) => (await this.fallback()).removeAlias(...args);
  recordRejection: ModelRegistry['recordRejection'] = async (...args) => (await this.fallback()).recordRejection(...args);
  listModels: ModelRegistry['listModels'] = async () => (await this.fallback()).listModels();
  listVersions: ModelRegistry['listVersions'] = async (...args) => (await this.fallback()).listVersions(...args);
  listVersionsByRun: ModelRegistry['listVersionsByRun'] = async (...args) => (await this.fallback()).listVersionsByRun(...args);
  promote: ModelRegistry['promote'] = async (...args) => (await this.fallback()).promote(...args);
  rollback: ModelRegistry['rollback'] = async (...args) => (await this.fallback()).rollback(...args);
  recordServing: ModelRegistry['recordServing'] = async (...args) => (await this.fallback()).recordServing(...args);
  history: ModelRegistry['history'] = async (...args) => (await this.fallback()).history(...args);
  recordAudit: ModelRegistry['recordAudit'] = async (...args) => (await this.fallback()).recordAudit(...args);
  startRollout: ModelRegistry['startRollout'] = async (...args) => (await this.fallback()).startRollout(...args);
  getRollout: ModelRegistry['getRollout'] = async (...args) => (await this.fallback()).getRollout(...args);
  listRollouts: ModelRegistry['listRollouts'] = async (...args) => (await this.fallback()).listRollouts(...args);
  listActiveRollouts: ModelRegistry['listActiveRollouts'] = async () => (await this.fallback()).listActiveRollouts();
  updateRollout: ModelRegistry['updateRollout'] = async (...args) => (await this.fallback()).updateRollout(...args);

  private async read(path: string[], viaSdk: (registry: ModelRegistry) => Promise<unknown>): Promise<unknown> {
    try {
      return await this.reader.get(path);
    } catch (error) {
      this.onFallback(error);
      return viaSdk(await this.fallback());
    }
  }
}
