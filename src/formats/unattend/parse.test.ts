import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { corpusPath, makeTempDir } from '../../../test/helpers/corpus.js';
import { FormatError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import { findComponent, textOf, type UnattendElement } from './model.js';
import { parseUnattend } from './parse.js';
import { writeUnattend } from './write.js';

const files = readdirSync(corpusPath('unattend'), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => join(e.parentPath, e.name))
  .sort();

async function xpath(file: string, expression: string): Promise<string> {
  return (await runTool('xmllint', ['--xpath', expression, file])).stdout.trim();
}

describe('parseUnattend', () => {
  // Round trips are semantic, not byte-for-byte: indentation, attribute quoting and namespace
  // declarations (moved to the root) change; elements, attributes, text and comments do not.
  test(`round-trips every corpus answer file: parse → write → parse is identical and xmllint agrees (${files.length} files)`, async () => {
    assert.ok(files.length >= 10);
    const temp = await makeTempDir();
    try {
      for (const file of files) {
        const first = parseUnattend(new Uint8Array(await readFile(file)), file);
        const bytes = writeUnattend(first);
        assert.deepEqual(parseUnattend(bytes), first, file);
        assert.deepEqual(writeUnattend(parseUnattend(bytes)), bytes, `${file}: writing is stable`);
        const out = join(temp.path, 'out.xml');
        await writeFile(out, bytes);
        await runTool('xmllint', ['--noout', out]);
        // Independent check with libxml2: same elements, comments, wcm:action items and text.
        for (const expression of ['count(//*)', 'count(//comment())', "count(//@*[local-name()='action'])", "count(//*[local-name()='component'])"])
          assert.equal(await xpath(out, expression), await xpath(file, expression), `${file}: ${expression}`);
        assert.equal(await xpath(out, "string(//*[local-name()='CommandLine'][last()])"), await xpath(file, "string(//*[local-name()='CommandLine'][last()])"), file);
      }
    } finally {
      await temp.cleanup();
    }
  });

  test('keeps wcm list items, component identity, comments and order', async () => {
    const doc = parseUnattend(new Uint8Array(await readFile(corpusPath('unattend/packer-windows/11_Autounattend.xml'))));
    const pnp = findComponent(doc, 'windowsPE', 'Microsoft-Windows-PnpCustomizationsWinPE');
    assert.ok(pnp);
    assert.equal(pnp.processorArchitecture, 'amd64');
    assert.equal(pnp.publicKeyToken, '31bf3856ad364e35');
    assert.equal(pnp.language, 'neutral');
    assert.equal(pnp.versionScope, 'nonSxS');
    assert.equal(pnp.children[0]?.kind, 'comment');
    const driverPaths = pnp.children.find((c): c is UnattendElement => c.kind === 'element' && c.localName === 'DriverPaths');
    const first = driverPaths?.children[0] as UnattendElement;
    assert.equal(first.action, 'add');
    assert.equal(first.keyValue, '2');
    assert.equal(textOf(first.children[0] as UnattendElement), 'E:\\viostor\\w10\\amd64');
    assert.equal(doc.children[0]?.kind === 'element' && doc.children[0].localName, 'servicing');
  });

  test('keeps a foreign-namespace element (schneegans Extensions) and its text verbatim', async () => {
    const file = corpusPath('unattend/unattend-generator/autounattend.template.xml');
    const doc = parseUnattend(new Uint8Array(await readFile(file)));
    const extensions = doc.children.find((c): c is UnattendElement => c.kind === 'element' && c.localName === 'Extensions');
    assert.ok(extensions);
    assert.equal(extensions.namespace, 'https://schneegans.de/windows/unattend-generator/');
    const again = parseUnattend(writeUnattend(doc));
    assert.deepEqual(again.children.at(-1), doc.children.at(-1));
  });

  test('reads UTF-16 answer files and keeps text with markup characters and CDATA', () => {
    const xml =
      '<?xml version="1.0" encoding="utf-16"?><unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="specialize"><component name="X" processorArchitecture="amd64"><CommandLine>cmd /c "a &amp; b" &lt; c</CommandLine><Script><![CDATA[if (a < b) { }]]></Script><Empty> </Empty></component></settings></unattend>';
    const doc = parseUnattend(new Uint8Array([0xff, 0xfe, ...Buffer.from(xml, 'utf16le')]));
    const component = findComponent(doc, 'specialize', 'X');
    assert.ok(component);
    const [cmd, script, empty] = component.children as UnattendElement[];
    assert.equal(textOf(cmd as UnattendElement), 'cmd /c "a & b" < c');
    assert.deepEqual(script?.children, [{ kind: 'cdata', text: 'if (a < b) { }' }]);
    assert.deepEqual(empty?.children, [{ kind: 'text', text: ' ' }]);
    assert.deepEqual(parseUnattend(writeUnattend(doc)), doc);
  });

  test('refuses malformed XML, other documents and a root outside the unattend namespace', () => {
    const codeOf = (xml: string) => {
      try {
        parseUnattend(new Uint8Array(Buffer.from(xml)));
        return 'none';
      } catch (error) {
        assert.ok(error instanceof FormatError);
        return error.code;
      }
    };
    assert.equal(codeOf('<unattend><settings></unattend>'), 'DF_UNATTEND_BAD_XML');
    assert.equal(codeOf(''), 'DF_UNATTEND_BAD_XML');
    assert.equal(codeOf('<html/>'), 'DF_UNATTEND_NOT_UNATTEND');
    assert.equal(codeOf('<unattend/>'), 'DF_UNATTEND_NOT_UNATTEND');
    assert.equal(codeOf(`<unattend xmlns="urn:schemas-microsoft-com:unattend">${'<a>'.repeat(300)}${'</a>'.repeat(300)}</unattend>`), 'DF_UNATTEND_TOO_DEEP');
  });
});
