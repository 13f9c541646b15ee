// Parses a Windows setup information (.inf) file into sections and entries, expanding %strkey%
// tokens from the [Strings] section Windows would pick for a locale. It knows INF syntax only:
// what the Version, Manufacturer or CopyFiles entries mean is driver.ts's business. It never
// follows Include= into other INF files and never touches the file system.
import { FormatError } from '../../errors.js';

/** Refuse inputs above these sizes: a real INF is a few hundred KiB at most. */
export const INF_MAX_BYTES = 16 * 1024 * 1024;
/** Longest physical or logical (continued) line, in characters. */
export const INF_MAX_LINE = 64 * 1024;
export const INF_MAX_SECTIONS = 50_000;
export const INF_MAX_ENTRIES = 500_000;
/** Longest field after %strkey% substitution; Microsoft's own limit is 4096 ("General Syntax
 *  Rules for INF Files", INF Size Limits), so this only stops runaway expansion. */
export const INF_MAX_EXPANDED_FIELD = 64 * 1024;
/** Total characters all expanded fields may add up to. */
export const INF_MAX_EXPANDED_TOTAL = 32 * 1024 * 1024;
/** Longest section name Windows accepts ("General Syntax Rules for INF Files", Section Names). */
export const INF_MAX_SECTION_NAME = 255;

export type InfEncoding = 'utf-16le' | 'utf-16be' | 'utf-8' | 'windows-1252';

/** One comma-separated value (or an entry's key) as written and as Windows would read it. */
export interface InfValue {
  /** The text in the file, trimmed, quotes and %tokens% untouched. */
  raw: string;
  /** Quotes removed (`""` inside quotes is one `"`), `%%` made `%`, %strkey% tokens replaced. */
  value: string;
}

/** One logical line of a section: continuation lines joined, comment removed. */
export interface InfEntry {
  /** 1-based number of the entry's first physical line. */
  line: number;
  /** The part before the first `=` outside quotes; absent for plain entries such as `file.sys,,,2`. */
  key?: InfValue;
  /** The comma-separated values after `=` (or of the whole line when there is no key). In
   *  [Strings] sections the whole text after `=` is one value, commas included. */
  values: InfValue[];
}

export interface InfSection {
  /** The name as first declared (without brackets). */
  name: string;
  /** Line numbers of every `[name]` header; more than one when the section is declared again. */
  headerLines: number[];
  entries: InfEntry[];
}

export interface InfIssue {
  line: number;
  message: string;
}

export interface InfFile {
  name: string;
  encoding: InfEncoding;
  hasBom: boolean;
  /** Sections in order of first appearance; repeated declarations are merged into the first. */
  sections: InfSection[];
  /** Lower-cased section name → section (section names are case-insensitive). */
  sectionIndex: ReadonlyMap<string, InfSection>;
  /** The language asked for (LANGID, e.g. 0x0409) and the Strings section chosen for it. */
  languageId: number;
  stringsSection?: string;
  /** Lower-cased strkey → value from the chosen Strings section. */
  strings: ReadonlyMap<string, string>;
  /** %tokens% used but not defined (numeric DIRID tokens such as %11% are not listed). */
  unresolvedTokens: string[];
  /** Oddities that do not stop parsing: unterminated quotes, text before the first section… */
  issues: InfIssue[];
}

export interface ParseInfOptions {
  /** LANGID whose Strings.LLLL section to use, as Windows would on a machine in that locale; default 0x0409. */
  languageId?: number;
}

/** Parses INF bytes. Throws FormatError only for inputs past the limits or broken section headers. */
export function parseInf(bytes: Uint8Array, name = 'file.inf', options: ParseInfOptions = {}): InfFile {
  if (bytes.length > INF_MAX_BYTES) {
    throw new FormatError('DF_INF_TOO_LARGE', `${name}: ${bytes.length} bytes is larger than the ${INF_MAX_BYTES}-byte limit for an INF file`, { size: bytes.length });
  }
  const issues: InfIssue[] = [];
  const decoded = decodeInfText(bytes);
  if (decoded.oddLength) issues.push({ line: 0, message: 'UTF-16 text has an odd number of bytes; the last byte was ignored' });
  const raw = readRawSections(decoded.text, name, issues);
  const languageId = options.languageId ?? 0x0409;
  const chosen = chooseStringsSection(raw, languageId);
  const strings = collectStrings(chosen, issues);
  const unresolved = new Set<string>();
  const budget: Budget = { total: 0, where: name };
  const sections = raw.map((section) => buildSection(section, strings, unresolved, budget));
  const index = new Map<string, InfSection>();
  for (const section of sections) index.set(section.name.toLowerCase(), section);
  return {
    name,
    encoding: decoded.encoding,
    hasBom: decoded.hasBom,
    sections,
    sectionIndex: index,
    languageId,
    stringsSection: chosen?.name,
    strings,
    unresolvedTokens: [...unresolved],
    issues,
  };
}

