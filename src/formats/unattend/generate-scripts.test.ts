import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { InputError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import { type GenerateUnattendOptions, generateUnattend, type UnattendScript, type UnattendScripts } from './generate.js';
import { MAX_RUN_SYNCHRONOUS_PATH } from './generate-disk.js';
import { EXTENSIONS_NAMESPACE } from './generate-scripts.js';
import { findComponent, textOf, type UnattendComponent, type UnattendDocument, type UnattendElement } from './model.js';
import { parseUnattend } from './parse.js';
import { writeUnattend } from './write.js';

const SCRIPTS: UnattendScripts = {
  system: [
    { name: 'tweaks.ps1', language: 'ps1', content: "Set-ItemProperty -Path 'HKLM:\\SOFTWARE\\X' -Name A -Value 1\r\nWrite-Output 'ünïcödé'\r\n" },
    { name: 'cleanup.cmd', language: 'cmd', content: '@echo off\r\nif exist C:\\x (del C:\\x) & echo <ok> ]]> done\r\n' },
  ],
  defaultUser: [{ name: 'user.reg', language: 'reg', content: 'Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\DefaultUser\\Software\\Policies\\X]\n"A"=dword:00000001\n' }],
  firstLogon: [
    { name: 'first-a.ps1', language: 'ps1', content: 'Write-Output a' },
    { name: 'first-b.reg', language: 'reg', content: 'Windows Registry Editor Version 5.00\n\n[HKEY_CURRENT_USER\\Software\\X]\n"B"="b"\n' },
  ],
  everyNewUser: [
    { name: 'each.ps1', language: 'ps1', content: 'Write-Output $env:USERNAME' },
    { name: 'each.cmd', language: 'cmd', content: 'echo %USERNAME%' },
  ],
};
const OPTIONS: GenerateUnattendOptions = { architecture: 'amd64', scripts: SCRIPTS, specializeCommands: [{ commandLine: 'cmd.exe /c echo caller' }] };
const ALL = [...(SCRIPTS.system ?? []), ...(SCRIPTS.defaultUser ?? []), ...(SCRIPTS.firstLogon ?? []), ...(SCRIPTS.everyNewUser ?? [])];
const FOLDER = 'C:\\Windows\\Setup\\Scripts';

function child(parent: UnattendComponent | UnattendElement | undefined, path: string): UnattendElement | undefined {
  let node: UnattendComponent | UnattendElement | undefined = parent;
  for (const name of path.split('/')) node = node?.children.find((c): c is UnattendElement => c.kind === 'element' && c.localName === name);
  return node as UnattendElement | undefined;
}

function specializeCommands(doc: UnattendDocument): string[] {
  return ((child(findComponent(doc, 'specialize', 'Microsoft-Windows-Deployment'), 'RunSynchronous')?.children ?? []) as UnattendElement[]).map((c) =>
    textOf(child(c, 'Path') as UnattendElement),
  );
}

function firstLogonCommands(doc: UnattendDocument): string[] {
  return ((child(findComponent(doc, 'oobeSystem', 'Microsoft-Windows-Shell-Setup'), 'FirstLogonCommands')?.children ?? []) as UnattendElement[]).map((c) =>
    textOf(child(c, 'CommandLine') as UnattendElement),
  );
}

const ENCODINGS = {
  'utf-8-bom': (t: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(t, 'utf8')]),
  'utf-16le': (t: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')]),
  'utf-8': (t: string) => Buffer.from(t, 'utf8'),
};

/**
 * What DeployForgeExtract leaves on disk, computed from the answer-file bytes the way it does: our
 * namespace's Extensions/File elements, text with CR LF line ends, in the encoding named.
 */
function extractedFiles(bytes: Uint8Array): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const extensions = parseUnattend(bytes).children.find((c): c is UnattendElement => c.kind === 'element' && c.localName === 'Extensions');
  for (const file of extensions?.children ?? []) {
    if (file.kind !== 'element' || file.localName !== 'File' || file.namespace !== EXTENSIONS_NAMESPACE) continue;
    const attr = (name: string) => file.attributes.find((a) => a.localName === name)?.value ?? '';
    const encode = ENCODINGS[attr('encoding') as keyof typeof ENCODINGS];
    assert.ok(encode, `known encoding ${attr('encoding')}`);
    files.set(attr('path'), encode(textOf(file).replace(/\r?\n/g, '\r\n')));
  }
  return files;
}

