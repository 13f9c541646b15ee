// .reg files as regedit reads and writes them: "Windows Registry Editor Version 5.00" (UTF-16LE)
// and "REGEDIT4" (ANSI), parsed into a flat list of key and value entries in file order, and
// written back in regedit's exact layout. It knows nothing about hives or roots: applying entries
// is reg-import.ts, mapping HKLM\… to hive files is reg-roots.ts. Wine-only forms (str:, str(N):)
// and UTF-16 files without a BOM are deliberately not accepted.
//
// Behaviour references: Wine's programs/regedit/regproc.c (export wrapping, REGEDIT4 ANSI
// conversion) and programs/regedit/tests/regedit.c, whose import tests run against Windows'
// regedit (1–8 digit dwords, `\;comment` after a continuation, trailing commas, hex(N) ≤ ffffffff).
import { FormatError, InputError } from '../../errors.js';
import { REG_TYPE } from './constants.js';

export const REG_HEADER_V5 = 'Windows Registry Editor Version 5.00';
export const REG_HEADER_V4 = 'REGEDIT4';

export type RegVersion = 5 | 4;

/** `[path]` (deleted = false) or `[-path]` (deleted = true). */
export interface RegKeyEntry {
  kind: 'key';
  path: string;
  deleted: boolean;
}

/** `"name"=data` or `"name"=-` (deleted: type 0, empty data). '' is the default value (`@`).
 *  `data` is what the hive stores: UTF-16LE with its NUL for strings, little-endian dwords. */
export interface RegValueEntry {
  kind: 'value';
  keyPath: string;
  name: string;
  deleted: boolean;
  type: number;
  data: Uint8Array;
}

export type RegEntry = RegKeyEntry | RegValueEntry;

export interface RegFile {
  version: RegVersion;
  entries: RegEntry[];
}

export interface WriteRegFileOptions {
  /** 5 (default) or 4 (REGEDIT4: hex(2)/hex(7) data is written as ANSI, as regedit does). */
  version?: RegVersion;
  /** 'utf16le' (default, with BOM, as regedit writes) or 'utf8' (no BOM). */
  encoding?: 'utf16le' | 'utf8';
}

/** regedit refuses nothing this big in practice; the bound keeps a hostile input from
 *  allocating without limit (the same limit as reg-text-summary.ts). */
const MAX_BYTES = 64 * 1024 * 1024;

/** regproc.c: a hex line, indentation included, is wrapped once it reaches 77 characters
 *  (`REG_FILE_HEX_LINE_LEN = 2 + 25 * 3`), so continuation lines hold 25 bytes. The corpus file
 *  windeploy-linux/sshd_service.reg, exported by Windows' regedit, wraps the same way. */
export const HEX_LINE_WRAP = 77;
export const CONTINUATION_INDENT = '  ';

// ---------------------------------------------------------------------------------------------
// Text encodings

/** Code page 1252 as the ANSI code page: Windows' default for Western locales. REGEDIT4 files
 *  carry no code-page marker, so another locale's ANSI file would be misread; we assume 1252. */
const CP1252_DECODER = new TextDecoder('windows-1252');
let cp1252Encoder: Map<number, number> | undefined;

function encodeCp1252(text: string): Uint8Array | undefined {
  if (!cp1252Encoder) {
    cp1252Encoder = new Map();
    const all = CP1252_DECODER.decode(Uint8Array.from({ length: 256 }, (_, i) => i));
    for (let i = 0; i < 256; i++) cp1252Encoder.set(all.charCodeAt(i), i);
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const byte = cp1252Encoder.get(text.charCodeAt(i));
    if (byte === undefined) return undefined;
    out[i] = byte;
  }
  return out;
}

/** UTF-16LE of a JS string, unit by unit, so even lone surrogates survive. */
export function encodeUtf16le(text: string): Uint8Array {
  // Node's encoder is native and writes every UTF-16 unit as is, unpaired surrogates included.
  const out = Buffer.from(text, 'utf16le');
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function decodeUtf16le(bytes: Uint8Array, start = 0, end = bytes.length): string {
  // Native, and unpaired surrogates survive (TextDecoder would replace them).
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, (end - start) & ~1).toString('utf16le');
}

function decodeUtf16be(bytes: Uint8Array, start: number): string {
  let s = '';
  for (let i = start; i + 1 < bytes.length; i += 2) s += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
  return s;
}

