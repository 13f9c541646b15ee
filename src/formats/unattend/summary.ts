// A first look at an answer file (unattend.xml / autounattend.xml) for `deployforge inspect`:
// encoding and BOM (Windows 11 24H2 Setup rejects a UTF-8 BOM), the configuration passes and
// the components each one sets. Parsing only; the typed model and generator come later.
import { DOMParser } from '@xmldom/xmldom';
import { FormatError } from '../../errors.js';

export const UNATTEND_NAMESPACE = 'urn:schemas-microsoft-com:unattend';

export interface UnattendSummary {
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be';
  byteOrderMark: boolean;
  passes: { pass: string; components: string[] }[];
  /** Components without a processorArchitecture, or passes Windows does not know. */
  warnings: string[];
}

const KNOWN_PASSES = new Set(['windowsPE', 'offlineServicing', 'generalize', 'specialize', 'auditSystem', 'auditUser', 'oobeSystem']);
const MAX_BYTES = 16 * 1024 * 1024;

export function decodeXmlText(bytes: Uint8Array): { text: string; encoding: UnattendSummary['encoding']; byteOrderMark: boolean } {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe)
    return { text: Buffer.from(bytes.subarray(2, bytes.length & ~1)).toString('utf16le'), encoding: 'utf-16le', byteOrderMark: true };
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2, 2 + ((bytes.length - 2) & ~1)));
    swapped.swap16();
    return { text: swapped.toString('utf16le'), encoding: 'utf-16be', byteOrderMark: true };
  }
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return { text: Buffer.from(bytes.subarray(bom ? 3 : 0)).toString('utf8'), encoding: 'utf-8', byteOrderMark: bom };
}

export function summarizeUnattend(bytes: Uint8Array, name = 'answer file'): UnattendSummary {
  if (bytes.length > MAX_BYTES) throw new FormatError('DF_UNATTEND_TOO_LARGE', `${name} is ${bytes.length} bytes; answer files are far smaller, so this is not one`);
  const { text, encoding, byteOrderMark } = decodeXmlText(bytes);
  const errors: string[] = [];
  const parser = new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') errors.push(String(message).split('\n')[0]);
    },
  });
  let doc: ReturnType<DOMParser['parseFromString']>;
  try {
    doc = parser.parseFromString(text, 'text/xml');
  } catch (error) {
    throw new FormatError('DF_UNATTEND_BAD_XML', `${name} is not well-formed XML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (errors.length > 0) throw new FormatError('DF_UNATTEND_BAD_XML', `${name} is not well-formed XML: ${errors[0]}`);
  const root = doc.documentElement;
  if (root?.localName !== 'unattend') throw new FormatError('DF_UNATTEND_NOT_UNATTEND', `${name}: the root element is '${root?.localName ?? 'none'}', not 'unattend'`);
  const warnings: string[] = [];
  if (root.namespaceURI !== UNATTEND_NAMESPACE) warnings.push(`root element namespace is '${root.namespaceURI ?? ''}', expected ${UNATTEND_NAMESPACE}`);
  if (byteOrderMark && encoding === 'utf-8') warnings.push('UTF-8 byte-order mark present: Windows 11 24H2 Setup rejects such answer files');
  const passes: UnattendSummary['passes'] = [];
  const settings = root.getElementsByTagNameNS(UNATTEND_NAMESPACE, 'settings');
  for (let i = 0; i < settings.length; i++) {
    const element = settings.item(i);
    if (!element) continue;
    const pass = element.getAttribute('pass') ?? '';
    if (!KNOWN_PASSES.has(pass)) warnings.push(`unknown configuration pass '${pass}'`);
    const components: string[] = [];
    for (let c = element.firstChild; c; c = c.nextSibling) {
      if (c.nodeType !== 1) continue;
      const component = c as unknown as { localName: string; getAttribute(n: string): string | null };
      if (component.localName !== 'component') continue;
      const componentName = component.getAttribute('name') ?? '?';
      components.push(componentName);
      if (!component.getAttribute('processorArchitecture')) warnings.push(`${pass}/${componentName} has no processorArchitecture`);
    }
    passes.push({ pass, components });
  }
  return { encoding, byteOrderMark, passes, warnings };
}
