#!/usr/bin/env node
// `npm run demo`: builds the CLI, makes the sample Windows-like ISO and inspects it — the main
// job on bundled sample media. Output goes to .work/demo/ (ignored by git).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, '.work', 'demo');
mkdirSync(out, { recursive: true });

function run(title, command, args) {
  process.stdout.write(`\n$ ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`demo: '${title}' failed with exit code ${result.status}\n`);
    process.exit(result.status ?? 1);
  }
}

const iso = join(out, 'sample.iso');
run('npm run build', process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
run(`deployforge sample-media ${iso} --editions 3`, process.execPath, ['bin/deployforge.js', 'sample-media', iso, '--editions', '3']);
run(`deployforge inspect ${iso}`, process.execPath, ['bin/deployforge.js', 'inspect', iso]);
