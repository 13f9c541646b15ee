import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { corpusPath } from '../../../test/helpers/corpus.js';
import { FormatError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import { summarizeUnattend } from './summary.js';

const files = readdirSync(corpusPath('unattend'), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && /\.xml/.test(e.name))
  .map((e) => join(e.parentPath, e.name));

describe('summarizeUnattend', () => {
  test(`lists the passes and components of every corpus answer file as xmllint sees them (${files.length} files)`, async () => {
    assert.ok(files.length >= 8);
    for (const file of files) {
      const summary = summarizeUnattend(new Uint8Array(await readFile(file)), file);
      const xpath = "count(//*[local-name()='settings'])";
      const { stdout } = await runTool('xmllint', ['--xpath', xpath, file]);
      assert.equal(summary.passes.length, Number(stdout.trim()), file);
      const components = Number((await runTool('xmllint', ['--xpath', "count(//*[local-name()='settings']/*[local-name()='component'])", file])).stdout.trim());
      assert.equal(
        summary.passes.reduce((n, p) => n + p.components.length, 0),
        components,
        file,
      );
    }
  });

  test('warns about a UTF-8 byte-order mark, which Windows 11 24H2 Setup rejects', () => {
    const xml =
      '<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64"/></settings></unattend>';
    const withBom = summarizeUnattend(new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from(xml)]));
    assert.equal(withBom.byteOrderMark, true);
    assert.ok(withBom.warnings.some((w) => /byte-order mark/.test(w)));
    const plain = summarizeUnattend(new Uint8Array(Buffer.from(xml)));
    assert.deepEqual(plain.warnings, []);
    assert.deepEqual(plain.passes, [{ pass: 'oobeSystem', components: ['Microsoft-Windows-Shell-Setup'] }]);
  });

  test('refuses malformed XML and other documents with a FormatError', () => {
    assert.throws(
      () => summarizeUnattend(new Uint8Array(Buffer.from('<unattend><settings></unattend>'))),
      (e: unknown) => e instanceof FormatError && e.code === 'DF_UNATTEND_BAD_XML',
    );
    assert.throws(
      () => summarizeUnattend(new Uint8Array(Buffer.from('<html/>'))),
      (e: unknown) => e instanceof FormatError && e.code === 'DF_UNATTEND_NOT_UNATTEND',
    );
  });
});
