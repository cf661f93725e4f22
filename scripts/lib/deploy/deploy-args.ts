import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type DeployConfig, type DeployOverrides, generateBucketName, parseDeployConfig } from '../../../infra/deploy-config.js';

/** The deployment config file, in the project root. */
export const CONFIG_FILE = 'mlops.deploy.json';

/** Flags shared by deploy, destroy and cost; each overrides mlops.deploy.json for this run. */
const OPTIONS = {
  config: { type: 'string', default: CONFIG_FILE },
  'dry-run': { type: 'boolean', default: false },
  project: { type: 'string' },
  region: { type: 'string' },
  bucket: { type: 'string' },
  enable: { type: 'string', multiple: true },
  disable: { type: 'string', multiple: true },
  'serving-memory': { type: 'string' },
  'serving-min-instances': { type: 'string' },
  'serving-max-instances': { type: 'string' },
  'serving-auth': { type: 'string' },
  'api-key-hash': { type: 'string', multiple: true },
  schedule: { type: 'string', multiple: true },
  'new-api-key': { type: 'boolean', default: false },
  'allow-public': { type: 'boolean', default: false },
  'delete-data': { type: 'boolean', default: false },
  yes: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** One-line help for each flag. */
export const FLAG_HELP = `Flags (each overrides ${CONFIG_FILE} for this run):
  --config <file>                 deployment config (default ${CONFIG_FILE})
  --dry-run                       print what would run, touch nothing
  --project <id> --region <r>     where to deploy
  --bucket <name>                 artifact bucket (generated and saved when absent)
  --enable <c,..> --disable <c,..> components: registry, serving, prediction-log, monitoring, batch-scoring, tracking
  --serving-memory <1Gi> --serving-min-instances <n> --serving-max-instances <n>
  --serving-auth <api-keys|iam>   how callers of the HTTPS functions authenticate
  --api-key-hash <sha256hex>      accept this API key (repeatable)
  --new-api-key                   make an API key, print it once, save its hash to the config
  --allow-public                  deploy HTTPS functions that anyone may call (api-keys auth with no key): refused otherwise
  --schedule <job=cron>           override a scheduler job's schedule (repeatable)
  --delete-data                   destroy only: also delete the bucket, tables and Firestore database
  --yes                           destroy only: do not ask for confirmation`;

/** Parsed command line. */
export interface DeployArgs {
  configPath: string;
  dryRun: boolean;
  newApiKey: boolean;
  allowPublic: boolean;
  deleteData: boolean;
  yes: boolean;
  help: boolean;
  overrides: DeployOverrides;
}

const listOf = (values: string[] | undefined) => values?.flatMap((value) => value.split(',').map((item) => item.trim())).filter(Boolean);

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${flag} expects a whole number, got "${value}".`);
  return Number(value);
}

/** Parses the flags of deploy, destroy and cost. */
export function parseDeployArgs(argv: string[]): DeployArgs {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  return {
    configPath: resolve(values.config),
    dryRun: values['dry-run'],
    newApiKey: values['new-api-key'],
    allowPublic: values['allow-public'],
    deleteData: values['delete-data'],
    yes: values.yes,
    help: values.help,
    overrides: {
      project: values.project,
      region: values.region,
      bucket: values.bucket,
      enable: listOf(values.enable),
      disable: listOf(values.disable),
      servingMemory: values['serving-memory'],
      servingMinInstances: integer('serving-min-instances', values['serving-min-instances']),
      servingMaxInstances: integer('serving-max-instances', values['serving-max-instances']),
      servingAuth: values['serving-auth'],
      apiKeyHashes: values['api-key-hash'],
      schedules: values.schedule,
    },
  };
}

/** What loadDeployment found or changed, for the user to read. */
export interface LoadedDeployment {
  config: DeployConfig;
  notes: string[];
}

function readJson(path: string): Record<string, unknown> {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
}

/** Reads mlops.deploy.json with the flags applied, as it is (no bucket generated): for destroy and cost. */
export function readDeployConfig(args: DeployArgs): DeployConfig {
  return parseDeployConfig(readJson(args.configPath), args.overrides);
}

/**
 * Reads mlops.deploy.json with the flags applied. With `save`, a missing bucket name is generated
 * and written back (so every later run uses the same bucket), as is the hash of a new API key.
 */
export function loadDeployment(args: DeployArgs, { save }: { save: boolean }): LoadedDeployment {
  const file = readJson(args.configPath);
  const notes: string[] = [];
  let changed = false;
  if (args.newApiKey) {
    const key = randomBytes(24).toString('base64url');
    const serving = (file.serving ?? {}) as Record<string, unknown>;
    file.serving = { ...serving, apiKeyHashes: [...((serving.apiKeyHashes as string[] | undefined) ?? []), createHash('sha256').update(key).digest('hex')] };
    notes.push(`New API key (shown once, keep it secret; its sha256 is saved in ${args.configPath}):\n  ${key}`);
    changed = true;
  }
  let config = parseDeployConfig(file, args.overrides);
  if (save && !file.project) {
    // The bucket saved below belongs to this project: keep the two together.
    file.project = config.project;
    changed = true;
  }
  if (!config.bucket) {
    const bucket = generateBucketName(config.project);
    config = { ...config, bucket };
    if (save) {
      file.bucket = bucket;
      changed = true;
      notes.push(`Generated the bucket name ${bucket} and saved it in ${args.configPath}.`);
    } else notes.push(`Generated the bucket name ${bucket} for this dry run; a deploy saves the name it uses in ${args.configPath}.`);
  }
  if (changed) writeFileSync(args.configPath, `${JSON.stringify(file, null, 2)}\n`);
  return { config, notes };
}
