// The typed model of an answer file (unattend.xml / autounattend.xml): configuration passes,
// components with their five identifying attributes, and settings as nested elements that keep
// their order, `wcm:action`/`wcm:keyValue` list-item markers, comments and unknown elements.
// It does not know which settings exist or where they belong; validation against Microsoft's
// reference is a later layer.
import { UNATTEND_NAMESPACE } from './summary.js';

export { UNATTEND_NAMESPACE };

/** WMI configuration-state namespace of `wcm:action` and `wcm:keyValue`. */
export const WCM_NAMESPACE = 'http://schemas.microsoft.com/WMIConfig/2002/State';
export const XSI_NAMESPACE = 'http://www.w3.org/2001/XMLSchema-instance';
export const CPI_NAMESPACE = 'urn:schemas-microsoft-com:cpi';

/** Prefixes the writer always uses for these namespaces, whatever the source used. */
export const KNOWN_PREFIXES: Readonly<Record<string, string>> = {
  [WCM_NAMESPACE]: 'wcm',
  [XSI_NAMESPACE]: 'xsi',
  [CPI_NAMESPACE]: 'cpi',
};

/** The configuration passes in the order Windows Setup runs them (unattend reference, "settings"). */
export const UNATTEND_PASSES = ['windowsPE', 'offlineServicing', 'generalize', 'specialize', 'auditSystem', 'auditUser', 'oobeSystem'] as const;
export type UnattendPass = (typeof UNATTEND_PASSES)[number];

export type ProcessorArchitecture = 'x86' | 'amd64' | 'arm64' | 'wow64' | 'arm';

/** Every inbox component is signed with this token (unattend reference, "component"). */
export const MICROSOFT_PUBLIC_KEY_TOKEN = '31bf3856ad364e35';

/** `wcm:action` on a list item: add a new item, modify or remove the one with the same key. */
export type WcmAction = 'add' | 'modify' | 'remove';

/** An attribute other than a namespace declaration and the typed ones of its element. */
export interface UnattendAttribute {
  localName: string;
  /** Absent: no namespace (the usual case for attributes). */
  namespace?: string;
  /** Prefix to write for a namespaced attribute; known namespaces always use KNOWN_PREFIXES. */
  prefix?: string;
  value: string;
}

export interface UnattendElement {
  kind: 'element';
  localName: string;
  /** Absent: the unattend namespace. `null`: no namespace at all. */
  namespace?: string | null;
  /** Prefix the element was written with, for namespaces other than the unattend one. */
  prefix?: string;
  /** `wcm:action` when it is one of the three values Windows knows. */
  action?: WcmAction;
  /** `wcm:keyValue`: identifies a list item for modify/remove. */
  keyValue?: string;
  attributes: UnattendAttribute[];
  children: UnattendNode[];
}

export interface UnattendText {
  kind: 'text';
  text: string;
}
export interface UnattendCData {
  kind: 'cdata';
  text: string;
}
export interface UnattendComment {
  kind: 'comment';
  text: string;
}
export interface UnattendProcessingInstruction {
  kind: 'pi';
  target: string;
  data: string;
}

export type UnattendNode = UnattendElement | UnattendText | UnattendCData | UnattendComment | UnattendProcessingInstruction;

/** `<component>` in a `<settings>` pass; its children are the settings. */
export interface UnattendComponent {
  kind: 'component';
  name: string;
  processorArchitecture?: string;
  publicKeyToken?: string;
  language?: string;
  versionScope?: string;
  attributes: UnattendAttribute[];
  children: UnattendNode[];
}

/** `<settings pass="…">`. `pass` stays a string so a file with an unknown pass still round-trips. */
export interface UnattendSettings {
  kind: 'settings';
  pass: UnattendPass | (string & {});
  attributes: UnattendAttribute[];
  children: (UnattendComponent | UnattendNode)[];
}

export interface UnattendDocument {
  /** Comments and processing instructions before the root element (not the XML declaration). */
  prolog: (UnattendComment | UnattendProcessingInstruction)[];
  /** Root attributes other than namespace declarations. */
  attributes: UnattendAttribute[];
  /** Children of `<unattend>` in document order: passes, `<servicing>`, comments, unknown elements. */
  children: (UnattendSettings | UnattendNode)[];
}

/** An element in the unattend namespace; a string becomes its text. */
export function element(localName: string, content: string | UnattendNode[] = [], extra: Partial<Pick<UnattendElement, 'action' | 'keyValue'>> = {}): UnattendElement {
  const children: UnattendNode[] = typeof content === 'string' ? (content === '' ? [] : [{ kind: 'text', text: content }]) : content;
  return { kind: 'element', localName, ...extra, attributes: [], children };
}

/** A list item (`wcm:action="add"`), as RunSynchronousCommand, LocalAccount, CreatePartition… */
export function listItem(localName: string, children: UnattendNode[], keyValue?: string): UnattendElement {
  return element(localName, children, keyValue === undefined ? { action: 'add' } : { action: 'add', keyValue });
}

/** The text of an element: its text and CDATA children joined. */
export function textOf(node: UnattendElement | UnattendComponent): string {
  return node.children.map((c) => (c.kind === 'text' || c.kind === 'cdata' ? c.text : '')).join('');
}

/** The settings of `pass`, if the document has them. */
export function findPass(doc: UnattendDocument, pass: string): UnattendSettings | undefined {
  return doc.children.find((c): c is UnattendSettings => c.kind === 'settings' && c.pass === pass);
}

/** The component `name` in `pass`, if present. */
export function findComponent(doc: UnattendDocument, pass: string, name: string): UnattendComponent | undefined {
  return findPass(doc, pass)?.children.find((c): c is UnattendComponent => c.kind === 'component' && c.name === name);
}
