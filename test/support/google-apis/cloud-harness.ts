import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleDirOf } from '../../../infra/plan-functions.js';
import { CloudExecutor } from '../../../scripts/lib/deploy/cloud-executor.js';
import { FakeGoogleApis } from './fake-google-apis.js';
import { type GcloudZygote, startGcloudZygote, type ZygoteWarmUp } from './gcloud-zygote/gcloud-zygote.js';

/** A deploy target on this machine: the fake APIs, the real executor pointed at them, and a project folder with bundles. */
export interface CloudHarness {
  fake: FakeGoogleApis;
  executor: CloudExecutor;
  projectDir: string;
  close(): Promise<void>;
}

/** Options of startCloudHarness. */
export interface CloudHarnessOptions {
  project: string;
  /** Functions to give a (tiny) bundle under dist/functions/, as `npm run build:functions` would. */
  functions: string[];
  /** Per gcloud command; generous, as a loaded 2-core machine runs several gcloud processes at once. */
  commandTimeoutMs?: number;
  /** What gcloud's zygote imports once, before the first command. */
  warmUp?: ZygoteWarmUp;
}

/** Starts the fake and a gcloud zygote, writes the bundles, and builds a CloudExecutor that reaches only the fake. */
export async function startCloudHarness({ project, functions, commandTimeoutMs = 180_000, warmUp }: CloudHarnessOptions): Promise<CloudHarness> {
  const projectDir = mkdtempSync(join(tmpdir(), 'mlops-cloud-tier-'));
  for (const name of functions) writeBundle(join(projectDir, bundleDirOf(name)));
  const fake = await FakeGoogleApis.start({ project });
  let zygote: GcloudZygote | undefined;
  try {
    zygote = await startGcloudZygote(warmUp);
  } catch (error) {
    await fake.close();
    throw error;
  }
  const executor = new CloudExecutor({
    project,
    cwd: projectDir,
    gcloud: zygote.command,
    gcloudEnv: { ...fake.gcloudEnv(), ...zygote.env },
    endpoints: fake.clientEndpoints(),
    accessToken: 'fake-token',
    commandTimeoutMs,
    progress: () => {},
  });
  return {
    fake,
    executor,
    projectDir,
    close: async () => {
      await zygote?.stop();
      await fake.close();
      rmSync(projectDir, { recursive: true, force: true });
    },
  };
}

function writeBundle(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bundle', private: true, main: 'index.js', scripts: { start: 'node server.js' } }));
  writeFileSync(join(dir, 'index.js'), 'module.exports = {};\n');
  writeFileSync(join(dir, 'server.js'), 'require("node:http").createServer((_, res) => res.end("ok")).listen(process.env.PORT);\n');
}
