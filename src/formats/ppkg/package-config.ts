// The PackageConfig block of a provisioning package's customizations.xml (stored at
// /Multivariant/0/customizations.xml inside the package, or kept beside it as the WCD source):
// ID, Name, Version, OwnerType, Rank. Parses that one block; the <Settings> tree is not read.
import { DOMParser } from '@xmldom/xmldom';
import { FormatError } from '../../errors.js';

export interface PackageConfig {
  id: string | null;
  name: string | null;
  version: string | null;
  ownerType: string | null;
  rank: number | null;
  notes: string | null;
}

/** Largest customizations.xml accepted; real ones are a few KiB to a few hundred KiB. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

interface XEl {
  nodeType: number;
  localName: string | null;
  nodeName: string;
  textContent: string | null;
  childNodes: { length: number; [i: number]: XEl };
}

function children(node: XEl): XEl[] {
  const out: XEl[] = [];
  for (let i = 0; i < node.childNodes.length; i++) if (node.childNodes[i].nodeType === 1) out.push(node.childNodes[i]);
  return out;
}

function decode(input: string | Uint8Array): string {
  if (typeof input === 'string') return input.replace(/^\uFEFF/, '');
  if (input.length >= 2 && input[0] === 0xff && input[1] === 0xfe) return Buffer.from(input.subarray(2)).toString('utf16le');
  const text = Buffer.from(input).toString('utf8');
  return text.replace(/^\uFEFF/, '');
}

/** Reads WindowsCustomizations/PackageConfig (any namespace) from a customizations.xml. */
export function readPackageConfig(input: string | Uint8Array, name = 'customizations.xml'): PackageConfig {
  if (input.length > MAX_CONFIG_BYTES) {
    throw new FormatError('DF_PPKG_BAD_CUSTOMIZATIONS', `${name}: ${input.length} bytes is too large for a customizations.xml`, { size: input.length });
  }
  let root: XEl | null;
  try {
    const parser = new DOMParser({
      onError(level: string, message: string) {
        if (level !== 'warning') throw new Error(message);
      },
    });
    root = (parser.parseFromString(decode(input), 'text/xml') as unknown as { documentElement: XEl | null }).documentElement;
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
    throw new FormatError('DF_PPKG_BAD_CUSTOMIZATIONS', `${name}: not well-formed XML (${reason})`, { reason });
  }
  if (root?.localName !== 'WindowsCustomizations') {
    throw new FormatError('DF_PPKG_BAD_CUSTOMIZATIONS', `${name}: root element is <${root?.nodeName ?? ''}>, expected <WindowsCustomizations>`, {});
  }
  const config = children(root).find((c) => c.localName === 'PackageConfig');
  if (!config) {
    throw new FormatError('DF_PPKG_BAD_CUSTOMIZATIONS', `${name}: has no <PackageConfig> block; add one with ID, Name, Version, OwnerType and Rank`, {});
  }
  const field = (local: string): string | null => {
    const el = children(config).find((c) => c.localName === local);
    return el ? (el.textContent ?? '').trim() : null;
  };
  const rankText = field('Rank');
  return {
    id: field('ID'),
    name: field('Name'),
    version: field('Version'),
    ownerType: field('OwnerType'),
    rank: rankText !== null && /^\d{1,9}$/.test(rankText) ? Number(rankText) : null,
    notes: field('Notes'),
  };
}
