// `npm run bench`: runs every benchmark (each compares against its baselines in the same run)
// and writes BENCHMARKS.md. DEPLOYFORGE_BENCH=inspect,iso,wim,registry,build picks some.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchBuild } from './build.js';
import { benchInspect } from './inspect.js';
import { benchIsoRemaster } from './iso.js';
import { benchRegistry } from './registry.js';
import { benchWim } from './wim.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// The benchmarks run the compiled library, as the CLI does.
const build = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) throw new Error('the TypeScript build failed');
const chosen = (process.env.DEPLOYFORGE_BENCH ?? 'inspect,iso,wim,registry,build').split(',');
const sections: string[] = [];
if (chosen.includes('inspect')) sections.push(await benchInspect());
if (chosen.includes('iso')) sections.push(await benchIsoRemaster());
if (chosen.includes('wim')) sections.push(await benchWim());
if (chosen.includes('registry')) sections.push(await benchRegistry());
if (chosen.includes('build')) sections.push(await benchBuild());

const text = `# Benchmarks

Measured by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}.
Every table compares DeployForge with its baselines in the same run. Times are medians unless a
row says otherwise; the page cache is warm, which favours the tools that read everything.

${sections.join('\n')}`;
await writeFile(join(root, 'BENCHMARKS.md'), text);
process.stdout.write(text);
