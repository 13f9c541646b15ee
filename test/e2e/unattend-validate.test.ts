// `deployforge unattend validate`: exit codes, the one-finding-per-line text, the --json shape,
// and agreement with libxml2's xmllint about which corpus files are well-formed.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ToolError } from '../../src/errors.js';
import { generateUnattend } from '../../src/formats/unattend/generate.js';
import { writeUnattend } from '../../src/formats/unattend/write.js';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusPath, makeTempDir } from '../helpers/corpus.js';

const CORPUS = corpusPath('unattend');
const corpusFiles = existsSync(CORPUS)
  ? readdirSync(CORPUS, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort()
  : [];

const GOOD = writeUnattend(
  generateUnattend({
    architecture: 'amd64',
    languages: { uiLanguage: 'en-US' },
    disk: { mode: 'wipe-gpt' },
    acceptEula: true,
    accounts: [{ name: 'admin', password: 'P@ss' }],
    autoLogon: { username: 'admin', count: 1 },
    skipOobe: true,
  }),
);

/** The generated file with an EFI partition on a disk that also gets an extended partition, and a reserved account name. */
function broken(): Buffer {
  return Buffer.from(
    Buffer.from(GOOD)
      .toString('utf8')
      .replace('<Type>MSR</Type>', '<Type>Extended</Type>')
      .replace('<Name>admin</Name>', '<Name>Guest</Name>')
      .replace('<Username>admin</Username>', '<Username>Guest</Username>'),
    'utf8',
  );
}

async function xmllintAccepts(file: string): Promise<boolean> {
  try {
    await runTool('xmllint', ['--noout', file]);
    return true;
  } catch (error) {
    if (error instanceof ToolError) return false;
    throw error;
  }
}

describe('deployforge unattend validate', () => {
  test('a good answer file exits 0 and says so in one summary line', async () => {
    const tmp = await makeTempDir();
    try {
      const file = join(tmp.path, 'autounattend.xml');
      await writeFile(file, GOOD);
      const run = await runCliCaptured(['unattend', 'validate', file]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      assert.deepEqual(run.stdout.trim().split('\n'), [`${file}: 0 errors, 0 warnings, 0 notes`]);
    } finally {
      await tmp.cleanup();
    }
  });

  test('a broken answer file exits 3 and prints each finding as "severity xpath: message"', async () => {
    const tmp = await makeTempDir();
    try {
      const file = join(tmp.path, 'autounattend.xml');
      await writeFile(file, broken());
      const run = await runCliCaptured(['unattend', 'validate', file]);
      assert.equal(run.code, 3);
      assert.match(run.stderr, /DF_UNATTEND_INVALID/);
      const lines = run.stdout.trim().split('\n');
      assert.ok(
        lines.every((l, i) => i === lines.length - 1 || /^(error|warning|info) \/unattend\S*( \(line \d+\))?: .+ \[[a-z0-9-]+\]$/.test(l)),
        run.stdout,
      );
      assert.ok(lines.some((l) => l.startsWith("error /unattend/settings[@pass='windowsPE']/component[@name='Microsoft-Windows-Setup']/DiskConfiguration/Disk/CreatePartitions:")));
      assert.ok(lines.some((l) => l.includes('LocalAccounts/LocalAccount/Name:') && l.endsWith('[account-name-reserved]')));
      assert.match(lines.at(-1) ?? '', /: [1-9]\d* errors?, \d+ warnings?, \d+ notes?$/);
    } finally {
      await tmp.cleanup();
    }
  });

  test('--json prints the file, the verdict, counts by severity and every finding', async () => {
    const tmp = await makeTempDir();
    try {
      const file = join(tmp.path, 'unattend.xml');
      await writeFile(file, broken());
      const run = await runCliCaptured(['unattend', 'validate', file, '--json']);
      assert.equal(run.code, 3);
      const report = JSON.parse(run.stdout) as {
        file: string;
        valid: boolean;
        counts: { error: number; warning: number; info: number };
        findings: { severity: string; xpath: string; code: string; message: string }[];
      };
      assert.equal(report.file, file);
      assert.equal(report.valid, false);
      assert.deepEqual(Object.keys(report.counts).sort(), ['error', 'info', 'warning']);
      assert.equal(report.counts.error, report.findings.filter((f) => f.severity === 'error').length);
      assert.ok(report.counts.error >= 2);
      for (const f of report.findings) assert.deepEqual(Object.keys(f).sort(), ['code', 'message', 'severity', 'xpath'].sort());
      assert.ok(report.findings.some((f) => f.code === 'disk-mixed-styles'));
      assert.equal(JSON.parse(run.stderr).error.code, 'DF_UNATTEND_INVALID');

      await writeFile(file, GOOD);
      const good = JSON.parse((await runCliCaptured(['--json', 'unattend', 'validate', file])).stdout);
      assert.deepEqual(good, { file, valid: true, counts: { error: 0, warning: 0, info: 0 }, findings: [] });
    } finally {
      await tmp.cleanup();
    }
  });

  test('--target warns about components the release lacks; an unknown release is a usage error', async () => {
    const tmp = await makeTempDir();
    try {
      const file = join(tmp.path, 'unattend.xml');
      await writeFile(
        file,
        Buffer.from(GOOD)
          .toString('utf8')
          .replace(
            '</unattend>',
            '<settings pass="specialize"><component name="Microsoft-Windows-IE-ESC" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS"><IEHardenAdmin>false</IEHardenAdmin></component></settings></unattend>',
          ),
      );
      const client = await runCliCaptured(['unattend', 'validate', '--target', 'win11', file]);
      assert.equal(client.code, 0, client.stderr);
      assert.match(client.stdout, /^warning \S+component\[@name='Microsoft-Windows-IE-ESC'\]: .*\[not-in-version\]$/m);
      assert.doesNotMatch((await runCliCaptured(['unattend', 'validate', '--target', 'server2025', file])).stdout, /not-in-version/);
      assert.equal((await runCliCaptured(['unattend', 'validate', '--target', 'win95', file])).code, 2);
    } finally {
      await tmp.cleanup();
    }
  });

  test('a missing file is an input error, and a file that is not XML is one finding', async () => {
    const tmp = await makeTempDir();
    try {
      assert.equal((await runCliCaptured(['unattend', 'validate', join(tmp.path, 'nope.xml')])).code, 3);
      const file = join(tmp.path, 'garbage.xml');
      await writeFile(file, 'this is not XML');
      const run = await runCliCaptured(['unattend', 'validate', file, '--json']);
      assert.equal(run.code, 3);
      assert.deepEqual(
        JSON.parse(run.stdout).findings.map((f: { code: string }) => f.code),
        ['not-well-formed'],
      );
    } finally {
      await tmp.cleanup();
    }
  });

  test('xmllint agrees with validate about which corpus files, and which damaged copies, are well-formed', async (t) => {
    if (corpusFiles.length === 0) return void t.skip(`no corpus at ${CORPUS}`);
    const tmp = await makeTempDir();
    try {
      const cases: string[] = [...corpusFiles];
      // Damaged copies: truncated, and with an end tag renamed.
      for (const [i, file] of corpusFiles.slice(0, 3).entries()) {
        const text = await readFile(file, 'utf8');
        const cut = join(tmp.path, `cut-${i}.xml`);
        await writeFile(cut, text.slice(0, Math.floor(text.length / 2)));
        const renamed = join(tmp.path, `renamed-${i}.xml`);
        await writeFile(renamed, text.replace('</settings>', '</setting>'));
        cases.push(cut, renamed);
      }
      for (const file of cases) {
        const run = await runCliCaptured(['unattend', 'validate', file, '--json']);
        const report = JSON.parse(run.stdout) as { findings: { code: string }[] };
        const wellFormed = !report.findings.some((f) => f.code === 'not-well-formed');
        assert.equal(wellFormed, await xmllintAccepts(file), file);
        t.diagnostic(`${file}: ${wellFormed ? 'well-formed' : 'not well-formed'} (exit ${run.code})`);
      }
    } finally {
      await tmp.cleanup();
    }
  });
});
