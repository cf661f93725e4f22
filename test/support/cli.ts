import { main } from '../../scripts/cli/main.js';

/** Runs the CLI in-process, as `npx mlops ...` would, capturing its output and exit code. */
export async function mlops(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    argv,
    (text) => (stdout += text),
    (text) => (stderr += text),
  );
  return { code, stdout, stderr };
}
