// Test support, not product code: loads corpus hives (decompressing .xz with the xz tool) and
// runs the independent oracles (hivex through its Perl binding, hivexregedit, regfexport,
// regfinfo) whose output the regf tests compare against. Nothing here parses regf itself.
import { readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runTool } from '../../util/exec.js';
import type { Hive } from './hive.js';
import { decodeValueData } from './value.js';
import { walkKeys } from './walk.js';

/** Every file below `dir`, recursively, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/** The file's bytes and a path the oracle tools can read (a decompressed copy for .xz). */
export async function loadCorpusFile(path: string, tmpDir: string): Promise<{ bytes: Uint8Array; diskPath: string }> {
  if (!path.endsWith('.xz')) {
    const b = await readFile(path);
    return { bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength), diskPath: path };
  }
  const { stdout } = await runTool('xz', ['-dc', path], { binary: true, maxBuffer: 256 * 1024 * 1024 });
  const diskPath = join(tmpDir, `${path.split('/').slice(-2).join('_')}`.replace(/\.xz$/, ''));
  await writeFile(diskPath, stdout);
  return { bytes: new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength), diskPath };
}

// One line per key ("K path") and value ("V path name type data decoded"); names, paths and
// strings as hex of their UTF-8 so no escaping question can hide a difference.
const HIVEX_DUMP = String.raw`
use strict; use warnings; use Win::Hivex; use Encode;
my $h = Win::Hivex->open($ARGV[0]);
sub hx { my $s = $_[0] // ''; $s = Encode::encode('UTF-8', $s) if utf8::is_utf8($s); return unpack('H*', $s); }
sub walk {
  my ($node, $path) = @_;
  print "K\t$path\n";
  for my $v ($h->node_values($node)) {
    my ($type, $data) = $h->value_value($v);
    my $dec = '';
    if ($type == 1 || $type == 2) { $dec = eval { hx($h->value_string($v)) } // '!'; }
    elsif ($type == 7) { $dec = eval { join(',', map { hx($_) } $h->value_multiple_strings($v)) } // '!'; }
    elsif (($type == 4 || $type == 5) && length($data) == 4) { $dec = eval { $h->value_dword($v) & 0xffffffff } // '!'; }
    elsif ($type == 11 && length($data) == 8) { $dec = eval { sprintf('%u', $h->value_qword($v)) } // '!'; }
    print "V\t$path\t", hx($h->value_key($v)), "\t$type\t", hx($data), "\t$dec\n";
  }
  for my $c ($h->node_children($node)) {
    my $n = hx($h->node_name($c));
    walk($c, $path eq '' ? $n : "$path/$n");
  }
}
walk($h->root(), '');
`;

export async function hivexDump(diskPath: string): Promise<string[]> {
  const { stdout } = await runTool('perl', ['-e', HIVEX_DUMP, diskPath], { maxBuffer: 512 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      // hivex's value_multiple_strings returns one extra "" per NUL pair after the list's
      // terminating empty string; Windows (and we) end the list there, so drop those.
      const f = line.split('\t');
      if (f[0] === 'V' && f[3] === '7') f[5] = f[5].replace(/,+$/, '');
      return f.join('\t');
    });
}

/** The first index where two dumps differ, with both lines, or undefined when equal; keeps
 *  assertion output readable for hives with 100 000 lines. */
export function firstDifference(ours: string[], theirs: string[]): { index: number; ours?: string; theirs?: string } | undefined {
  const n = Math.max(ours.length, theirs.length);
  for (let i = 0; i < n; i++) if (ours[i] !== theirs[i]) return { index: i, ours: ours[i]?.slice(0, 400), theirs: theirs[i]?.slice(0, 400) };
  return undefined;
}

const utf8hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

/** Our reading of the hive in the same line format as hivexDump. */
export function ourDump(hive: Hive): string[] {
  const lines: string[] = [];
  const pathOf = (names: string[]) => names.map(utf8hex).join('/');
  for (const key of walkKeys(hive)) {
    const names: string[] = [];
    for (let k: typeof key | undefined = key; k?.parent; k = k.parent) names.unshift(k.name);
    const path = pathOf(names);
    lines.push(`K\t${path}`);
    for (const value of key.values()) {
      const raw = value.raw;
      const data = decodeValueData(value.type, raw);
      let dec = '';
      if (typeof data === 'string') dec = utf8hex(data);
      else if (Array.isArray(data)) dec = data.map(utf8hex).join(',');
      else if (typeof data === 'number' || typeof data === 'bigint') dec = String(data);
      lines.push(`V\t${path}\t${utf8hex(value.name)}\t${value.type}\t${Buffer.from(raw).toString('hex')}\t${dec}`);
    }
  }
  return lines;
}

