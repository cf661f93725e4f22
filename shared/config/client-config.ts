import { option, type OptionSpec, text } from './options.js';

/** The variable holding an HTTP function's base URL for the CLI: `registry-api` → `MLOPS_REGISTRY_API_URL`. */
export function functionUrlVariable(functionName: string): string {
  return `MLOPS_${functionName.toUpperCase().replaceAll('-', '_')}_URL`;
}

/** Settings the clients read (the CLI, the SDK, `npm run smoke`), not the platform's functions. */
export const CLIENT_OPTIONS = {
  apiKey: option({
    env: 'MLOPS_API_KEY',
    expects: 'an API key',
    description: 'sent as `Authorization: Bearer` by the CLI and `npm run smoke`',
    defaults: {},
    parse: text,
  }),
  actor: option({
    env: 'MLOPS_ACTOR',
    expects: 'a name such as alice@example.com',
    description: 'who made each change, as the CLI and the SDK record it; unset, `$USER@cli` or `<user>@sdk`',
    defaults: {},
    parse: text,
  }),
  /** Documents every function's variable at once; functionUrlOption gives one function's. */
  functionUrl: option({
    env: functionUrlVariable('<function>'),
    expects: 'an http(s) URL',
    description: "base URL of an HTTP function the CLI calls, such as registry-api's; unset, the one `npm start` wrote",
    defaults: {},
    parse: text,
  }),
} as const;

/** The option of one HTTP function's URL, such as `MLOPS_REGISTRY_API_URL` for registry-api. */
export function functionUrlOption(functionName: string): OptionSpec<string> {
  return { ...CLIENT_OPTIONS.functionUrl, env: functionUrlVariable(functionName) };
}
