// Runs the CLI from the TypeScript sources in a child process (tests that must kill a real
// process): node --import tsx test/helpers/run-cli-src.ts ARGS…
import { runCli } from '../../src/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