/** regedit writes UTF-16LE with a BOM; hand-written files are UTF-8 (with or without BOM) or
 *  ANSI. Without a BOM, valid UTF-8 wins (ASCII is both) and anything else is read as 1252. */
function decodeRegText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return decodeUtf16le(bytes, 2);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return decodeUtf16be(bytes, 2);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return new TextDecoder('utf-8').decode(bytes.subarray(3));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return CP1252_DECODER.decode(bytes);
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

class LineReader {
  /** Physical lines; regedit accepts CRLF, LF and lone CR (Wine's tests, run on Windows). */
  readonly lines: string[];
  index = 0;
  constructor(text: string) {
    this.lines = text.split(/\r\n|\n|\r/);
  }
}

const isSpace = (c: string) => c === ' ' || c === '\t';

function skipSpaces(text: string, pos: number): number {
  while (pos < text.length && isSpace(text[pos])) pos++;
  return pos;
}

/** Only blanks or a `;` comment may follow data on a line. */
function isLineEnd(text: string, pos: number): boolean {
  const p = skipSpaces(text, pos);
  return p === text.length || text[p] === ';';
}

export function parseRegFile(bytes: Uint8Array, name = '.reg file'): RegFile {
  if (bytes.length > MAX_BYTES) {
    throw new FormatError('DF_REG_TOO_LARGE', `${name} is ${bytes.length} bytes, more than the 64 MiB a .reg file may have; split it`, { name, size: bytes.length });
  }
  const reader = new LineReader(decodeRegText(bytes));
  const { lines } = reader;
  const fail = (line: number, message: string): never => {
    throw new FormatError('DF_REG_BAD_LINE', `${name}:${line + 1}: ${message}`, { name, line: line + 1 });
  };

  // The header must be the first non-blank line; regedit ignores files without it.
  while (reader.index < lines.length && lines[reader.index].trim() === '') reader.index++;
  const header = (lines[reader.index] ?? '').trim();
  let version: RegVersion;
  if (header === REG_HEADER_V5) version = 5;
  else if (header === REG_HEADER_V4) version = 4;
  else {
    throw new FormatError('DF_REG_BAD_HEADER', `${name}:${reader.index + 1}: found '${header.slice(0, 60)}', expected '${REG_HEADER_V5}' or '${REG_HEADER_V4}'`, {
      name,
      line: reader.index + 1,
    });
  }
  reader.index++;

  const entries: RegEntry[] = [];
  let currentKey: string | undefined;
  let currentDeleted = false;
  while (reader.index < lines.length) {
    const lineNo = reader.index;
    const raw = lines[reader.index++];
    const start = skipSpaces(raw, 0);
    if (start === raw.length || raw[start] === ';' || raw[start] === '#') continue;
    const text = raw.slice(start);

    if (text[0] === '[') {
      const close = text.lastIndexOf(']');
      if (close < 0) fail(lineNo, `key line has no closing ']': expected [KEY] or [-KEY]`);
      if (!isLineEnd(text, close + 1)) fail(lineNo, `unexpected text after ']': expected only a ';' comment`);
      const deleted = text[1] === '-';
      const path = text.slice(deleted ? 2 : 1, close);
      if (path === '') fail(lineNo, `empty key name: expected [KEY] or [-KEY]`);
      entries.push({ kind: 'key', path, deleted });
      currentKey = path;
      currentDeleted = deleted;
      continue;
    }

    if (text[0] !== '"' && text[0] !== '@') fail(lineNo, `expected [KEY], "name"=data, @=data or a ';' comment`);
    if (currentKey === undefined) fail(lineNo, `value before any [KEY] line: expected a key first`);
    if (currentDeleted) fail(lineNo, `value under a deleted key [-${currentKey}]: expected a [KEY] line first`);
    const keyPath = currentKey as string;

    let pos: number;
    let valueName: string;
    if (text[0] === '@') {
      valueName = '';
      pos = 1;
    } else {
      const quoted = readQuoted(text, 0);
      if (!quoted) return fail(lineNo, `value name has no closing '"'`);
      valueName = quoted.value;
      pos = quoted.end;
    }
    pos = skipSpaces(text, pos);
    if (text[pos] !== '=') fail(lineNo, `expected '=' after the value name`);
    pos = skipSpaces(text, pos + 1);
    const rest = text.slice(pos);

    if (rest[0] === '-' && isLineEnd(rest, 1)) {
      entries.push({ kind: 'value', keyPath, name: valueName, deleted: true, type: REG_TYPE.REG_NONE, data: new Uint8Array(0) });
      continue;
    }
    if (rest[0] === '"') {
      const quoted = readQuoted(rest, 0);
      if (!quoted) return fail(lineNo, `string data has no closing '"'`);
      if (!isLineEnd(rest, quoted.end)) fail(lineNo, `unexpected text after the closing '"'`);
      const data = encodeUtf16le(`${quoted.value}\0`);
      entries.push({ kind: 'value', keyPath, name: valueName, deleted: false, type: REG_TYPE.REG_SZ, data });
      continue;
    }
    const dword = /^dword:([0-9a-fA-F]+)/.exec(rest);
    if (dword) {
      // Windows takes 1–8 digits (dword:1). Longer runs are accepted only when the extra
      // digits are leading zeros (debloat-windows-10 ships dword:0ffffffff); Wine and hivex
      // reject them, and we found no statement of what Windows does.
      const digits = dword[1].replace(/^0+(?=[0-9a-fA-F]{8})/, '');
      if (digits.length > 8) fail(lineNo, `dword '${dword[1]}' does not fit in 32 bits: expected dword: and up to 8 hex digits`);
      if (!isLineEnd(rest, dword[0].length)) fail(lineNo, `unexpected text after the dword: expected dword: and up to 8 hex digits`);
      const n = Number.parseInt(digits, 16);
      const data = new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]);
      entries.push({ kind: 'value', keyPath, name: valueName, deleted: false, type: REG_TYPE.REG_DWORD, data });
      continue;
    }
    const hexHead = /^hex(?:\(([0-9a-fA-F]{1,8})\))?:/.exec(rest);
    if (hexHead) {
      const type = hexHead[1] === undefined ? REG_TYPE.REG_BINARY : Number.parseInt(hexHead[1], 16);
      let data = readHexBytes(reader, rest, hexHead[0].length, lineNo, fail);
      // REGEDIT4 files hold these two string types as ANSI; regedit stores them as UTF-16
      // (regproc.c GetWideStringN on import; Wine's Windows-run tests confirm).
      if (version === 4 && (type === REG_TYPE.REG_EXPAND_SZ || type === REG_TYPE.REG_MULTI_SZ)) {
        data = encodeUtf16le(CP1252_DECODER.decode(data));
      }
      entries.push({ kind: 'value', keyPath, name: valueName, deleted: false, type, data });
      continue;
    }
    fail(lineNo, `unknown data '${rest.slice(0, 24)}': expected "string", dword:XXXXXXXX, hex:bytes, hex(N):bytes or -`);
  }
  return { version, entries };
}