/** The section called `name` (case-insensitive), if declared. */
export function getInfSection(inf: InfFile, name: string): InfSection | undefined {
  return inf.sectionIndex.get(name.toLowerCase());
}

/** Every entry of `section` whose key is `key` (case-insensitive), in file order. */
export function getInfEntries(section: InfSection | undefined, key: string): InfEntry[] {
  if (!section) return [];
  const wanted = key.toLowerCase();
  return section.entries.filter((entry) => entry.key?.value.toLowerCase() === wanted);
}

/** The first value of the first entry keyed `key`; Windows reads the first matching line. */
export function getInfValue(section: InfSection | undefined, key: string): string | undefined {
  return getInfEntries(section, key)[0]?.values[0]?.value;
}

// ---------------------------------------------------------------------------------------------
// Text decoding

interface Decoded {
  text: string;
  encoding: InfEncoding;
  hasBom: boolean;
  oddLength: boolean;
}

/** Windows-1252 code points for bytes 0x80..0x9F; the five undefined bytes keep their value. */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013,
  0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178,
];

/** UTF-16 with a BOM, UTF-8 with or without one, UTF-16LE without BOM when the first two
 *  characters are ASCII, else Windows-1252 (an "ANSI" INF is read in the system code page on
 *  Windows; 1252 is the Western default and a superset of Latin-1's printable range). */
export function decodeInfText(bytes: Uint8Array): Decoded {
  const b0 = bytes[0];
  const b1 = bytes[1];
  if (b0 === 0xff && b1 === 0xfe) return decodeUtf16(bytes.subarray(2), 'utf-16le', true);
  if (b0 === 0xfe && b1 === 0xff) return decodeUtf16(bytes.subarray(2), 'utf-16be', true);
  if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) {
    return { text: new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(3)), encoding: 'utf-8', hasBom: true, oddLength: false };
  }
  if (bytes.length >= 4 && b1 === 0 && bytes[3] === 0 && b0 !== 0 && b0 < 0x80 && bytes[2] !== 0 && bytes[2] < 0x80) {
    return decodeUtf16(bytes, 'utf-16le', false);
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), encoding: 'utf-8', hasBom: false, oddLength: false };
  } catch {
    return { text: decodeWindows1252(bytes), encoding: 'windows-1252', hasBom: false, oddLength: false };
  }
}

function decodeUtf16(body: Uint8Array, encoding: 'utf-16le' | 'utf-16be', hasBom: boolean): Decoded {
  const oddLength = body.length % 2 === 1;
  let even = body.subarray(0, body.length - (oddLength ? 1 : 0));
  if (encoding === 'utf-16be') {
    const swapped = new Uint8Array(even.length);
    for (let i = 0; i < even.length; i += 2) {
      swapped[i] = even[i + 1];
      swapped[i + 1] = even[i];
    }
    even = swapped;
  }
  return { text: new TextDecoder('utf-16le', { ignoreBOM: true }).decode(even), encoding, hasBom, oddLength };
}

function decodeWindows1252(bytes: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 8192;
  const units = new Uint16Array(CHUNK);
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const end = Math.min(bytes.length, start + CHUNK);
    for (let i = start; i < end; i++) {
      const b = bytes[i];
      units[i - start] = b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80] : b;
    }
    parts.push(String.fromCharCode(...units.subarray(0, end - start)));
  }
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Lines and sections

const QUOTE = 0x22;
const SEMICOLON = 0x3b;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;
/** A %strkey% token: visible characters between two percent signs ("INF Strings Section":
 *  keys are letters, digits and other explicitly visible characters). Commas, quotes and `=`
 *  are left out so a stray `%` cannot swallow a field separator. */
const TOKEN = /%[^%\s",=]+%/y;

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0b || code === 0x0c;
}

interface RawEntry {
  line: number;
  text: string;
}

