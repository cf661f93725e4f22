import { type DeployConfig, parseDeployConfig } from '../../infra/deploy-config.js';

/** sha256 of the API key "secret": what `--api-key-hash` stores. */
export const SHA256_OF_SECRET = '2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b';

/** The deployment the plan tests look at: every component on, API keys, a fixed bucket. */
export const ACME_CONFIG: DeployConfig = parseDeployConfig({
  project: 'acme-mlops',
  region: 'europe-west1',
  bucket: 'acme-mlops-artifacts',
  serving: { apiKeyHashes: [SHA256_OF_SECRET] },
});