/** A `"…"` string at `start`: `\\` and `\"` are the escapes regedit writes. Any other backslash
 *  is kept as written, since hand-made files often contain unescaped paths. */
function readQuoted(text: string, start: number): { value: string; end: number } | undefined {
  let out = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"') return { value: out, end: i + 1 };
    if (c === '\\' && (text[i + 1] === '\\' || text[i + 1] === '"')) {
      out += text[++i];
      continue;
    }
    out += c;
  }
  return undefined;
}

/** Comma-separated bytes of 1–2 hex digits; a trailing comma is allowed. A `\` at the end of a
 *  line (optionally followed by blanks or a `;` comment) continues the data on the next line,
 *  whose leading blanks are skipped. Data ends at the end of a line without `\`, or at a `;`. */
function readHexBytes(reader: LineReader, first: string, startPos: number, firstLine: number, fail: (line: number, message: string) => never): Uint8Array {
  const bytes: number[] = [];
  let text = first;
  let pos = startPos;
  let lineNo = firstLine;
  for (;;) {
    pos = skipSpaces(text, pos);
    if (pos >= text.length || text[pos] === ';') break;
    if (text[pos] === '\\') {
      if (!isLineEnd(text, pos + 1)) fail(lineNo, `unexpected text after '\\': a continuation must end the line`);
      if (reader.index >= reader.lines.length) break;
      lineNo = reader.index;
      text = reader.lines[reader.index++];
      pos = 0;
      continue;
    }
    const m = /^[0-9a-fA-F]{1,2}/.exec(text.slice(pos, pos + 2));
    if (!m) fail(lineNo, `bad hex byte at '${text.slice(pos, pos + 8)}': expected two hex digits separated by commas`);
    const digits = (m as RegExpExecArray)[0];
    bytes.push(Number.parseInt(digits, 16));
    pos = skipSpaces(text, pos + digits.length);
    if (pos >= text.length || text[pos] === ';' || text[pos] === '\\') continue;
    if (text[pos] !== ',') fail(lineNo, `expected ',' after hex byte '${digits}'`);
    pos++;
  }
  return Uint8Array.from(bytes);
}