interface RawSection {
  name: string;
  headerLines: number[];
  entries: RawEntry[];
}

/** Splits the text into sections of logical lines (not yet split into values). */
function readRawSections(text: string, where: string, issues: InfIssue[]): RawSection[] {
  const sections: RawSection[] = [];
  const byName = new Map<string, RawSection>();
  let current: RawSection | undefined;
  let entryCount = 0;
  let pending: RawEntry | undefined;
  let reportedOrphans = false;

  const finish = (entry: RawEntry): void => {
    if (entry.text.trim() === '') return;
    if (!current) {
      // Windows finds sections by name; text before the first header belongs to none.
      if (!reportedOrphans) issues.push({ line: entry.line, message: 'text before the first [section] header is ignored' });
      reportedOrphans = true;
      return;
    }
    if (++entryCount > INF_MAX_ENTRIES) {
      throw new FormatError('DF_INF_TOO_MANY_ENTRIES', `${where}: more than ${INF_MAX_ENTRIES} entries`, { limit: INF_MAX_ENTRIES });
    }
    current.entries.push(entry);
  };

  let lineNo = 0;
  let at = 0;
  while (at < text.length) {
    lineNo++;
    let end = at;
    while (end < text.length) {
      const c = text.charCodeAt(end);
      if (c === 0x0a || c === 0x0d) break;
      end++;
    }
    if (end - at > INF_MAX_LINE) {
      throw new FormatError('DF_INF_LINE_TOO_LONG', `${where}: line ${lineNo} is longer than ${INF_MAX_LINE} characters`, { line: lineNo });
    }
    const physical = text.slice(at, end);
    // CR LF, LF and a lone CR all end a line.
    at = end + (text.charCodeAt(end) === 0x0d && text.charCodeAt(end + 1) === 0x0a ? 2 : 1);

    if (!pending) {
      const header = readHeader(physical, lineNo, where, issues);
      if (header !== undefined) {
        const key = header.toLowerCase();
        let section = byName.get(key);
        if (section) {
          // "If more than one section in an INF file has the same name, the system merges
          // their entries and directives into a single section." (General Syntax Rules)
          section.headerLines.push(lineNo);
        } else {
          if (sections.length >= INF_MAX_SECTIONS) {
            throw new FormatError('DF_INF_TOO_MANY_SECTIONS', `${where}: more than ${INF_MAX_SECTIONS} sections`, { limit: INF_MAX_SECTIONS });
          }
          section = { name: header, headerLines: [lineNo], entries: [] };
          sections.push(section);
          byName.set(key, section);
        }
        current = section;
        continue;
      }
    }

    const stripped = stripComment(physical);
    if (stripped.openQuote) issues.push({ line: lineNo, message: 'a quoted string is not closed before the end of the line' });
    if (pending) pending.text += stripped.content;
    else pending = { line: lineNo, text: stripped.content };
    if (pending.text.length > INF_MAX_LINE) {
      throw new FormatError('DF_INF_LINE_TOO_LONG', `${where}: the entry starting on line ${pending.line} is longer than ${INF_MAX_LINE} characters`, {
        line: pending.line,
      });
    }
    if (!stripped.continued) {
      finish(pending);
      pending = undefined;
    }
  }
  // A continuation on the last line simply ends the entry.
  if (pending) finish(pending);
  return sections;
}

/** `[name]` → name; undefined when the line is not a header. A `[` without `]` is an error. */
function readHeader(physical: string, lineNo: number, where: string, issues: InfIssue[]): string | undefined {
  let start = 0;
  while (start < physical.length && isBlank(physical.charCodeAt(start))) start++;
  if (physical.charCodeAt(start) !== 0x5b) return undefined;
  const close = physical.indexOf(']', start + 1);
  if (close < 0) {
    throw new FormatError('DF_INF_BAD_SECTION_HEADER', `${where}: line ${lineNo} opens a section name with "[" but has no "]"`, { line: lineNo });
  }
  const name = physical.slice(start + 1, close).trim();
  if (name === '') {
    throw new FormatError('DF_INF_BAD_SECTION_HEADER', `${where}: line ${lineNo} declares a section with an empty name`, { line: lineNo });
  }
  if (name.length > INF_MAX_SECTION_NAME) {
    issues.push({ line: lineNo, message: `section name is ${name.length} characters; Windows allows ${INF_MAX_SECTION_NAME}` });
  }
  const rest = stripComment(physical.slice(close + 1)).content.trim();
  if (rest !== '') issues.push({ line: lineNo, message: `text after the section header is ignored: ${rest.slice(0, 40)}` });
  return name;
}

