#!/usr/bin/env node
// Launcher for the `mlops` bin: loads the TypeScript CLI through tsx, no build step needed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
