// Reads an answer file into the typed model (model.ts), keeping element order, comments, CDATA
// and unknown elements and attributes, so write(parse(x)) loses nothing but formatting:
// whitespace-only text between elements is dropped (the writer re-indents), text inside leaf
// elements is kept exactly. It does not validate settings against Microsoft's reference.
import { DOMParser } from '@xmldom/xmldom';
import { FormatError } from '../../errors.js';
import {
  KNOWN_PREFIXES,
  UNATTEND_NAMESPACE,
  type UnattendAttribute,
  type UnattendComment,
  type UnattendComponent,
  type UnattendDocument,
  type UnattendElement,
  type UnattendNode,
  type UnattendProcessingInstruction,
  type UnattendSettings,
  WCM_NAMESPACE,
} from './model.js';
import { decodeXmlText } from './summary.js';

const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';
const MAX_BYTES = 16 * 1024 * 1024;
/** Real answer files nest about ten deep; this only stops hostile input from exhausting the stack. */
const MAX_DEPTH = 200;

// The structural subset of xmldom's DOM that we read; node types from DOM Level 1.
interface DomNode {
  nodeType: number;
  nodeName: string;
  nodeValue: string | null;
  localName?: string | null;
  namespaceURI?: string | null;
  prefix?: string | null;
  firstChild: DomNode | null;
  nextSibling: DomNode | null;
  attributes?: { length: number; item(i: number): DomNode | null };
  data?: string;
  target?: string;
}
const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;
const PROCESSING_INSTRUCTION = 7;
const COMMENT = 8;