interface Stripped {
  content: string;
  continued: boolean;
  openQuote: boolean;
}

/** Removes a `;` comment and a trailing `\` continuation. A `;` inside a quoted string or a
 *  %strkey% token does not start a comment, and the continuation `\` must be the last visible
 *  character before any comment and outside quotes ("General Syntax Rules for INF Files", Line
 *  Format, Continuation, and Comments). A quote left open closes at the end of the line. */
function stripComment(line: string): Stripped {
  let inQuote = false;
  let end = line.length;
  let lastVisible = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inQuote) {
      if (c === QUOTE) {
        if (line.charCodeAt(i + 1) === QUOTE) i++;
        else inQuote = false;
      }
      lastVisible = i;
      continue;
    }
    if (c === QUOTE) {
      inQuote = true;
      lastVisible = i;
      continue;
    }
    if (c === SEMICOLON) {
      end = i;
      break;
    }
    if (c === PERCENT) {
      if (line.charCodeAt(i + 1) === PERCENT) {
        i++;
        lastVisible = i;
        continue;
      }
      TOKEN.lastIndex = i;
      const token = TOKEN.exec(line);
      if (token) {
        i += token[0].length - 1;
        lastVisible = i;
        continue;
      }
    }
    if (!isBlank(c)) lastVisible = i;
  }
  if (!inQuote && lastVisible >= 0 && line.charCodeAt(lastVisible) === BACKSLASH) {
    return { content: line.slice(0, lastVisible), continued: true, openQuote: false };
  }
  return { content: line.slice(0, end), continued: false, openQuote: inQuote };
}

interface SplitEntry {
  /** Text before the first `=` outside quotes, trimmed; undefined when there is none. */
  key?: string;
  /** Text after that `=`, trimmed (the whole line when there is no key). */
  rest: string;
  /** `rest` cut at commas outside quotes, each trimmed. */
  values: string[];
}

/** Splits a logical line at the first `=` and at the commas outside quotes. */
function splitEntry(text: string): SplitEntry {
  let inQuote = false;
  let keyEnd = -1;
  const cuts: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) inQuote = !inQuote;
    else if (!inQuote) {
      if (c === 0x3d && keyEnd < 0) keyEnd = i;
      else if (c === 0x2c) cuts.push(i);
    }
  }
  const values: string[] = [];
  let start = keyEnd + 1;
  for (const cut of cuts) {
    if (cut < start) continue;
    values.push(text.slice(start, cut).trim());
    start = cut + 1;
  }
  values.push(text.slice(start).trim());
  return { key: keyEnd >= 0 ? text.slice(0, keyEnd).trim() : undefined, rest: text.slice(keyEnd + 1).trim(), values };
}

/** Removes quoting: `"…"` keeps its content verbatim, `""` inside quotes is one `"` ("INF
 *  Strings Section": """some string""" becomes "some string"). */
