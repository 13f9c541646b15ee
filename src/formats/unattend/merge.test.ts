import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { corpusPath } from '../../../test/helpers/corpus.js';
import { runTool } from '../../util/exec.js';
import { generateUnattend } from './generate.js';
import { mergeUnattend } from './merge.js';
import { findComponent, textOf, type UnattendComponent, type UnattendElement } from './model.js';
import { parseUnattend } from './parse.js';
import { writeUnattend } from './write.js';

const child = (e: { children: unknown[] }, name: string) => (e.children as UnattendElement[]).find((c) => c.kind === 'element' && c.localName === name) as UnattendElement;
const items = (e: UnattendElement) => e.children.filter((c): c is UnattendElement => c.kind === 'element');

const BASE = `<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">
  <!-- kept -->
  <settings pass="specialize">
    <component name="Microsoft-Windows-Deployment" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <RunSynchronous>
        <RunSynchronousCommand wcm:action="add"><Order>1</Order><Path>cmd /c echo first</Path></RunSynchronousCommand>
        <RunSynchronousCommand wcm:action="add"><Order>2</Order><Path>cmd /c echo second</Path></RunSynchronousCommand>
      </RunSynchronous>
    </component>
    <component name="Contoso-Custom" processorArchitecture="amd64"><Thing>1</Thing></component>
  </settings>
  <settings pass="oobeSystem">
    <component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <TimeZone>UTC</TimeZone>
      <RegisteredOwner>Someone</RegisteredOwner>
    </component>
  </settings>
</unattend>
`;

describe('mergeUnattend', () => {
  test('keeps what the overlay does not mention, replaces leaf settings, appends list items after the existing ones', () => {
    const base = parseUnattend(new TextEncoder().encode(BASE));
    const overlay = generateUnattend({ architecture: 'amd64', timeZone: 'W. Europe Standard Time', languages: { uiLanguage: 'de-DE' } });
    const extra = parseUnattend(
      new TextEncoder().encode(
        BASE.replace('echo first', 'echo third')
          .replace(/<RunSynchronousCommand wcm:action="add"><Order>2<\/Order>.*?<\/RunSynchronousCommand>/s, '')
          .replace(/<settings pass="oobeSystem">.*?<\/settings>/s, '')
          .replace('<!-- kept -->', ''),
      ),
    );
    const merged = mergeUnattend(mergeUnattend(base, overlay), extra);
    const shell = findComponent(merged, 'oobeSystem', 'Microsoft-Windows-Shell-Setup');
    assert.ok(shell);
    assert.equal(textOf(child(shell, 'TimeZone')), 'W. Europe Standard Time');
    assert.equal(textOf(child(shell, 'RegisteredOwner')), 'Someone');
    assert.ok(findComponent(merged, 'specialize', 'Contoso-Custom'), 'unknown components are kept');
    assert.ok(findComponent(merged, 'windowsPE', 'Microsoft-Windows-International-Core-WinPE'), 'new passes are added');
    assert.deepEqual(
      merged.children.filter((c) => c.kind === 'settings').map((c) => (c as { pass: string }).pass),
      ['windowsPE', 'specialize', 'oobeSystem'],
      'passes stay in the order Setup runs them',
    );
    const run = child(findComponent(merged, 'specialize', 'Microsoft-Windows-Deployment') as never, 'RunSynchronous');
    assert.deepEqual(
      items(run).map((i) => [textOf(child(i, 'Order')), textOf(child(i, 'Path'))]),
      [
        ['1', 'cmd /c echo first'],
        ['2', 'cmd /c echo second'],
        ['3', 'cmd /c echo third'],
      ],
    );
    assert.ok(
      merged.children.some((c) => c.kind === 'comment'),
      'comments are kept',
    );
    assert.deepEqual(base, parseUnattend(new TextEncoder().encode(BASE)), 'the base is not changed');
  });

  test('merging a generated file into every corpus answer file gives a well-formed file that keeps every base element', async () => {
    const { readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { makeTempDir } = await import('../../../test/helpers/corpus.js');
    const files = readdirSync(corpusPath('unattend'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
    const temp = await makeTempDir();
    try {
      const overlay = generateUnattend({ architecture: 'amd64', timeZone: 'UTC', computerName: 'LAB-01' });
      for (const file of files) {
        const base = parseUnattend(new Uint8Array(await readFile(file)), file);
        const out = join(temp.path, 'merged.xml');
        await (await import('node:fs/promises')).writeFile(out, writeUnattend(mergeUnattend(base, overlay)));
        await runTool('xmllint', ['--noout', out]);
        const count = async (path: string, expr: string) => Number((await runTool('xmllint', ['--xpath', expr, path])).stdout.trim());
        assert.ok((await count(out, 'count(//*)')) >= (await count(file, 'count(//*)')), `${file}: no element lost`);
        const merged = parseUnattend(new Uint8Array(await readFile(out)));
        // Matched by name and architecture: an x86 file gains a separate amd64 component.
        const oobe = merged.children.find((c) => c.kind === 'settings' && c.pass === 'oobeSystem') as { children: UnattendComponent[] };
        const shell = oobe.children.find((c) => c.kind === 'component' && c.name === 'Microsoft-Windows-Shell-Setup' && c.processorArchitecture === 'amd64');
        assert.ok(shell, file);
        assert.equal(textOf(child(shell, 'TimeZone')), 'UTC', file);
      }
    } finally {
      await temp.cleanup();
    }
  });
});
