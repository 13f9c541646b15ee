#!/usr/bin/env node
// `npm run demo`: the main job on bundled sample media. Builds the CLI, makes the sample
// Windows-like ISO, inspects it, shows the plan of examples/recipes/homelab.yaml, builds it (with
// progress), verifies the result against the lockfile and says where everything is. Output goes
// to .work/demo/ (ignored by git).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, '.work', 'demo');
mkdirSync(out, { recursive: true });

function run(title, command, args, env = process.env) {
  process.stdout.write(`\n$ ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    process.stderr.write(`demo: '${title}' failed with exit code ${result.status}\n`);
    process.exit(result.status ?? 1);
  }
}

const iso = join(out, 'sample.iso');
run('npm run build', process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
run(`deployforge sample-media ${iso} --editions 6`, process.execPath, ['bin/deployforge.js', 'sample-media', iso, '--editions', '6']);
run(`deployforge inspect ${iso}`, process.execPath, ['bin/deployforge.js', 'inspect', iso]);
const recipe = join(root, 'examples', 'recipes', 'homelab.yaml');
const built = join(out, 'homelab.iso');
const env = { ...process.env, DEPLOYFORGE_WORK_DIR: join(out, 'work') };
run(`deployforge plan examples/recipes/homelab.yaml --source ${iso}`, process.execPath, ['bin/deployforge.js', 'plan', recipe, '--source', iso], env);
run(
  `deployforge build examples/recipes/homelab.yaml --source ${iso} --out ${built} --out-dir ${out}`,
  process.execPath,
  ['bin/deployforge.js', 'build', recipe, '--source', iso, '--out', built, '--out-dir', out],
  env,
);
const lock = join(out, 'homelab.lock.json');
run(`deployforge verify ${built} --lock ${lock}`, process.execPath, ['bin/deployforge.js', 'verify', built, '--lock', lock]);
run(`deployforge inspect ${built}`, process.execPath, ['bin/deployforge.js', 'inspect', built]);
process.stdout.write(`\nThe customized ISO is ${built}\n(its lockfile: ${lock}; the sample source: ${iso}).\n`);
