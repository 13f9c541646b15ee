// The WIM XML resource: the UTF-16LE document that names and describes each image (NAME,
// counts, times, WINDOWS/…). Reads and parses it into typed values and keeps every element it
// does not know in a path→text map, so nothing is lost. It never rewrites the XML.
import { DOMParser } from '@xmldom/xmldom';
import { FormatError } from '../../errors.js';
import { filetimeToIso, utf16le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import type { WimHeader } from './header.js';
import { isEmptyResource } from './resource-header.js';

/** Largest XML resource we read. Real ones are tens of KiB (an 11-edition install.wim is about
 *  40 KiB), so anything near this is corrupt, and the cap bounds the memory a bad header costs. */
export const MAX_XML_BYTES = 32 * 1024 * 1024;
/** Nested elements deeper than this are flattened into their parent's text. */
const MAX_DEPTH = 32;

/** Architecture codes of WINDOWS/ARCH (PROCESSOR_ARCHITECTURE_* in winnt.h). */
export const ARCH_NAMES: Readonly<Record<number, string>> = { 0: 'x86', 5: 'arm', 6: 'ia64', 9: 'amd64', 12: 'arm64' };

export interface WimWindowsVersion {
  major: number | null;
  minor: number | null;
  build: number | null;
  spBuild: number | null;
  spLevel: number | null;
}

export interface WimWindowsInfo {
  /** WINDOWS/ARCH as stored, and its name ('unknown' for other codes). */
  arch: number | null;
  archName: string | null;
  productName: string | null;
  editionId: string | null;
  installationType: string | null;
  productType: string | null;
  productSuite: string | null;
  languages: string[];
  defaultLanguage: string | null;
  version: WimWindowsVersion | null;
  systemRoot: string | null;
  /** Other WINDOWS children (HAL, SERVICINGDATA/…), by path relative to WINDOWS. */
  extra: Record<string, string>;
}

export interface WimImageInfo {
  /** The INDEX attribute, or the position (1-based) when it is missing or not a number. */
  index: number;
  name: string | null;
  description: string | null;
  displayName: string | null;
  displayDescription: string | null;
  /** FLAGS: the edition ID DISM shows ("Professional"). */
  flags: string | null;
  dirCount: number | null;
  fileCount: number | null;
  totalBytes: number | null;
  hardLinkBytes: number | null;
  creationTime: string | null;
  lastModificationTime: string | null;
  wimboot: boolean | null;
  windows: WimWindowsInfo | null;
  /** Every other child, by wimlib property path ("NOTES", "ALTITUDE", "SERVICINGDATA/…");
   *  a repeated element's later copies get "[2]", "[3]"… as in `--image-property`. */
  extra: Record<string, string>;
}

export interface WimXmlInfo {
  /** WIM/TOTALBYTES: where the XML starts in a whole WIM (wimlib prints it as "Size"). */
  totalBytes: number | null;
  images: WimImageInfo[];
  /** Children of <WIM> other than TOTALBYTES and IMAGE (ESDs carry <ESD>, for instance). */
  extra: Record<string, string>;
  /** The document as decoded, for a later rewriter that must keep unknown parts. */
  text: string;
}

// Minimal structural view of xmldom nodes, so the walkers do not depend on DOM typings.
interface XNode {
  nodeType: number;
  nodeName: string;
  nodeValue: string | null;
  childNodes: { length: number; [i: number]: XNode };
  getAttribute?(name: string): string | null;
}
const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;

function childElements(node: XNode): XNode[] {
  const out: XNode[] = [];
  for (let i = 0; i < node.childNodes.length; i++) {
    const c = node.childNodes[i];
    if (c.nodeType === ELEMENT) out.push(c);
  }
  return out;
}

/** Concatenated text below `node`, walked with an explicit stack (no recursion on deep input). */
function textOf(node: XNode): string {
  let text = '';
  const stack: XNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop() as XNode;
    if (n.nodeType === TEXT || n.nodeType === CDATA) text += n.nodeValue ?? '';
    else for (let i = n.childNodes.length - 1; i >= 0; i--) stack.push(n.childNodes[i]);
  }
  return text;
}

function firstChild(node: XNode, name: string): XNode | null {
  for (const c of childElements(node)) if (c.nodeName === name) return c;
  return null;
}

function childText(node: XNode, name: string): string | null {
  const c = firstChild(node, name);
  return c ? textOf(c) : null;
}

