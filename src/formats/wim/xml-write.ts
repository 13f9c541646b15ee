// Surgical edits of the WIM XML text for the append writer: replaces the values of a few
// elements of one <IMAGE> and of <WIM><TOTALBYTES>, inserting them when absent, and leaves every
// other character as it was, so elements we do not know survive byte for byte. It does not
// parse the XML into a DOM and does not reformat it.
import { FormatError } from '../../errors.js';

export interface ImageXmlUpdate {
  dirCount: number;
  fileCount: number;
  totalBytes: number;
  hardLinkBytes: number;
  /** FILETIME of LASTMODIFICATIONTIME. */
  lastModificationTime: bigint;
}

interface Range {
  start: number;
  end: number;
}

/** Finds the ranges of every top-level <IMAGE …>…</IMAGE> element (IMAGE does not nest). */
function imageRanges(text: string): Range[] {
  const out: Range[] = [];
  const open = /<IMAGE(?=[\s>/])[^>]*>/g;
  for (let m = open.exec(text); m; m = open.exec(text)) {
    const close = text.indexOf('</IMAGE>', m.index);
    if (close < 0) break;
    out.push({ start: m.index, end: close + '</IMAGE>'.length });
    open.lastIndex = close;
  }
  return out;
}

/** Replaces the text of the first direct <name> element found in `body` outside `skip`, or
 *  inserts `<name>value</name>` at `insertAt` when there is none. */
function setElement(body: string, name: string, value: string, insertAt: number, skip: Range[] = []): string {
  const re = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g');
  for (let m = re.exec(body); m; m = re.exec(body)) {
    const at = m.index;
    if (skip.some((r) => at >= r.start && at < r.end)) continue;
    return `${body.slice(0, at)}<${name}>${value}</${name}>${body.slice(at + m[0].length)}`;
  }
  return `${body.slice(0, insertAt)}<${name}>${value}</${name}>${body.slice(insertAt)}`;
}

const hex32 = (n: bigint) => `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;

/** Children of IMAGE nest one level for the time: a direct-child match is one not inside
 *  WINDOWS (the only known child that holds elements with the same names, VERSION etc.). */
function nestedRanges(body: string): Range[] {
  const out: Range[] = [];
  for (const tag of ['WINDOWS', 'SERVICINGDATA', 'WIMBOOT']) {
    const re = new RegExp(`<${tag}(?=[\\s>])[^>]*>[\\s\\S]*?</${tag}>`, 'g');
    for (let m = re.exec(body); m; m = re.exec(body)) out.push({ start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** Returns `text` with image `position` (1-based, document order) updated and WIM/TOTALBYTES set. */
export function updateWimXml(text: string, position: number, update: ImageXmlUpdate, wimTotalBytes: number): string {
  const images = imageRanges(text);
  const image = images[position - 1];
  if (!image) {
    throw new FormatError('DF_WIM_XML_NO_IMAGE', `the WIM XML has no <IMAGE> number ${position}; the file is corrupt`, { position, images: images.length });
  }
  let body = text.slice(image.start, image.end);
  const endOf = () => body.length - '</IMAGE>'.length;
  const set = (name: string, value: string) => {
    body = setElement(body, name, value, endOf(), nestedRanges(body));
  };
  set('DIRCOUNT', String(update.dirCount));
  set('FILECOUNT', String(update.fileCount));
  set('TOTALBYTES', String(update.totalBytes));
  set('HARDLINKBYTES', String(update.hardLinkBytes));
  const t = update.lastModificationTime;
  set('LASTMODIFICATIONTIME', `<HIGHPART>${hex32(t >> 32n)}</HIGHPART><LOWPART>${hex32(t & 0xffffffffn)}</LOWPART>`);
  let out = text.slice(0, image.start) + body + text.slice(image.end);
  // <WIM><TOTALBYTES>: the one outside every IMAGE; inserted right after <WIM> when missing.
  const wimOpen = /<WIM(?=[\s>])[^>]*>/.exec(out);
  if (!wimOpen) throw new FormatError('DF_WIM_XML_BAD_ROOT', 'the WIM XML has no <WIM> element; the file is corrupt', {});
  out = setElement(out, 'TOTALBYTES', String(wimTotalBytes), wimOpen.index + wimOpen[0].length, imageRanges(out));
  return out;
}

/** UTF-16LE with a byte order mark, as every WIM writer stores the XML. */
export function encodeWimXml(text: string): Uint8Array {
  return Buffer.from(`\ufeff${text}`, 'utf16le');
}

/** The XML with only the images at `positions` (1-based, in the order given), renumbered 1..N
 *  in their INDEX attributes, and WIM/TOTALBYTES set; every other character is kept. */
export function selectWimXmlImages(text: string, positions: readonly number[], wimTotalBytes: number): string {
  const images = imageRanges(text);
  const picked = positions.map((p, i) => {
    const range = images[p - 1];
    if (!range) throw new FormatError('DF_WIM_XML_NO_IMAGE', `the WIM XML has no <IMAGE> number ${p}; the file is corrupt`, { position: p, images: images.length });
    const body = text.slice(range.start, range.end);
    return body.replace(/^(<IMAGE[^>]*?\sINDEX=")[^"]*(")/, `$1${i + 1}$2`);
  });
  const first = images[0]?.start ?? text.indexOf('</WIM>');
  const last = images.at(-1)?.end ?? first;
  let out = text.slice(0, first) + picked.join('') + text.slice(last);
  const wimOpen = /<WIM(?=[\s>])[^>]*>/.exec(out);
  if (!wimOpen) throw new FormatError('DF_WIM_XML_BAD_ROOT', 'the WIM XML has no <WIM> element; the file is corrupt', {});
  out = setElement(out, 'TOTALBYTES', String(wimTotalBytes), wimOpen.index + wimOpen[0].length, imageRanges(out));
  return out;
}

/** The XML with image `position`'s NAME and DISPLAYNAME set to `name` (inserted when absent). */
export function renameWimXmlImage(text: string, position: number, name: string): string {
  const images = imageRanges(text);
  const image = images[position - 1];
  if (!image) throw new FormatError('DF_WIM_XML_NO_IMAGE', `the WIM XML has no <IMAGE> number ${position}; the file is corrupt`, { position, images: images.length });
  const escaped = name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  let body = text.slice(image.start, image.end);
  for (const element of ['NAME', 'DISPLAYNAME']) body = setElement(body, element, escaped, body.length - '</IMAGE>'.length, nestedRanges(body));
  return text.slice(0, image.start) + body + text.slice(image.end);
}