describe('embedded scripts', () => {
  test('every script extracts to C:\\Windows\\Setup\\Scripts\\NAME with CR LF and its encoding; xmllint sees the same paths', async () => {
    const bytes = writeUnattend(generateUnattend(OPTIONS));
    const files = extractedFiles(bytes);
    for (const s of ALL) {
      const expected = s.content.replace(/\r?\n/g, '\r\n');
      const encode = s.language === 'ps1' ? ENCODINGS['utf-8-bom'] : s.language === 'reg' ? ENCODINGS['utf-16le'] : ENCODINGS['utf-8'];
      assert.deepEqual(files.get(`${FOLDER}\\${s.name}`), encode(expected), s.name);
    }
    assert.deepEqual([...files.keys()], [...ALL.map((s) => `${FOLDER}\\${s.name}`), `${FOLDER}\\DeployForge-FirstLogon.ps1`, `${FOLDER}\\DeployForge-EveryNewUser.ps1`]);
    const temp = await makeTempDir();
    try {
      const file = join(temp.path, 'autounattend.xml');
      await writeFile(file, bytes);
      const xpath = `/*[local-name()='unattend']/*[local-name()='Extensions' and namespace-uri()='${EXTENSIONS_NAMESPACE}']/*[local-name()='File']/@path`;
      const seen = [...(await runTool('xmllint', ['--xpath', xpath, file])).stdout.matchAll(/path="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(seen, [...files.keys()]);
      // Text with markup characters survives the XML round trip byte for byte (xmllint adds a newline).
      const cmd = (await runTool('xmllint', ['--xpath', `string(//*[@path='${FOLDER}\\cleanup.cmd'])`, file])).stdout;
      assert.equal(cmd.slice(0, -1), (SCRIPTS.system?.[1].content ?? '').replace(/\r\n/g, '\n'));
    } finally {
      await temp.cleanup();
    }
  });

  test('the first specialize command runs DeployForgeExtract from the cached answer file', () => {
    const doc = generateUnattend(OPTIONS);
    const first = specializeCommands(doc)[0];
    assert.match(first, /^powershell\.exe -NoProfile -ExecutionPolicy Bypass -Command "/);
    assert.match(first, /\$x\.Load\('C:\\Windows\\Panther\\unattend\.xml'\)/);
    // `$x.unattend.Extensions.DeployForgeExtract` must name real elements: root, then ours, then the script.
    const extensions = doc.children.at(-1) as UnattendElement;
    assert.equal(extensions.localName, 'Extensions');
    assert.equal(extensions.namespace, EXTENSIONS_NAMESPACE);
    const script = textOf(child(extensions, 'DeployForgeExtract') as UnattendElement);
    assert.match(first, /Invoke-Expression \$x\.unattend\.Extensions\.DeployForgeExtract"$/);
    assert.ok(script.includes(`AddNamespace('df', '${EXTENSIONS_NAMESPACE}')`), 'selects File elements by our namespace');
    assert.ok(script.includes("SelectNodes('/*/df:Extensions/df:File'"));
    assert.ok(script.includes("Add-Content -LiteralPath 'C:\\Windows\\Setup\\Scripts\\DeployForge.log'"));
  });

  test('specialize runs caller commands, then system scripts, then default-user scripts inside reg load/unload', () => {
    const commands = specializeCommands(generateUnattend(OPTIONS));
    const at = (needle: string) => commands.findIndex((c) => c.includes(needle));
    assert.ok(at('echo caller') < at('tweaks.ps1'));
    assert.ok(at('tweaks.ps1') < at('cleanup.cmd'));
    assert.ok(at('cleanup.cmd') < at('reg.exe load "HKU\\DefaultUser" "C:\\Users\\Default\\NTUSER.DAT"'));
    assert.ok(at('reg.exe load') < at('user.reg'));
    assert.ok(at('user.reg') < at('\\RunOnce'));
    assert.equal(commands.at(-1), 'reg.exe unload "HKU\\DefaultUser"');
    assert.equal(commands[at('tweaks.ps1')], `powershell.exe -NoProfile -ExecutionPolicy Bypass -Command "& '${FOLDER}\\tweaks.ps1' *>> '${FOLDER}\\tweaks.ps1.log'"`);
    assert.equal(commands[at('cleanup.cmd')], `cmd.exe /c ${FOLDER}\\cleanup.cmd >>${FOLDER}\\cleanup.cmd.log 2>&1`);
    assert.equal(commands[at('user.reg')], `cmd.exe /c reg.exe import ${FOLDER}\\user.reg >>${FOLDER}\\user.reg.log 2>&1`);
    assert.match(
      commands[at('\\RunOnce')],
      /\/v DeployForgeEveryNewUser \/t REG_SZ \/d "powershell\.exe .* -File C:\\Windows\\Setup\\Scripts\\DeployForge-EveryNewUser\.ps1" \/f$/,
    );
    assert.ok(commands.some((c) => c.includes('icacls.exe C:\\Windows\\Setup\\Scripts\\UserLogs /grant *S-1-5-32-545:(OI)(CI)M')));
  });

  test('first-logon scripts run in order from one runner; every-new-user scripts log per user', () => {
    const doc = generateUnattend(OPTIONS);
    assert.deepEqual(firstLogonCommands(doc), [`powershell.exe -NoProfile -ExecutionPolicy Bypass -WindowStyle Hidden -File ${FOLDER}\\DeployForge-FirstLogon.ps1`]);
    const files = extractedFiles(writeUnattend(doc));
    const runner = (files.get(`${FOLDER}\\DeployForge-FirstLogon.ps1`) as Buffer).subarray(3).toString('utf8').split('\r\n');
    assert.deepEqual(runner.slice(1, 3), [
      `& '${FOLDER}\\first-a.ps1' *>> '${FOLDER}\\first-a.ps1.log'`,
      `& reg.exe import '${FOLDER}\\first-b.reg' *>> '${FOLDER}\\first-b.reg.log'`,
    ]);
    const each = (files.get(`${FOLDER}\\DeployForge-EveryNewUser.ps1`) as Buffer).subarray(3).toString('utf8').split('\r\n');
    assert.deepEqual(each.slice(1, 3), [
      `& '${FOLDER}\\each.ps1' *>> "${FOLDER}\\UserLogs\\each.ps1.$env:USERNAME.log"`,
      `& cmd.exe /c '${FOLDER}\\each.cmd' *>> "${FOLDER}\\UserLogs\\each.cmd.$env:USERNAME.log"`,
    ]);
  });

  test('every script a command names is one that gets extracted, and every run appends to a log in the scripts folder', () => {
    const doc = generateUnattend(OPTIONS);
    const files = extractedFiles(writeUnattend(doc));
    const runners = [...files.entries()].filter(([path]) => path.includes('DeployForge-')).map(([, b]) => b.subarray(3).toString('utf8'));
    for (const line of [...specializeCommands(doc), ...firstLogonCommands(doc), ...runners.flatMap((r) => r.split('\r\n'))]) {
      for (const m of line.matchAll(/C:\\Windows\\Setup\\Scripts\\([A-Za-z0-9_.-]+?\.(?:ps1|cmd|reg))(?![.\w])/g))
        assert.ok(files.has(`${FOLDER}\\${m[1]}`), `${m[1]} is extracted`);
      if (/\.(ps1|cmd|reg)'? \*?>>|import .*>>/.test(line)) assert.match(line, /(>>|\*>>) ?['"]?C:\\Windows\\Setup\\Scripts\\/, line);
    }
  });

  test('scripts with the longest allowed name still fit the 259-character command limit', () => {
    const name = `${'n'.repeat(56)}.ps1`;
    const doc = generateUnattend({
      architecture: 'amd64',
      scripts: { system: [{ name, language: 'ps1', content: 'x' }], defaultUser: [{ name: `${'m'.repeat(56)}.cmd`, language: 'cmd', content: 'x' }] },
    });
    for (const c of specializeCommands(doc)) assert.ok(c.length <= MAX_RUN_SYNCHRONOUS_PATH, `${c.length}`);
  });

  test('no scripts: no Extensions element and no extract command', () => {
    const doc = generateUnattend({ architecture: 'x86', specializeCommands: [{ commandLine: 'cmd.exe /c echo x' }] });
    assert.equal(
      doc.children.some((c) => c.kind === 'element' && c.localName === 'Extensions'),
      false,
    );
    assert.deepEqual(specializeCommands(doc), ['cmd.exe /c echo x']);
  });

  test('rejects bad names, clashes across stages, our reserved prefix, empty scripts and .reg files without a header', () => {
    const bad = (scripts: UnattendScripts) => {
      try {
        generateUnattend({ architecture: 'amd64', scripts });
        return '';
      } catch (e) {
        assert.ok(e instanceof InputError);
        return (e.details.problems as string[]).join(' | ');
      }
    };
    const ps1 = (name: string, content = 'x'): UnattendScript => ({ name, language: 'ps1', content });
    assert.match(bad({ system: [ps1('has space.ps1')] }), /file name/);
    assert.match(bad({ system: [ps1('tweaks.cmd')] }), /ending in \.ps1/);
    assert.match(bad({ system: [ps1('a.ps1')], everyNewUser: [ps1('A.ps1')] }), /its own name/);
    assert.match(bad({ firstLogon: [ps1('DeployForge-FirstLogon.ps1')] }), /DeployForge's own/);
    assert.match(bad({ system: [ps1('e.ps1', '  \n')] }), /empty/);
    assert.match(bad({ defaultUser: [{ name: 'x.reg', language: 'reg', content: '[HKEY_USERS\\DefaultUser]' }] }), /Windows Registry Editor Version 5\.00/);
    assert.equal(bad(SCRIPTS), '');
  });
});