// ---------------------------------------------------------------------------------------------
// Writing

// (indexOf first: an export calls these for every name and string, and most need nothing.)
const escapeQuoted = (s: string) => (s.indexOf('\\') < 0 && s.indexOf('"') < 0 ? s : s.replace(/[\\"]/g, (c) => `\\${c}`));

const hasLineBreak = (s: string) => s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The REG_SZ text when its bytes are exactly `text` + one NUL and the text survives a .reg
 *  file; otherwise undefined and the value is written as hex(1) so no byte is lost (regproc.c
 *  also falls back to hex(1) for odd sizes or a missing NUL). */
function cleanString(data: Uint8Array): string | undefined {
  if (data.length < 2 || data.length % 2 !== 0) return undefined;
  if (data[data.length - 1] !== 0 || data[data.length - 2] !== 0) return undefined;
  const text = decodeUtf16le(data, 0, data.length - 2);
  if (text.includes('\0') || hasLineBreak(text) || LONE_SURROGATE.test(text)) return undefined;
  return text;
}

/** Accepts a RegFile or a bare entry list. Values are grouped under `[keyPath]` headers; a value
 *  whose key differs from the section it follows gets a new header, so parseRegFile(write(x))
 *  equals x whenever every value follows a `[key]` entry of its own path (as parsed files do). */
export function writeRegFile(file: RegFile | readonly RegEntry[], options: WriteRegFileOptions = {}): Uint8Array {
  const entries = Array.isArray(file) ? (file as readonly RegEntry[]) : (file as RegFile).entries;
  const version = options.version ?? (Array.isArray(file) ? 5 : (file as RegFile).version);
  return encodeRegText([...regFileLines(entries, version)].join('\r\n'), options.encoding ?? 'utf16le', true);
}

/** The lines of a .reg file (without line ends), produced one at a time so a large export can
 *  be written as it is produced. Joined with CRLF they are exactly writeRegFile's text. */
export function* regFileLines(entries: Iterable<RegEntry>, version: RegVersion = 5): Generator<string> {
  yield version === 5 ? REG_HEADER_V5 : REG_HEADER_V4;
  let section: string | undefined;
  let sectionDeleted = false;
  const openSection = (path: string, deleted: boolean): string[] => {
    if (path === '' || hasLineBreak(path)) {
      throw new InputError('DF_REG_UNWRITABLE', `key path ${JSON.stringify(path)} cannot be written to a .reg file: it is empty or contains a line break`, { path });
    }
    section = path;
    sectionDeleted = deleted;
    // regedit puts a blank line before every key (regproc.c "\r\n[%s]\r\n").
    return ['', `[${deleted ? '-' : ''}${path}]`];
  };
  for (const entry of entries) {
    if (entry.kind === 'key') {
      yield* openSection(entry.path, entry.deleted);
      continue;
    }
    if (section !== entry.keyPath || sectionDeleted) yield* openSection(entry.keyPath, false);
    yield formatValue(entry, version);
  }
  // regedit ends the file with a blank line after the last key's values.
  yield '';
  yield '';
}

/** Text in the file's encoding; UTF-16LE files start with a byte-order mark, as regedit's do. */
export function encodeRegText(text: string, encoding: 'utf16le' | 'utf8', startOfFile: boolean): Uint8Array {
  if (encoding === 'utf8') return new TextEncoder().encode(text);
  const body = encodeUtf16le(text);
  if (!startOfFile) return body;
  const bytes = new Uint8Array(body.length + 2);
  bytes.set([0xff, 0xfe]);
  bytes.set(body, 2);
  return bytes;
}

/** Writes a .reg file as its lines are produced, in chunks, so memory stays bounded however big
 *  the export: `write` receives the encoded bytes in order, each chunk whole lines (a character
 *  is never split between chunks). Lines are encoded straight into a chunk-sized buffer: an
 *  export of a large hive makes a million lines, and joining them into strings first was most
 *  of its garbage. */
export async function streamRegFile(entries: Iterable<RegEntry>, write: (chunk: Uint8Array) => Promise<void>, options: WriteRegFileOptions = {}): Promise<void> {
  const encoding = options.encoding ?? 'utf16le';
  // Bytes a string of n UTF-16 units can take: 2 each in UTF-16LE, at most 3 each in UTF-8.
  const wide = encoding === 'utf16le';
  const most = wide ? 2 : 3;
  const CHUNK = 1 << 20;
  let buffer = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  if (wide) {
    buffer[0] = 0xff; // the byte-order mark regedit writes
    buffer[1] = 0xfe;
    used = 2;
  }
  const flush = async () => {
    if (used === 0) return;
    // A fresh buffer for the next chunk: `write` may keep this one.
    const full = buffer.subarray(0, used);
    buffer = Buffer.allocUnsafe(CHUNK);
    used = 0;
    await write(new Uint8Array(full.buffer, full.byteOffset, full.length));
  };
  let started = false;
  for (const line of regFileLines(entries, options.version ?? 5)) {
    const bound = (line.length + 2) * most;
    if (used + bound > CHUNK) {
      await flush();
      if (bound > CHUNK) {
        // A line longer than a chunk (a large binary value) goes out on its own.
        await write(encodeRegText(started ? `\r\n${line}` : line, encoding, false));
        started = true;
        continue;
      }
    }
    if (started) {
      // CRLF by hand: a million native write calls for two characters cost more than this.
      buffer[used++] = 0x0d;
      if (wide) buffer[used++] = 0;
      buffer[used++] = 0x0a;
      if (wide) buffer[used++] = 0;
    }
    started = true;
    used += buffer.write(line, used, encoding);
  }
  await flush();
}

function formatValue(entry: RegValueEntry, version: RegVersion): string {
  if (hasLineBreak(entry.name)) {
    throw new InputError('DF_REG_UNWRITABLE', `value name ${JSON.stringify(entry.name)} under ${entry.keyPath} contains a line break, which a .reg file cannot hold`, {
      keyPath: entry.keyPath,
      name: entry.name,
    });
  }
  const lead = entry.name === '' ? '@=' : `"${escapeQuoted(entry.name)}"=`;
  if (entry.deleted) return `${lead}-`;
  const { type, data } = entry;
  if (type === REG_TYPE.REG_SZ) {
    const text = cleanString(data);
    if (text !== undefined) return `${lead}"${escapeQuoted(text)}"`;
  }
  if (type === REG_TYPE.REG_DWORD && data.length === 4) {
    const n = (data[0] | (data[1] << 8) | (data[2] << 16) | (data[3] << 24)) >>> 0;
    return `${lead}dword:${n.toString(16).padStart(8, '0')}`;
  }
  let bytes = data;
  if (version === 4 && (type === REG_TYPE.REG_EXPAND_SZ || type === REG_TYPE.REG_MULTI_SZ)) {
    const ansi = data.length % 2 === 0 ? encodeCp1252(decodeUtf16le(data)) : undefined;
    if (!ansi) {
      throw new InputError('DF_REG_UNWRITABLE', `value "${entry.name}" under ${entry.keyPath} holds text outside code page 1252, which REGEDIT4 cannot carry: write version 5`, {
        keyPath: entry.keyPath,
        name: entry.name,
      });
    }
    bytes = ansi;
  }
  const head = `${lead}${type === REG_TYPE.REG_BINARY ? 'hex:' : `hex(${type.toString(16)}):`}`;
  return head + formatHexBytes(bytes, head.length);
}

/** regproc.c's wrapping: after each "xx," the column grows by 3; once it reaches 77 the line
 *  ends with `\` and the next starts with two spaces. The last byte has no comma. */
function formatHexBytes(bytes: Uint8Array, startColumn: number): string {
  const parts: string[] = [];
  let column = startColumn;
  for (let i = 0; i < bytes.length; i++) {
    parts.push(bytes[i].toString(16).padStart(2, '0'));
    if (i === bytes.length - 1) break;
    parts.push(',');
    column += 3;
    if (column >= HEX_LINE_WRAP) {
      parts.push(`\\\r\n${CONTINUATION_INDENT}`);
      column = CONTINUATION_INDENT.length;
    }
  }
  return parts.join('');
}