/** Decimal number as wimlib reads it (strtoull base 10); null when absent or not a number. */
function parseNumber(text: string | null): number | null {
  if (text === null) return null;
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

function parseHex32(text: string | null): bigint | null {
  if (text === null) return null;
  const t = text.trim();
  const m = /^(?:0[xX])?([0-9a-fA-F]{1,8})$/.exec(t);
  return m ? BigInt(`0x${m[1]}`) : null;
}

/** CREATIONTIME / LASTMODIFICATIONTIME: a FILETIME split into HIGHPART and LOWPART hex. */
function parseTime(node: XNode | null): string | null {
  if (!node) return null;
  const high = parseHex32(childText(node, 'HIGHPART'));
  const low = parseHex32(childText(node, 'LOWPART'));
  if (high === null || low === null) return null;
  return filetimeToIso((high << 32n) | low);
}

/** Adds `node`'s children to `map` under wimlib property paths, skipping names in `known`. */
function collectExtra(node: XNode, prefix: string, known: ReadonlySet<string>, map: Record<string, string>, depth: number): void {
  const seen = new Map<string, number>();
  for (const c of childElements(node)) {
    const count = (seen.get(c.nodeName) ?? 0) + 1;
    seen.set(c.nodeName, count);
    if (prefix === '' && known.has(c.nodeName) && count === 1) continue;
    const key = `${prefix}${c.nodeName}${count > 1 ? `[${count}]` : ''}`;
    const kids = childElements(c);
    if (kids.length === 0 || depth >= MAX_DEPTH) map[key] = textOf(c);
    else collectExtra(c, `${key}/`, known, map, depth + 1);
  }
}

const IMAGE_KNOWN = new Set([
  'NAME',
  'DESCRIPTION',
  'DISPLAYNAME',
  'DISPLAYDESCRIPTION',
  'FLAGS',
  'DIRCOUNT',
  'FILECOUNT',
  'TOTALBYTES',
  'HARDLINKBYTES',
  'CREATIONTIME',
  'LASTMODIFICATIONTIME',
  'WIMBOOT',
  'WINDOWS',
]);
const WINDOWS_KNOWN = new Set(['ARCH', 'PRODUCTNAME', 'EDITIONID', 'INSTALLATIONTYPE', 'PRODUCTTYPE', 'PRODUCTSUITE', 'LANGUAGES', 'VERSION', 'SYSTEMROOT']);
const WIM_KNOWN = new Set(['TOTALBYTES', 'IMAGE']);

function parseWindows(node: XNode): WimWindowsInfo {
  const arch = parseNumber(childText(node, 'ARCH'));
  const langs = firstChild(node, 'LANGUAGES');
  const languages = langs
    ? childElements(langs)
        .filter((c) => c.nodeName === 'LANGUAGE')
        .map(textOf)
    : [];
  const ver = firstChild(node, 'VERSION');
  const extra: Record<string, string> = {};
  collectExtra(node, '', WINDOWS_KNOWN, extra, 1);
  return {
    arch,
    archName: arch === null ? null : (ARCH_NAMES[arch] ?? 'unknown'),
    productName: childText(node, 'PRODUCTNAME'),
    editionId: childText(node, 'EDITIONID'),
    installationType: childText(node, 'INSTALLATIONTYPE'),
    productType: childText(node, 'PRODUCTTYPE'),
    productSuite: childText(node, 'PRODUCTSUITE'),
    languages,
    defaultLanguage: langs ? childText(langs, 'DEFAULT') : null,
    version: ver
      ? {
          major: parseNumber(childText(ver, 'MAJOR')),
          minor: parseNumber(childText(ver, 'MINOR')),
          build: parseNumber(childText(ver, 'BUILD')),
          spBuild: parseNumber(childText(ver, 'SPBUILD')),
          spLevel: parseNumber(childText(ver, 'SPLEVEL')),
        }
      : null,
    systemRoot: childText(node, 'SYSTEMROOT'),
    extra,
  };
}

function parseImage(node: XNode, position: number): WimImageInfo {
  const indexAttr = parseNumber(node.getAttribute?.('INDEX') ?? null);
  const windows = firstChild(node, 'WINDOWS');
  const wimboot = childText(node, 'WIMBOOT');
  const extra: Record<string, string> = {};
  collectExtra(node, '', IMAGE_KNOWN, extra, 1);
  return {
    index: indexAttr ?? position,
    name: childText(node, 'NAME'),
    description: childText(node, 'DESCRIPTION'),
    displayName: childText(node, 'DISPLAYNAME'),
    displayDescription: childText(node, 'DISPLAYDESCRIPTION'),
    flags: childText(node, 'FLAGS'),
    dirCount: parseNumber(childText(node, 'DIRCOUNT')),
    fileCount: parseNumber(childText(node, 'FILECOUNT')),
    totalBytes: parseNumber(childText(node, 'TOTALBYTES')),
    hardLinkBytes: parseNumber(childText(node, 'HARDLINKBYTES')),
    creationTime: parseTime(firstChild(node, 'CREATIONTIME')),
    lastModificationTime: parseTime(firstChild(node, 'LASTMODIFICATIONTIME')),
    wimboot: wimboot === null ? null : parseNumber(wimboot) === 1,
    windows: windows ? parseWindows(windows) : null,
    extra,
  };
}

/** Characters XML 1.0 forbids (control characters, U+FFFE/U+FFFF, lone surrogates), which
 *  xmldom lets through but libxml2 rejects. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Parses the decoded text of a WIM XML resource. Namespace prefixes that are never declared
 *  are refused (libxml2 only warns); no WIM writer uses namespaces. */
export function parseWimXml(text: string, name = 'WIM'): WimXmlInfo {
  const bad = NOT_XML_CHAR.exec(text);
  if (bad) {
    const code = bad[0].codePointAt(0) ?? 0;
    throw new FormatError(
      'DF_WIM_XML_MALFORMED',
      `${name}: the WIM XML data contains U+${code.toString(16).toUpperCase().padStart(4, '0')} at character ${bad.index}, which XML does not allow; the file is corrupt`,
      {
        index: bad.index,
      },
    );
  }
  let doc: { documentElement: XNode | null };
  try {
    const parser = new DOMParser({
      // Even xmldom's warnings (unquoted attribute values, for one) are errors to libxml2,
      // the parser wimlib reads this XML with.
      onError(_level: string, message: string) {
        throw new Error(message);
      },
    });
    doc = parser.parseFromString(text, 'text/xml') as unknown as { documentElement: XNode | null };
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
    throw new FormatError('DF_WIM_XML_MALFORMED', `${name}: the WIM XML data is not well-formed XML (${reason}); the file is corrupt`, { reason });
  }
  const root = doc.documentElement;
  if (root?.nodeName !== 'WIM') {
    throw new FormatError('DF_WIM_XML_BAD_ROOT', `${name}: the WIM XML data has root <${root?.nodeName ?? ''}>, expected <WIM>; the file is corrupt`, {
      root: root?.nodeName ?? null,
    });
  }
  const images = childElements(root)
    .filter((c) => c.nodeName === 'IMAGE')
    .map((c, i) => parseImage(c, i + 1));
  const extra: Record<string, string> = {};
  collectExtra(root, '', WIM_KNOWN, extra, 1);
  return { totalBytes: parseNumber(childText(root, 'TOTALBYTES')), images, extra, text };
}

/** Reads and parses the XML resource the header points to. The XML is always stored
 *  uncompressed (wimlib src/xml.c writes it raw), so no decompressor is involved. */
export async function readWimXml(source: ByteSource, header: WimHeader): Promise<WimXmlInfo> {
  const r = header.xmlData;
  if (isEmptyResource(r) || r.originalSize === 0) {
    throw new FormatError('DF_WIM_NO_XML', `${source.name}: the WIM has no XML data; it is incomplete or corrupt`, {});
  }
  if (r.flags.compressed) {
    throw new FormatError('DF_WIM_XML_COMPRESSED', `${source.name}: the WIM XML data is stored compressed, which this reader does not support`, {});
  }
  if (r.sizeInWim !== r.originalSize) {
    throw new FormatError(
      'DF_WIM_BAD_RESOURCE',
      `${source.name}: the uncompressed XML data has stored size ${r.sizeInWim} but original size ${r.originalSize}; the header is corrupt`,
      { sizeInWim: r.sizeInWim, originalSize: r.originalSize },
    );
  }
  if (r.originalSize > MAX_XML_BYTES) {
    throw new FormatError('DF_WIM_XML_TOO_LARGE', `${source.name}: the WIM XML data claims ${r.originalSize} bytes, far more than any real WIM; the header is corrupt`, {
      size: r.originalSize,
    });
  }
  if (r.originalSize % 2 !== 0) {
    throw new FormatError('DF_WIM_XML_MALFORMED', `${source.name}: the WIM XML data has an odd length (${r.originalSize}), so it is not UTF-16; the file is corrupt`, {
      size: r.originalSize,
    });
  }
  const bytes = await source.read(r.offset, r.originalSize);
  let text = utf16le(bytes, 0, bytes.length);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return parseWimXml(text, source.name);
}