/** Parses answer-file bytes (UTF-8 with or without BOM, or UTF-16 with BOM). */
export function parseUnattend(bytes: Uint8Array, name = 'answer file'): UnattendDocument {
  if (bytes.length > MAX_BYTES) throw new FormatError('DF_UNATTEND_TOO_LARGE', `${name} is ${bytes.length} bytes; answer files are far smaller, so this is not one`);
  const { text } = decodeXmlText(bytes);
  const errors: string[] = [];
  const parser = new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') errors.push(String(message).split('\n')[0] ?? '');
    },
  });
  let dom: DomNode;
  try {
    dom = parser.parseFromString(text, 'text/xml') as unknown as DomNode;
  } catch (error) {
    throw new FormatError('DF_UNATTEND_BAD_XML', `${name} is not well-formed XML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (errors.length > 0) throw new FormatError('DF_UNATTEND_BAD_XML', `${name} is not well-formed XML: ${errors[0]}`);

  const prolog: UnattendDocument['prolog'] = [];
  let root: DomNode | undefined;
  for (let n = dom.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT) root = n;
    else if (!root && n.nodeType === COMMENT) prolog.push(readComment(n));
    else if (!root && n.nodeType === PROCESSING_INSTRUCTION && n.nodeName !== 'xml') prolog.push(readPi(n));
  }
  if (root?.localName !== 'unattend') throw new FormatError('DF_UNATTEND_NOT_UNATTEND', `${name}: the root element is '${root?.localName ?? 'none'}', not 'unattend'`);
  // Windows Setup matches components and settings by namespace; a root in another namespace would
  // change meaning if we rewrote it, so refuse rather than guess.
  if (root.namespaceURI !== UNATTEND_NAMESPACE)
    throw new FormatError('DF_UNATTEND_NOT_UNATTEND', `${name}: the root element's namespace is '${root.namespaceURI ?? ''}', not ${UNATTEND_NAMESPACE}`);

  const children: UnattendDocument['children'] = [];
  for (const child of readChildren(root, 1)) {
    if (child.kind === 'element' && child.namespace === undefined && child.localName === 'settings') children.push(toSettings(child));
    else children.push(child);
  }
  return { prolog, attributes: readAttributes(root).attributes, children };
}

function toSettings(e: UnattendElement): UnattendSettings {
  const pass = takeAttribute(e.attributes, 'pass') ?? '';
  return {
    kind: 'settings',
    pass,
    attributes: e.attributes,
    children: e.children.map((c) => (c.kind === 'element' && c.namespace === undefined && c.localName === 'component' ? toComponent(c) : c)),
  };
}

function toComponent(e: UnattendElement): UnattendComponent {
  const attributes = e.attributes;
  const component: UnattendComponent = { kind: 'component', name: takeAttribute(attributes, 'name') ?? '', attributes, children: e.children };
  for (const key of ['processorArchitecture', 'publicKeyToken', 'language', 'versionScope'] as const) {
    const value = takeAttribute(attributes, key);
    if (value !== undefined) component[key] = value;
  }
  // A `wcm:action` on a component is not meaningful; keep it as a plain attribute.
  if (e.action) attributes.push({ localName: 'action', namespace: WCM_NAMESPACE, prefix: 'wcm', value: e.action });
  if (e.keyValue !== undefined) attributes.push({ localName: 'keyValue', namespace: WCM_NAMESPACE, prefix: 'wcm', value: e.keyValue });
  return component;
}

/** Removes the un-namespaced attribute `localName` and returns its value. */
function takeAttribute(attributes: UnattendAttribute[], localName: string): string | undefined {
  const index = attributes.findIndex((a) => a.namespace === undefined && a.localName === localName);
  if (index < 0) return undefined;
  return attributes.splice(index, 1)[0]?.value;
}

function readAttributes(node: DomNode): Pick<UnattendElement, 'attributes' | 'action' | 'keyValue'> {
  const out: Pick<UnattendElement, 'attributes' | 'action' | 'keyValue'> = { attributes: [] };
  const list = node.attributes;
  for (let i = 0; list && i < list.length; i++) {
    const a = list.item(i);
    if (!a || a.namespaceURI === XMLNS_NAMESPACE) continue; // declarations are regenerated by the writer
    const value = a.nodeValue ?? '';
    const localName = a.localName ?? a.nodeName;
    if (a.namespaceURI === WCM_NAMESPACE && localName === 'action' && (value === 'add' || value === 'modify' || value === 'remove')) out.action = value;
    else if (a.namespaceURI === WCM_NAMESPACE && localName === 'keyValue') out.keyValue = value;
    else if (a.namespaceURI) out.attributes.push({ localName, namespace: a.namespaceURI, prefix: KNOWN_PREFIXES[a.namespaceURI] ?? a.prefix ?? undefined, value });
    else out.attributes.push({ localName, value });
  }
  return out;
}

function readElement(node: DomNode, depth: number): UnattendElement {
  if (depth > MAX_DEPTH) throw new FormatError('DF_UNATTEND_TOO_DEEP', `elements nest more than ${MAX_DEPTH} deep; no answer file does that`);
  const e: UnattendElement = { kind: 'element', localName: node.localName ?? node.nodeName, attributes: [], children: [] };
  const uri = node.namespaceURI ?? null;
  if (uri !== UNATTEND_NAMESPACE) {
    e.namespace = uri;
    const prefix = (uri && KNOWN_PREFIXES[uri]) ?? node.prefix ?? undefined;
    if (prefix) e.prefix = prefix;
  }
  const { attributes, action, keyValue } = readAttributes(node);
  if (action) e.action = action;
  if (keyValue !== undefined) e.keyValue = keyValue;
  e.attributes = attributes;
  e.children = readChildren(node, depth + 1);
  return e;
}

/**
 * Children in order. Whitespace-only text is formatting and dropped when the element holds
 * other nodes and no real text; otherwise (a leaf, or mixed content) every text node is kept.
 */
function readChildren(node: DomNode, depth: number): UnattendNode[] {
  const nodes: UnattendNode[] = [];
  for (let n = node.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT) nodes.push(readElement(n, depth));
    else if (n.nodeType === TEXT) nodes.push({ kind: 'text', text: n.data ?? n.nodeValue ?? '' });
    else if (n.nodeType === CDATA) nodes.push({ kind: 'cdata', text: n.data ?? n.nodeValue ?? '' });
    else if (n.nodeType === COMMENT) nodes.push(readComment(n));
    else if (n.nodeType === PROCESSING_INSTRUCTION) nodes.push(readPi(n));
  }
  const hasContent = nodes.some((c) => c.kind === 'cdata' || (c.kind === 'text' && c.text.trim() !== ''));
  const hasMarkup = nodes.some((c) => c.kind === 'element' || c.kind === 'comment' || c.kind === 'pi');
  if (hasContent || !hasMarkup) return mergeText(nodes);
  return nodes.filter((c) => c.kind !== 'text');
}

/** Adjacent text nodes (split by the parser around entities) become one. */
function mergeText(nodes: UnattendNode[]): UnattendNode[] {
  const out: UnattendNode[] = [];
  for (const n of nodes) {
    const last = out.at(-1);
    if (n.kind === 'text' && last?.kind === 'text') last.text += n.text;
    else out.push(n.kind === 'text' ? { ...n } : n);
  }
  return out.filter((n) => !(n.kind === 'text' && n.text === ''));
}

function readComment(n: DomNode): UnattendComment {
  return { kind: 'comment', text: n.data ?? n.nodeValue ?? '' };
}
function readPi(n: DomNode): UnattendProcessingInstruction {
  return { kind: 'pi', target: n.target ?? n.nodeName, data: n.data ?? n.nodeValue ?? '' };
}