/** Keys and values in `hivexregedit --export` output (one "[path]" line per key). */
export async function hivexregeditCounts(diskPath: string): Promise<{ keys: number; values: number }> {
  const { stdout } = await runTool('hivexregedit', ['--export', diskPath, '\\'], { maxBuffer: 512 * 1024 * 1024 });
  let keys = 0;
  let values = 0;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('[')) keys++;
    else if (line.startsWith('"') || line.startsWith('@=')) values++;
  }
  return { keys, values };
}

/** Header facts hivex prints when opened with debugging on (hivexsh -d). */
export async function hivexHeader(
  diskPath: string,
): Promise<{ seq1: number; seq2: number; lastModified: bigint; rootOffset: number; endOfLastPage: number; checksum: number; calculated: number }> {
  const { stderr } = await runTool('hivexsh', ['-d', diskPath], { input: '', env: { ...process.env, HIVEX_DEBUG: '1' } });
  const grab = (re: RegExp) => {
    const m = re.exec(stderr);
    if (!m) throw new Error(`hivexsh -d output lacks ${re}`);
    return m;
  };
  const seq = grab(/sequence nos\s+(\d+) (\d+)/);
  const sum = grab(/checksum\s+0x([0-9a-f]+) \(calculated 0x([0-9a-f]+)\)/);
  return {
    seq1: Number(seq[1]),
    seq2: Number(seq[2]),
    lastModified: BigInt(grab(/last modified\s+(\d+)/)[1]),
    rootOffset: Number.parseInt(grab(/root offset\s+0x([0-9a-f]+) \+ 0x1000/)[1], 16),
    endOfLastPage: Number.parseInt(grab(/end of last page\s+0x([0-9a-f]+) \+ 0x1000/)[1], 16),
    checksum: Number.parseInt(sum[1], 16),
    calculated: Number.parseInt(sum[2], 16),
  };
}

/** "Version" and "File type" lines of regfinfo. */
export async function regfinfo(diskPath: string): Promise<{ version: string; fileType: string; rootName: string }> {
  const { stdout } = await runTool('regfinfo', [diskPath], { maxBuffer: 512 * 1024 * 1024 });
  return {
    version: /Version:\s*(\S+)/.exec(stdout)?.[1] ?? '',
    fileType: /File type:\s*(.+)/.exec(stdout)?.[1].trim() ?? '',
    rootName: /^\(key:\) (.*)$/m.exec(stdout)?.[1] ?? '',
  };
}

/** Per key, in export order: [key ordinal, class name] for keys regfexport shows a class for,
 *  plus the key and value totals. */
export async function regfexportFacts(diskPath: string): Promise<{ keys: number; values: number; classes: [number, string][] }> {
  const { stdout } = await runTool('regfexport', [diskPath], { maxBuffer: 512 * 1024 * 1024 });
  let keys = 0;
  let values = 0;
  const classes: [number, string][] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('Key path: ')) keys++;
    else if (line.startsWith('Value: ')) values++;
    else if (line.startsWith('Class name: ')) classes.push([keys - 1, line.slice('Class name: '.length)]);
  }
  return { keys, values, classes };
}

export function displayName(path: string): string {
  return path.split('/').slice(-2).join('/') || basename(path);
}

/** Type names as libregf's regfexport prints them, to registry type numbers. */
export const REGF_TYPES: Readonly<Record<string, number>> = {
  REG_NONE: 0,
  REG_SZ: 1,
  REG_EXPAND_SZ: 2,
  REG_BINARY: 3,
  REG_DWORD_LITTLE_ENDIAN: 4,
  REG_DWORD_BIG_ENDIAN: 5,
  REG_LINK: 6,
  REG_MULTI_SZ: 7,
  REG_RESOURCE_LIST: 8,
  REG_FULL_RESOURCE_DESCRIPTOR: 9,
  REG_RESOURCE_REQUIREMENTS_LIST: 10,
  REG_QWORD_LITTLE_ENDIAN: 11,
};
