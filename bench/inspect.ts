// Benchmarks `deployforge inspect` on a multi-GB sample ISO against, in the same run, the plain
// copy floor (reading or copying the whole file) and what a user would otherwise run (7-Zip to
// extract install.wim, then wimlib-imagex info; xorriso for the boot catalog). Returns a
// BENCHMARKS.md section. Size: DEPLOYFORGE_BENCH_SIZE_MB (default 3072).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectPath } from '../src/inspect/inspect.js';
import { makeSampleMedia } from '../src/sample/sample-media.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = join(root, '.work', 'bench');
const sizeMb = Number(process.env.DEPLOYFORGE_BENCH_SIZE_MB ?? 3072);

export function timeCommand(command: string, args: string[], runs = 3): { ms: number; ok: boolean } {
  const times: number[] = [];
  let ok = true;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    ok &&= result.status === 0;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], ok };
}

export async function timeAsync(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export async function benchInspect(): Promise<string> {
  await mkdir(work, { recursive: true });
  const iso = join(work, `sample-${sizeMb}.iso`);
  if (!existsSync(iso)) {
    process.stdout.write(`building a ${sizeMb} MiB sample ISO (once; kept in .work/bench)…\n`);
    const start = Date.now();
    await makeSampleMedia(iso, { sizeMb, editions: 5, seed: 7, workDir: work });
    process.stdout.write(`  built in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  }
  const size = (await stat(iso)).size;
  const rows: [string, number, string][] = [];
  const report = await inspectPath(iso);
  const install = report.format === 'iso' && report.iso.installImage && 'wim' in report.iso.installImage ? report.iso.installImage : undefined;
  const installText = install ? `${install.path} ${(install.size / 2 ** 20).toFixed(0)} MiB, ${install.wim.images.length} editions` : 'no install image';

  rows.push(['deployforge inspect (library call, warm)', await timeAsync(() => inspectPath(iso)), 'reads descriptors, directories and the WIM header + XML inside the ISO']);
  const cli = timeCommand(process.execPath, [join(root, 'bin', 'deployforge.js'), 'inspect', '--json', iso]);
  rows.push(['deployforge inspect (CLI process)', cli.ms, 'includes Node start-up']);
  const memory = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `const { inspectPath } = await import(${JSON.stringify(join(root, 'src/inspect/inspect.ts'))}); await inspectPath(${JSON.stringify(iso)}); console.log(process.resourceUsage().maxRSS)`,
    ],
    { encoding: 'utf8', cwd: root },
  );
  const rssMb = Number(memory.stdout.trim()) / 1024;

  rows.push(['floor: read the whole ISO (cat > /dev/null)', timeCommand('cat', [iso], 1).ms, 'what any tool that reads every byte pays, page cache warm']);
  const copy = join(work, 'copy.iso');
  rows.push(['floor: copy the ISO (cp)', timeCommand('cp', [iso, copy], 1).ms, '']);
  await rm(copy, { force: true });
  rows.push(['xorriso -report_el_torito', timeCommand('xorriso', ['-indev', iso, '-report_el_torito', 'plain']).ms, 'boot entries only']);
  rows.push(['7zz l (list the ISO)', timeCommand('7zz', ['l', iso]).ms, 'file list only, no editions']);
  const extracted = join(work, 'x');
  const extract = timeCommand('7zz', ['x', '-y', `-o${extracted}`, iso, 'sources/install.wim'], 1);
  const info = timeCommand('wimlib-imagex', ['info', join(extracted, 'sources', 'install.wim')]);
  rows.push(['7zz x install.wim + wimlib-imagex info', extract.ms + info.ms, `editions the usual way: extract (${extract.ms.toFixed(0)} ms) then read`]);
  await rm(extracted, { recursive: true, force: true });

  const table = rows.map(([name, ms, note]) => `| ${name} | ${ms.toFixed(1)} | ${note} |`).join('\n');
  return `## inspect on a ${(size / 2 ** 30).toFixed(2)} GiB sample ISO (${installText})

| what | ms | note |
|---|---:|---|
${table}

Peak memory (max RSS) of a process running one inspect: ${rssMb.toFixed(0)} MiB, whatever the ISO size:
inspect reads the volume descriptors, the directories and the install image's header and XML
through the ISO's extents, never the image data.
`;
}
