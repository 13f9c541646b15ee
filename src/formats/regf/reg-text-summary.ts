// A first look at a .reg file for `deployforge inspect`: its encoding, header version and what
// it would change (keys, key deletions, values, value deletions, root keys). It tokenizes lines
// and continuations only; the full parser and writer belong to the hive engine's .reg module.
import { FormatError } from '../../errors.js';
import { decodeXmlText } from '../unattend/summary.js';

export interface RegTextSummary {
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be';
  byteOrderMark: boolean;
  version: 'Windows Registry Editor Version 5.00' | 'REGEDIT4';
  keys: number;
  keyDeletions: number;
  values: number;
  valueDeletions: number;
  roots: string[];
}

const MAX_BYTES = 64 * 1024 * 1024;

export function summarizeRegText(bytes: Uint8Array, name = '.reg file'): RegTextSummary {
  if (bytes.length > MAX_BYTES) throw new FormatError('DF_REG_TOO_LARGE', `${name} is larger than 64 MiB; split it`);
  const { text, encoding, byteOrderMark } = decodeXmlText(bytes);
  const lines = text.split(/\r\n|\n|\r/);
  const first = lines.findIndex((l) => l.trim() !== '');
  const header = first >= 0 ? lines[first].trim() : '';
  if (header !== 'Windows Registry Editor Version 5.00' && header !== 'REGEDIT4') {
    throw new FormatError('DF_REG_BAD_HEADER', `${name}: first line is '${header.slice(0, 60)}', expected 'Windows Registry Editor Version 5.00' or 'REGEDIT4'`);
  }
  const summary: RegTextSummary = { encoding, byteOrderMark, version: header, keys: 0, keyDeletions: 0, values: 0, valueDeletions: 0, roots: [] };
  const roots = new Set<string>();
  let inKey = false;
  for (let i = first + 1; i < lines.length; i++) {
    let line = lines[i].trim();
    // hex data continues on the next line after a trailing backslash.
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i].trim();
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new FormatError('DF_REG_BAD_LINE', `${name}:${i + 1}: key line does not end with ']'`);
      const deletion = line.startsWith('[-');
      const path = line.slice(deletion ? 2 : 1, -1);
      roots.add(path.split('\\')[0].toUpperCase());
      if (deletion) summary.keyDeletions++;
      else summary.keys++;
      inKey = !deletion;
      continue;
    }
    if (!inKey) throw new FormatError('DF_REG_BAD_LINE', `${name}:${i + 1}: value line outside a key`);
    const match = /^(@|"(?:[^"\\]|\\.)*")\s*=\s*(.*)$/.exec(line);
    if (!match) throw new FormatError('DF_REG_BAD_LINE', `${name}:${i + 1}: expected "name"=data or @=data`);
    if (match[2] === '-') summary.valueDeletions++;
    else summary.values++;
  }
  summary.roots = [...roots].sort();
  return summary;
}
