// Every answer file in the shared corpus (../shared/corpus/unattend, read in place): it parses, it
// validates with only the errors reviewed below, and parse → write gives either the same bytes
// or, where the source is formatted differently from our writer, the same XML tree. The
// formatting differences are detected, not just claimed, and each one is listed per file.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { corpusPath } from '../../../test/helpers/corpus.js';
import { parseUnattend } from './parse.js';
import { decodeXmlText } from './summary.js';
import { validateUnattend } from './validate.js';
import { writeUnattend } from './write.js';

const CORPUS = corpusPath('unattend');
const files = existsSync(CORPUS)
  ? readdirSync(CORPUS, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort()
  : [];

/** Ways a source file's bytes differ from what writeUnattend produces for the same tree. */
type FormatDifference =
  | 'byte-order mark'
  | 'CRLF line ends'
  | 'indentation other than two spaces'
  | 'blank lines'
  | 'trailing spaces'
  | 'namespace declarations off the root'
  | 'component attribute order'
  | 'start tags over several lines'
  | 'space before />'
  | 'empty elements as start and end tag';

const DETECTORS: Record<FormatDifference, (text: string, bytes: Uint8Array) => boolean> = {
  'byte-order mark': (_, b) => b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf,
  'CRLF line ends': (t) => t.includes('\r\n'),
  'indentation other than two spaces': (t) => /^(\t| {4})+</m.test(t) && !/^ {2}<[^/]/m.test(t),
  'blank lines': (t) => /\n[ \t]*\r?\n/.test(t),
  'trailing spaces': (t) => /[ \t]+\r?$/m.test(t),
  // The writer declares every prefix once on the root, and always declares wcm there.
  'namespace declarations off the root': (t) => /<(?!unattend[\s>])[A-Za-z][^>]*\sxmlns:\w+=/.test(t) || !/<unattend[^>]*\sxmlns:wcm=/.test(t),
  'component attribute order': (t) =>
    [...t.matchAll(/<component\b([^>]*)>/g)].some((m) => {
      const names = [...(m[1] ?? '').matchAll(/\s([\w:]+)=/g)].map((a) => a[1]).filter((n) => n && !n.startsWith('xmlns'));
      const order = ['name', 'processorArchitecture', 'publicKeyToken', 'language', 'versionScope'];
      const known = names.filter((n): n is string => n !== undefined && order.includes(n));
      return known.some((n, i) => i > 0 && order.indexOf(n) < order.indexOf(known[i - 1] as string));
    }),
  'start tags over several lines': (t) => /<[A-Za-z][^<>]*\n[^<>]*>/.test(t),
  'space before />': (t) => /\s\/>/.test(t),
  'empty elements as start and end tag': (t) => /<([\w:]+)(\s[^<>]*)?><\/\1>/.test(t),
};

function detectDifferences(bytes: Uint8Array): FormatDifference[] {
  // Comment text is kept verbatim by the writer, so what it contains is no difference.
  const text = Buffer.from(bytes)
    .toString('utf8')
    .replace(/<!--[\s\S]*?-->/g, '<!---->');
  return (Object.keys(DETECTORS) as FormatDifference[]).filter((d) => DETECTORS[d](text, bytes));
}

/**
 * Reviewed expectations per corpus file (path under corpus/unattend). `errors` are the error
 * findings the validator must report, each explained; `differences` are why parse → write is
 * not byte-for-byte (an empty list would demand identical bytes).
 */
const EXPECTED: Record<string, { errors: string[]; differences: FormatDifference[] }> = {
  // International-Core (not -WinPE) sits in windowsPE; the reference lists it for specialize and
  // oobeSystem only, so Setup does not apply it there (the -WinPE component next to it does the job).
  'packer-windows/10_insider_uefi_Autounattend.xml': {
    errors: ['component-wrong-pass'],
    differences: ['indentation other than two spaces', 'namespace declarations off the root'],
  },
  'packer-windows/11_Autounattend.xml': {
    errors: [],
    differences: [
      'indentation other than two spaces',
      'blank lines',
      'trailing spaces',
      'namespace declarations off the root',
      'component attribute order',
      'start tags over several lines',
    ],
  },
  'packer-windows/2008_r2_Autounattend.xml': {
    errors: [],
    differences: ['indentation other than two spaces', 'namespace declarations off the root'],
  },
  'packer-windows/2022_core_Autounattend.xml': {
    errors: [],
    differences: ['indentation other than two spaces', 'blank lines', 'namespace declarations off the root', 'component attribute order', 'start tags over several lines'],
  },
  'packer-windows/2025_Autounattend.xml': {
    errors: [],
    differences: [
      'CRLF line ends',
      'indentation other than two spaces',
      'blank lines',
      'namespace declarations off the root',
      'component attribute order',
      'start tags over several lines',
      'space before />',
    ],
  },
  'packer-windows/7_Autounattend.xml': {
    errors: [],
    differences: ['indentation other than two spaces', 'blank lines', 'namespace declarations off the root', 'component attribute order', 'start tags over several lines'],
  },
  'packer-windows/scripts_unattend.xml': {
    errors: [],
    differences: ['CRLF line ends', 'indentation other than two spaces', 'namespace declarations off the root'],
  },
  'packer-windows/server_insider_uefi_Autounattend.xml': {
    errors: [],
    differences: ['indentation other than two spaces', 'namespace declarations off the root'],
  },
  // A template saved with a UTF-8 byte-order mark, which Windows 11 24H2 Setup rejects; the
  // generator that fills it in is expected to write the final file without one.
  'unattend-generator/autounattend.template.xml': {
    errors: ['utf8-bom'],
    differences: ['byte-order mark', 'space before />'],
  },
  // Microsoft-Windows-Embedded-EmbeddedLogon is declared x86 among amd64 components; Setup on an
  // amd64 image skips it, so NoLockScreen is never applied.
  'windeploy-linux/unattend.xml.example': {
    errors: ['architecture-mismatch'],
    differences: ['indentation other than two spaces', 'blank lines', 'namespace declarations off the root'],
  },
};

// --- An independent view of the XML tree, straight from xmldom, for the semantic comparison.

interface DomNode {
  nodeType: number;
  nodeName: string;
  nodeValue: string | null;
  localName?: string | null;
  namespaceURI?: string | null;
  firstChild: DomNode | null;
  nextSibling: DomNode | null;
  attributes?: { length: number; item(i: number): DomNode | null };
  data?: string;
  target?: string;
}

/** Elements with namespace and sorted attributes, comments, PIs and text; formatting-only whitespace dropped. */
function canonicalTree(bytes: Uint8Array): string[] {
  const dom = new DOMParser().parseFromString(decodeXmlText(bytes).text, 'text/xml') as unknown as DomNode;
  const out: string[] = [];
  const visit = (node: DomNode, depth: number) => {
    const pad = ' '.repeat(depth);
    if (node.nodeType === 8) return void out.push(`${pad}#comment ${node.data ?? ''}`);
    if (node.nodeType === 7) return void out.push(`${pad}#pi ${node.target ?? node.nodeName} ${node.data ?? ''}`);
    const attributes: string[] = [];
    for (let i = 0; node.attributes && i < node.attributes.length; i++) {
      const a = node.attributes.item(i);
      if (a && a.namespaceURI !== 'http://www.w3.org/2000/xmlns/') attributes.push(`{${a.namespaceURI ?? ''}}${a.localName ?? a.nodeName}=${JSON.stringify(a.nodeValue)}`);
    }
    out.push(`${pad}{${node.namespaceURI ?? ''}}${node.localName ?? node.nodeName} ${attributes.sort().join(' ')}`);
    const children: DomNode[] = [];
    for (let c = node.firstChild; c; c = c.nextSibling) children.push(c);
    const isText = (c: DomNode) => c.nodeType === 3 || c.nodeType === 4;
    const hasRealText = children.some((c) => isText(c) && (c.data ?? '').trim() !== '');
    const hasMarkup = children.some((c) => !isText(c));
    let run: string | undefined;
    const flush = () => {
      if (run !== undefined && (hasRealText || !hasMarkup)) out.push(`${pad} #text ${JSON.stringify(run)}`);
      run = undefined;
    };
    for (const c of children) {
      if (isText(c)) run = (run ?? '') + (c.data ?? '');
      else {
        flush();
        visit(c, depth + 1);
      }
    }
    flush();
  };
  for (let n = dom.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 || n.nodeType === 8 || (n.nodeType === 7 && n.nodeName !== 'xml')) visit(n, 0);
  return out;
}

describe('the shared unattend corpus', () => {
  test('is present', (t) => {
    if (files.length === 0) return void t.skip(`no corpus at ${CORPUS}`);
    assert.ok(files.length >= 10, `${files.length} files`);
  });

  for (const file of files) {
    const name = relative(CORPUS, file).split('\\').join('/');
    test(`${name}: parses, validates with only its reviewed errors, and round-trips`, async (t) => {
      const bytes = new Uint8Array(await readFile(file));
      const doc = parseUnattend(bytes, name);

      const findings = validateUnattend(bytes, { file: name });
      for (const f of findings) t.diagnostic(`${f.severity} ${f.code} ${f.xpath}: ${f.message}`);
      const expected = EXPECTED[name];
      const errorCodes = findings.filter((f) => f.severity === 'error').map((f) => f.code);
      if (expected) assert.deepEqual(errorCodes, expected.errors, 'error findings differ from the reviewed list');
      else t.diagnostic(`not reviewed yet: errors ${JSON.stringify(errorCodes)}`);

      const written = writeUnattend(doc);
      const differences = detectDifferences(bytes);
      assert.deepEqual(detectDifferences(written), [], 'the writer itself never produces these differences');
      if (differences.length === 0) {
        assert.deepEqual(written, bytes, 'no formatting difference detected, so the bytes must be identical');
        t.diagnostic('round trip: byte-for-byte identical');
      } else {
        assert.deepEqual(canonicalTree(written), canonicalTree(bytes), 'same elements, attributes, comments and text');
        t.diagnostic(`round trip: semantically identical; bytes differ because the source has ${differences.join(', ')}`);
      }
      if (expected) assert.deepEqual(differences, expected.differences, 'formatting differences differ from the reviewed list');
      // Our own output is a fixed point: writing it again gives the same bytes.
      assert.deepEqual(writeUnattend(parseUnattend(written)), written);
    });
  }
});
