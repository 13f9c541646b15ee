// The WIM XML parser: well-formedness judged against xmllint (libxml2, the parser wimlib uses),
// values against the XML text, and the resource checks that guard the read.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { corpusPath } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { BufferSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { readWimHeader } from './header.js';
import { parseWimXml, readWimXml } from './xml-info.js';

async function xmllintAccepts(text: string): Promise<boolean> {
  try {
    await runTool('xmllint', ['--noout', '-'], { input: text, timeoutMs: 30_000 });
    return true;
  } catch {
    return false;
  }
}

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    assert.ok(e instanceof DeployForgeError, `expected a DeployForgeError, got ${String(e)}`);
    return e.code;
  }
}

describe('parseWimXml', () => {
  const documents = [
    '<WIM><TOTALBYTES>1</TOTALBYTES></WIM>',
    '<WIM><IMAGE INDEX="1"><NAME>a &amp; b</NAME></IMAGE></WIM>',
    '<?xml version="1.0"?><WIM><IMAGE INDEX="1"><NAME><![CDATA[<raw>]]></NAME></IMAGE></WIM>',
    '<WIM><IMAGE INDEX="1"><NAME>x</IMAGE></WIM>',
    '<WIM><IMAGE INDEX="1"></WIM>',
    '<WIM><IMAGE INDEX=1></IMAGE></WIM>',
    '<WIM>&undefined;</WIM>',
    '<WIM></WIM><WIM></WIM>',
    '<WIM><</WIM>',
    '<WIM a="1" a="2"></WIM>',
    '<WIM>\u0001</WIM>',
    '<WIM xmlns:a="urn:x"><a:b>1</a:b></WIM>',
    '<WIM><!-- c --><IMAGE INDEX="1"/></WIM>',
    '<WIM></wim>',
    '<WIM>\uFFFE</WIM>',
    '',
    'not xml at all',
  ];
  for (const text of documents) {
    test(`judges ${JSON.stringify(text)} well-formed or not as xmllint does`, async () => {
      const code = codeOf(() => parseWimXml(text));
      const accepted = await xmllintAccepts(text);
      if (accepted) assert.equal(code, null);
      else assert.ok(code === 'DF_WIM_XML_MALFORMED' || code === 'DF_WIM_XML_BAD_ROOT', `got ${code}`);
    });
  }

  test('refuses an undeclared namespace prefix, which xmllint only warns about', () => {
    assert.equal(
      codeOf(() => parseWimXml('<WIM><b:c/></WIM>')),
      'DF_WIM_XML_MALFORMED',
    );
  });

  test('refuses a document whose root is not <WIM> with DF_WIM_XML_BAD_ROOT', () => {
    assert.equal(
      codeOf(() => parseWimXml('<IMAGE INDEX="1"/>')),
      'DF_WIM_XML_BAD_ROOT',
    );
  });

  test('decodes entities and CDATA in names', () => {
    assert.equal(parseWimXml('<WIM><IMAGE INDEX="1"><NAME>a &amp; b</NAME></IMAGE></WIM>').images[0].name, 'a & b');
    assert.equal(parseWimXml('<WIM><IMAGE INDEX="1"><NAME><![CDATA[<raw>]]></NAME></IMAGE></WIM>').images[0].name, '<raw>');
  });

  test('keeps unknown elements by property path, numbering repeats as --image-property does', () => {
    const xml = parseWimXml(
      '<WIM><ESD><CERT>c</CERT></ESD><IMAGE INDEX="1"><NAME>n</NAME><NAME>second</NAME><SERVICINGDATA><GDRDUREVISION>3</GDRDUREVISION></SERVICINGDATA>' +
        '<WINDOWS><HAL>acpiapic</HAL><SERVICINGDATA><IMAGESTATE>IMAGE_STATE_COMPLETE</IMAGESTATE></SERVICINGDATA></WINDOWS></IMAGE></WIM>',
    );
    assert.deepEqual(xml.extra, { 'ESD/CERT': 'c' });
    assert.deepEqual(xml.images[0].extra, { 'NAME[2]': 'second', 'SERVICINGDATA/GDRDUREVISION': '3' });
    assert.deepEqual(xml.images[0].windows?.extra, { HAL: 'acpiapic', 'SERVICINGDATA/IMAGESTATE': 'IMAGE_STATE_COMPLETE' });
  });

  test('turns HIGHPART/LOWPART into an ISO time and rejects non-hex parts as absent', () => {
    const at = (high: string, low: string) =>
      parseWimXml(`<WIM><IMAGE INDEX="1"><CREATIONTIME><HIGHPART>${high}</HIGHPART><LOWPART>${low}</LOWPART></CREATIONTIME></IMAGE></WIM>`).images[0].creationTime;
    // 0x01CE569E423675D4 is the corpus cyclic.wim's creation time (wimlib: Wed May 22 03:41:35 2013 UTC).
    assert.equal(at('0x01CE569E', '0x423675D4'), '2013-05-22T03:41:35.600Z');
    assert.equal(at('zz', '0x1'), null);
    assert.equal(at('0xFFFFFFFF', '0xFFFFFFFF'), null);
  });

  test('reads numbers as wimlib does and leaves non-numbers absent', () => {
    const image = parseWimXml('<WIM><IMAGE INDEX="x"><DIRCOUNT> 12 </DIRCOUNT><FILECOUNT>-1</FILECOUNT><TOTALBYTES>99999999999999999999</TOTALBYTES></IMAGE></WIM>').images[0];
    assert.equal(image.index, 1);
    assert.equal(image.dirCount, 12);
    assert.equal(image.fileCount, null);
    assert.equal(image.totalBytes, null);
  });

  test('survives deeply nested unknown elements without recursion trouble', () => {
    const depth = 20000;
    const xml = parseWimXml(`<WIM><IMAGE INDEX="1"><NAME>n</NAME>${'<X>'.repeat(depth)}deep${'</X>'.repeat(depth)}</IMAGE></WIM>`);
    assert.equal(xml.images[0].name, 'n');
    const key = Object.keys(xml.images[0].extra)[0];
    assert.equal(xml.images[0].extra[key], 'deep');
  });
});