export function unquoteInf(raw: string): string {
  if (!raw.includes('"')) return raw;
  let out = '';
  let inQuote = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '"') {
      if (inQuote && raw[i + 1] === '"') {
        out += '"';
        i++;
      } else {
        inQuote = !inQuote;
      }
    } else {
      out += ch;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Strings and expansion

const STRINGS_NAME = /^strings(?:\.([0-9a-f]{1,4}))?$/i;

/** Picks the one Strings section Windows uses for `languageId` ("INF Strings Section",
 *  Remarks): an exact Strings.LLLL match, else the same primary language with SUBLANG_NEUTRAL,
 *  else any sublanguage of that primary language, else the undecorated [Strings]. Only that
 *  section is used: Microsoft asks for every key to be repeated in each Strings.LLLL section. */
export function chooseStringsSection<T extends { name: string }>(sections: readonly T[], languageId: number): T | undefined {
  let plain: T | undefined;
  let neutral: T | undefined;
  let family: T | undefined;
  const primary = languageId & 0x3ff; // MAKELANGID: low 10 bits primary language, next 6 sublanguage
  for (const section of sections) {
    const match = STRINGS_NAME.exec(section.name);
    if (!match) continue;
    if (match[1] === undefined) {
      plain ??= section;
      continue;
    }
    const id = Number.parseInt(match[1], 16);
    if (id === languageId) return section;
    if ((id & 0x3ff) === primary) {
      if (id >> 10 === 0) neutral ??= section;
      family ??= section;
    }
  }
  return neutral ?? family ?? plain;
}

function isStringsSection(name: string): boolean {
  return STRINGS_NAME.test(name);
}

/** In a Strings section the value is everything after `=`, commas included, unquoted, with
 *  `%%` made `%` [inferred: Microsoft documents quoting for values with commas only implicitly].
 *  Values are not expanded again. The first definition of a key wins, as Windows reads the first
 *  matching line; keys are case-insensitive like every other INF name. */
function readStringsEntry(raw: RawEntry): { key: InfValue; value: InfValue } | undefined {
  const split = splitEntry(raw.text);
  if (split.key === undefined) return undefined;
  return {
    key: { raw: split.key, value: unquoteInf(split.key) },
    value: { raw: split.rest, value: unquoteInf(split.rest).replaceAll('%%', '%') },
  };
}

function collectStrings(section: RawSection | undefined, issues: InfIssue[]): Map<string, string> {
  const strings = new Map<string, string>();
  if (!section) return strings;
  for (const raw of section.entries) {
    const entry = readStringsEntry(raw);
    if (!entry) {
      issues.push({ line: raw.line, message: `[${section.name}] line has no "key = value" form` });
      continue;
    }
    const key = entry.key.value.toLowerCase();
    if (strings.has(key)) issues.push({ line: raw.line, message: `string key "${entry.key.value}" is defined again; the first definition is used` });
    else strings.set(key, entry.value.value);
  }
  return strings;
}

interface Budget {
  total: number;
  where: string;
}

function buildSection(raw: RawSection, strings: ReadonlyMap<string, string>, unresolved: Set<string>, budget: Budget): InfSection {
  const inStrings = isStringsSection(raw.name);
  const entries: InfEntry[] = [];
  for (const line of raw.entries) {
    if (inStrings) {
      const entry = readStringsEntry(line);
      if (entry) {
        entries.push({ line: line.line, key: entry.key, values: [entry.value] });
        continue;
      }
    }
    const split = splitEntry(line.text);
    const expand = (text: string): InfValue => ({ raw: text, value: expandInf(unquoteInf(text), strings, unresolved, budget, line.line) });
    entries.push({
      line: line.line,
      key: split.key === undefined ? undefined : expand(split.key),
      values: split.values.map(expand),
    });
  }
  return { name: raw.name, headerLines: raw.headerLines, entries };
}

/** Replaces %strkey% with its string and `%%` with `%` ("General Syntax Rules for INF Files");
 *  one pass, so a string's own percent signs are never expanded again. Undefined tokens stay as
 *  written: DIRID tokens such as %11% are filled in by Windows at install time. */
function expandInf(text: string, strings: ReadonlyMap<string, string>, unresolved: Set<string>, budget: Budget, line: number): string {
  let out = text;
  if (text.includes('%')) {
    out = '';
    let i = 0;
    while (i < text.length) {
      const next = text.indexOf('%', i);
      if (next < 0) {
        out += text.slice(i);
        break;
      }
      out += text.slice(i, next);
      if (text.charCodeAt(next + 1) === PERCENT) {
        out += '%';
        i = next + 2;
      } else {
        TOKEN.lastIndex = next;
        const token = TOKEN.exec(text);
        if (token) {
          const key = token[0].slice(1, -1);
          const value = strings.get(key.toLowerCase());
          if (value !== undefined) out += value;
          else {
            out += token[0];
            if (!/^-?\d+$/.test(key)) unresolved.add(key);
          }
          i = next + token[0].length;
        } else {
          out += '%';
          i = next + 1;
        }
      }
      if (out.length > INF_MAX_EXPANDED_FIELD) {
        throw new FormatError('DF_INF_TOO_LARGE', `${budget.where}: a value on line ${line} grows past ${INF_MAX_EXPANDED_FIELD} characters after string substitution`, {
          line,
        });
      }
    }
  }
  budget.total += out.length;
  if (budget.total > INF_MAX_EXPANDED_TOTAL) {
    throw new FormatError('DF_INF_TOO_LARGE', `${budget.where}: string substitution produces more than ${INF_MAX_EXPANDED_TOTAL} characters`, { line });
  }
  return out;
}
