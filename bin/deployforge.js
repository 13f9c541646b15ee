#!/usr/bin/env node
// Entry point: runs the compiled CLI from dist/ (built by `npm run build`, which `npm ci` runs
// through the prepare script); in a checkout without dist/ it falls back to the TypeScript
// sources through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
let runCli;
if (existsSync(compiled)) {
  ({ runCli } = await import(pathToFileURL(compiled).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ runCli } = await import(new URL('../src/cli/main.ts', import.meta.url).href));
}
const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
process.exitCode = code;