describe('readWimXml', () => {
  async function corpus(): Promise<Uint8Array> {
    return Uint8Array.from(await readFile(corpusPath('ppkg/mOSD.ppkg')));
  }
  async function codeFor(bytes: Uint8Array): Promise<string | null> {
    const source = new BufferSource(bytes);
    try {
      await readWimXml(source, await readWimHeader(source));
      return null;
    } catch (e) {
      assert.ok(e instanceof DeployForgeError, String(e));
      return e.code;
    }
  }
  const XML_RESHDR = 0x48;

  test('strips the byte-order mark and reads the UTF-16LE text as wimlib-imagex info --xml prints it', async () => {
    const path = corpusPath('ppkg/mOSD.ppkg');
    const printed = (await runTool('wimlib-imagex', ['info', '--xml', path], { binary: true, timeoutMs: 30_000 })).stdout.toString('utf16le').replace(/^\uFEFF/, '');
    const source = new BufferSource(await corpus());
    const xml = await readWimXml(source, await readWimHeader(source));
    assert.equal(xml.text, printed);
    assert.equal(xml.totalBytes, 7442);
  });

  test('refuses a compressed XML resource with DF_WIM_XML_COMPRESSED', async () => {
    const bytes = await corpus();
    bytes[XML_RESHDR + 7] |= 0x04;
    assert.equal(await codeFor(bytes), 'DF_WIM_XML_COMPRESSED');
  });

  test('refuses an XML resource of odd length as not UTF-16', async () => {
    const bytes = await corpus();
    const view = new DataView(bytes.buffer);
    view.setUint32(XML_RESHDR, view.getUint32(XML_RESHDR, true) - 1, true);
    view.setUint32(XML_RESHDR + 16, view.getUint32(XML_RESHDR + 16, true) - 1, true);
    assert.equal(await codeFor(bytes), 'DF_WIM_XML_MALFORMED');
  });

  test('refuses stored and original sizes that disagree for uncompressed XML', async () => {
    const bytes = await corpus();
    const view = new DataView(bytes.buffer);
    view.setUint32(XML_RESHDR + 16, view.getUint32(XML_RESHDR + 16, true) - 2, true);
    assert.equal(await codeFor(bytes), 'DF_WIM_BAD_RESOURCE');
  });

  test('refuses a WIM without XML with DF_WIM_NO_XML', async () => {
    const bytes = await corpus();
    bytes.fill(0, XML_RESHDR, XML_RESHDR + 24);
    assert.equal(await codeFor(bytes), 'DF_WIM_NO_XML');
  });
});
