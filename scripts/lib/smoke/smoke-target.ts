import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeployConfig } from '../../../infra/deploy-config.js';
import { gcpEnvironment } from '../../../infra/plan-functions.js';
import { freePort } from '../../../shared/processes/index.js';
import { parseConfig } from '../../../shared/config/config.js';
import { ENV } from '../../../shared/config/env.js';
import { createPlatform, platform, type Platform } from '../../../shared/runtime/index.js';
import { startLocalPlatform } from '../local-platform.js';

/** The platform a smoke runs against, and how to let go of it. */
export interface SmokeTarget {
  /** One line for the output: which platform, where. */
  description: string;
  platform: Platform;
  stop(): Promise<void>;
}

/** The client libraries read these themselves: a shell set up for the local platform would send the smoke to its emulators. */
const EMULATOR_VARIABLES = [ENV.pubsubEmulatorHost, ENV.firestoreEmulatorHost] as const;

/**
 * The deployed platform: the gcp profile's adapters (GCS, Firestore, Pub/Sub, BigQuery) built from
 * mlops.deploy.json, with the caller's Application Default Credentials. Clears the emulator variables.
 */
export function gcpTarget(config: DeployConfig, env: NodeJS.ProcessEnv = process.env): SmokeTarget {
  const settings = gcpEnvironment(config);
  for (const variable of EMULATOR_VARIABLES) delete env[variable];
  const deployed = createPlatform(parseConfig(settings));
  return {
    description: `project ${config.project} (${config.region}), bucket ${settings[ENV.bucket]}, BigQuery dataset ${config.bigquery.dataset}`,
    platform: deployed,
    stop: () => deployed.close(),
  };
}

/** Options of localTarget. */
export interface LocalTargetOptions {
  /** Run the deployable bundles (npm start -- --as-deployed) rather than the sources. */
  asDeployed?: boolean;
}

/**
 * A fresh local platform started in this process (free ports, a temporary data folder), so the
 * smoke's warehouse step reads the DuckDB file the functions write: only one process may open it.
 */
export async function localTarget({ asDeployed = false }: LocalTargetOptions = {}): Promise<SmokeTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlops-smoke-'));
  const ports = { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
  try {
    const local = await startLocalPlatform({ dataDir, ports, fresh: true, scheduler: false, dashboardPort: 0, asDeployed });
    return {
      description: `a local platform started here, running ${local.code}`,
      platform: platform(),
      stop: async () => {
        await local.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}
