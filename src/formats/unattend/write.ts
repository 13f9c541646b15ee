// Writes the model (model.ts) as answer-file bytes: UTF-8 without a byte-order mark (Windows 11
// 24H2 Setup rejects a file that starts with one), `<?xml version="1.0" encoding="utf-8"?>`,
// two-space indentation, LF line ends, namespace declarations on the root only (plus a local
// default namespace for foreign elements such as schneegans' `<Extensions>`). The same model
// always gives the same bytes. It does not reorder anything: order is the model's.
import { InputError } from '../../errors.js';
import {
  KNOWN_PREFIXES,
  UNATTEND_NAMESPACE,
  type UnattendAttribute,
  type UnattendComponent,
  type UnattendDocument,
  type UnattendElement,
  type UnattendNode,
  type UnattendSettings,
  WCM_NAMESPACE,
} from './model.js';

type AnyNode = UnattendSettings | UnattendComponent | UnattendNode;

export function writeUnattend(doc: UnattendDocument): Uint8Array {
  const prefixes = collectPrefixes(doc);
  const lines: string[] = ['<?xml version="1.0" encoding="utf-8"?>'];
  for (const p of doc.prolog) lines.push(p.kind === 'comment' ? comment(p.text) : pi(p.target, p.data));
  const declarations = [` xmlns="${UNATTEND_NAMESPACE}"`, ...[...prefixes.byUri].map(([uri, prefix]) => ` xmlns:${prefix}="${escapeAttribute(uri)}"`)].join('');
  const root: UnattendElement = { kind: 'element', localName: 'unattend', attributes: doc.attributes, children: doc.children as UnattendNode[] };
  writeNode(root, 0, UNATTEND_NAMESPACE, prefixes, lines, declarations);
  return new Uint8Array(Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
}

interface Prefixes {
  /** Namespace URI → prefix, in first-use order; wcm first. */
  byUri: Map<string, string>;
}

/** Every namespace used with a prefix gets one root declaration; clashing prefixes are renamed. */
function collectPrefixes(doc: UnattendDocument): Prefixes {
  const byUri = new Map<string, string>([[WCM_NAMESPACE, 'wcm']]);
  const taken = new Set(['wcm', 'xml', 'xmlns']);
  const want = (uri: string, prefix: string | undefined) => {
    if (byUri.has(uri)) return;
    let chosen = KNOWN_PREFIXES[uri] ?? prefix;
    if (!chosen || taken.has(chosen)) {
      let i = 1;
      while (taken.has(`ns${i}`)) i++;
      chosen = `ns${i}`;
    }
    byUri.set(uri, chosen);
    taken.add(chosen);
  };
  const visit = (node: AnyNode) => {
    if (node.kind !== 'element' && node.kind !== 'component' && node.kind !== 'settings') return;
    if (node.kind === 'element' && node.namespace && node.prefix) want(node.namespace, node.prefix);
    for (const a of node.attributes) if (a.namespace) want(a.namespace, a.prefix);
    for (const c of node.children) visit(c);
  };
  for (const a of doc.attributes) if (a.namespace) want(a.namespace, a.prefix);
  for (const c of doc.children) visit(c);
  return { byUri };
}

function writeNode(node: AnyNode, depth: number, defaultNs: string, prefixes: Prefixes, lines: string[], extra = ''): void {
  const indent = '  '.repeat(depth);
  if (node.kind === 'comment') return void lines.push(indent + comment(node.text));
  if (node.kind === 'pi') return void lines.push(indent + pi(node.target, node.data));
  if (node.kind === 'text' || node.kind === 'cdata') return void lines.push(indent + inline(node, prefixes, defaultNs));
  const { open, name, ns } = openTag(node, defaultNs, prefixes, extra);
  if (node.children.length === 0) return void lines.push(`${indent}${open}/>`);
  if (node.children.some((c) => c.kind === 'text' || c.kind === 'cdata')) {
    // Leaf or mixed content: written on one line so no whitespace is added to the text.
    lines.push(`${indent}${open}>${node.children.map((c) => inline(c, prefixes, ns)).join('')}</${name}>`);
    return;
  }
  lines.push(`${indent}${open}>`);
  for (const c of node.children) writeNode(c, depth + 1, ns, prefixes, lines);
  lines.push(`${indent}</${name}>`);
}

/** Start tag without its closing `>` or `/>`, the qualified name, and the default namespace inside. */
function openTag(node: UnattendSettings | UnattendComponent | UnattendElement, defaultNs: string, prefixes: Prefixes, extra: string): { open: string; name: string; ns: string } {
  let name: string;
  let ns = defaultNs;
  let declaration = '';
  const attributes: [string, string][] = [];
  if (node.kind === 'settings') {
    name = 'settings';
    attributes.push(['pass', node.pass]);
  } else if (node.kind === 'component') {
    name = 'component';
    attributes.push(['name', node.name]);
    for (const key of ['processorArchitecture', 'publicKeyToken', 'language', 'versionScope'] as const) {
      const value = node[key];
      if (value !== undefined) attributes.push([key, value]);
    }
  } else {
    const uri = node.namespace === undefined ? UNATTEND_NAMESPACE : node.namespace;
    const prefix = uri && node.prefix ? prefixes.byUri.get(uri) : undefined;
    if (prefix) name = `${prefix}:${node.localName}`;
    else {
      name = node.localName;
      if ((uri ?? '') !== defaultNs) {
        ns = uri ?? '';
        declaration = ` xmlns="${escapeAttribute(ns)}"`;
      }
    }
    if (node.action) attributes.push(['wcm:action', node.action]);
    if (node.keyValue !== undefined) attributes.push(['wcm:keyValue', node.keyValue]);
  }
  for (const a of node.attributes) attributes.push([qualifiedAttribute(a, prefixes), a.value]);
  const text = attributes.map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`).join('');
  return { open: `<${name}${extra}${declaration}${text}`, name, ns };
}

function qualifiedAttribute(a: UnattendAttribute, prefixes: Prefixes): string {
  if (!a.namespace) return a.localName;
  return `${prefixes.byUri.get(a.namespace)}:${a.localName}`;
}

function inline(node: AnyNode, prefixes: Prefixes, defaultNs: string): string {
  switch (node.kind) {
    case 'text':
      return escapeText(node.text);
    case 'cdata':
      checkChars(node.text);
      return `<![CDATA[${node.text.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
    case 'comment':
      return comment(node.text);
    case 'pi':
      return pi(node.target, node.data);
    default: {
      const lines: string[] = [];
      writeInline(node, defaultNs, prefixes, lines);
      return lines.join('');
    }
  }
}

/** Elements inside mixed content: no indentation anywhere below, so text keeps its exact value. */
function writeInline(node: UnattendSettings | UnattendComponent | UnattendElement, defaultNs: string, prefixes: Prefixes, out: string[]): void {
  const { open, name, ns } = openTag(node, defaultNs, prefixes, '');
  if (node.children.length === 0) return void out.push(`${open}/>`);
  out.push(`${open}>`, ...node.children.map((c) => inline(c, prefixes, ns)), `</${name}>`);
}

// XML 1.0 §2.2: these code points cannot appear in a document at all, not even as references.
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

function checkChars(text: string): void {
  if (FORBIDDEN.test(text))
    throw new InputError(
      'DF_UNATTEND_BAD_CHAR',
      `answer-file text contains a control character XML cannot carry (U+${text.match(FORBIDDEN)?.[0]?.codePointAt(0)?.toString(16).padStart(4, '0')})`,
    );
}

function escapeText(text: string): string {
  checkChars(text);
  // `\r` would be turned into `\n` by the next parser; a reference keeps it.
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('\r', '&#13;');
}

function escapeAttribute(text: string): string {
  checkChars(text);
  // Tabs and line ends in attributes are normalized to spaces by parsers unless referenced.
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('"', '&quot;').replaceAll('\t', '&#9;').replaceAll('\n', '&#10;').replaceAll('\r', '&#13;');
}

function comment(text: string): string {
  checkChars(text);
  if (text.includes('--') || text.endsWith('-')) throw new InputError('DF_UNATTEND_BAD_COMMENT', 'an XML comment cannot contain "--" or end with "-"');
  return `<!--${text}-->`;
}

function pi(target: string, data: string): string {
  checkChars(data);
  if (data.includes('?>')) throw new InputError('DF_UNATTEND_BAD_COMMENT', 'a processing instruction cannot contain "?>"');
  return data ? `<?${target} ${data}?>` : `<?${target}?>`;
}
