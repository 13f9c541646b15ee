#!/usr/bin/env node
// Makes a fresh Debian machine ready for `npm test` and `npm run demo`: installs npm packages
// when missing and the Debian tools the project and its tests use (apt-get when root; otherwise
// prints the exact command and exits 1). Idempotent and silent when everything is present.
// Dependency-free on purpose: it runs before node_modules exists.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// What we need, as [Debian package, a program on PATH or an absolute file it installs].
const DEBIAN_NEEDS = [
  ['wimtools', 'wimlib-imagex'],
  ['xorriso', 'xorriso'],
  ['7zip', '7zz'],
  ['udftools', 'udfinfo'],
  ['mtools', 'mcopy'],
  ['dosfstools', 'mkfs.fat'],
  ['qemu-system-x86', 'qemu-system-x86_64'],
  ['qemu-utils', 'qemu-img'],
  ['ovmf', '/usr/share/ovmf/OVMF.fd'],
  ['seabios', '/usr/share/seabios/bios-256k.bin'],
  ['efitools', '/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi'],
  ['libhivex-bin', 'hivexsh'],
  ['libwin-hivex-perl', 'hivexregedit'],
  ['libregf-utils', 'regfinfo'],
  ['libxml2-utils', 'xmllint'],
  ['genisoimage', 'genisoimage'],
  ['gcab', 'gcab'],
  ['cabextract', 'cabextract'],
  ['fdisk', 'sfdisk'],
  ['libvhdi-utils', 'vhdiinfo'],
  ['xz-utils', 'xz'],
  ['ntfs-3g', 'mkntfs'],
];

function onPath(program) {
  if (program.startsWith('/')) return existsSync(program);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

function say(message) {
  process.stderr.write(`bootstrap: ${message}\n`);
}

function ensureNpmPackages() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const wanted = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
  const missing = wanted.filter((name) => !existsSync(join(root, 'node_modules', name, 'package.json')));
  if (missing.length === 0) return;
  const command = existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install';
  say(`installing npm packages (${missing.length} missing): npm ${command}`);
  const result = spawnSync('npm', [command, '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    say(`npm ${command} failed (exit ${result.status}); fix the error above and run it again`);
    process.exit(1);
  }
}

function ensureDebianTools() {
  const missing = [...new Set(DEBIAN_NEEDS.filter(([, probe]) => !onPath(probe)).map(([pkg]) => pkg))];
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const line = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!isRoot) {
    say(`missing Debian packages: ${missing.join(', ')}`);
    say(`run:  sudo apt-get update && sudo ${line}`);
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch (error) {
    say(`apt-get failed (${error.status ?? error.message}); run '${line}' yourself and look at its output`);
    process.exit(1);
  }
  const still = DEBIAN_NEEDS.filter(([, probe]) => !onPath(probe)).map(([pkg]) => pkg);
  if (still.length > 0) {
    say(`apt-get ran but these are still missing: ${still.join(', ')}`);
    process.exit(1);
  }
}

ensureNpmPackages();
if (process.platform === 'linux' && onPath('apt-get')) ensureDebianTools();
else if (process.platform === 'linux') {
  const missing = DEBIAN_NEEDS.filter(([, probe]) => !onPath(probe)).map(([pkg]) => pkg);
  if (missing.length) say(`not a Debian system; tests that need ${missing.join(', ')} will be skipped`);
}
