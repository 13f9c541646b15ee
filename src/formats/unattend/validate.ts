// Checks an answer file the way Windows Setup and Windows SIM would, before it reaches a machine:
// encoding and byte-order mark, well-formed XML, passes, components and settings against the
// reference table (components.ts), value types, list items, architecture, accounts, hidden
// passwords and disk layouts that cannot work. It returns every finding with a severity, an
// XPath and a stable code; it never throws for malformed input. It changes nothing.
import { DOMParser } from '@xmldom/xmldom';
import { DeployForgeError } from '../../errors.js';
import { type ComponentSpec, PROCESSOR_ARCHITECTURES, type SettingSpec, type SettingTable, UNATTEND_COMPONENTS, type WindowsVersion } from './components.js';
import {
  MICROSOFT_PUBLIC_KEY_TOKEN,
  textOf,
  UNATTEND_PASSES,
  type UnattendComponent,
  type UnattendDocument,
  type UnattendElement,
  type UnattendNode,
  type UnattendSettings,
  WCM_NAMESPACE,
} from './model.js';
import { parseUnattend } from './parse.js';

export type UnattendSeverity = 'error' | 'warning' | 'info';

/** Every finding code with its usual severity; codes are stable, messages are not. */
export const UNATTEND_FINDING_CODES = {
  'too-large': 'error',
  'invalid-encoding': 'error',
  'encoding-mismatch': 'warning',
  'utf8-bom': 'error',
  'invalid-character': 'error',
  'not-well-formed': 'error',
  'not-unattend': 'error',
  'too-deep': 'error',
  'unknown-pass': 'error',
  'duplicate-pass': 'warning',
  'no-windowspe': 'info',
  'unknown-element': 'warning',
  'unexpected-text': 'warning',
  'missing-component-name': 'error',
  'unknown-component': 'warning',
  'component-wrong-pass': 'error',
  'deprecated-component': 'warning',
  'not-in-version': 'warning',
  'duplicate-component': 'error',
  'missing-architecture': 'error',
  'invalid-architecture': 'error',
  'architecture-mismatch': 'error',
  'public-key-token': 'warning',
  'missing-component-attribute': 'warning',
  'unknown-setting': 'warning',
  'setting-wrong-pass': 'warning',
  'deprecated-setting': 'warning',
  'duplicate-setting': 'error',
  'invalid-value': 'error',
  'empty-value': 'warning',
  'invalid-action': 'warning',
  'list-item-no-action': 'warning',
  'list-item-no-key': 'warning',
  'duplicate-list-key': 'error',
  'account-name-invalid': 'error',
  'account-name-reserved': 'error',
  'autologon-unknown-account': 'warning',
  'password-not-base64': 'error',
  'password-not-utf16': 'error',
  'password-suffix': 'error',
  'password-plain-text': 'info',
  'disk-mixed-styles': 'error',
  'disk-too-many-primary': 'error',
  'disk-multiple-extended': 'error',
  'disk-logical-without-extended': 'error',
  'partition-size-and-extend': 'error',
  'partition-no-size': 'error',
  'partition-extend-not-last': 'error',
  'modify-unknown-partition': 'error',
  'format-msr': 'error',
  'efi-not-fat32': 'error',
  'install-to-conflict': 'error',
  'install-to-unknown-disk': 'warning',
  'install-to-unknown-partition': 'error',
  'install-to-system-partition': 'error',
} as const satisfies Record<string, UnattendSeverity>;
export type UnattendFindingCode = keyof typeof UNATTEND_FINDING_CODES;

export interface UnattendFinding {
  severity: UnattendSeverity;
  /** Where, e.g. /unattend/settings[@pass='windowsPE']/component[@name='Microsoft-Windows-Setup']/UserData/AcceptEula. */
  xpath: string;
  code: UnattendFindingCode;
  message: string;
  /** 1-based line, for findings about the bytes rather than the tree. */
  line?: number;
}

export interface ValidateUnattendOptions {
  /** Name used in messages; `autounattend.xml` also implies `autounattend`. */
  file?: string;
  /** Warn about components and settings this release does not have. */
  target?: WindowsVersion;
  /** The file is meant for Setup media (autounattend.xml), so it should have a windowsPE pass. */
  autounattend?: boolean;
}

const MAX_BYTES = 16 * 1024 * 1024;
const MAX_MESSAGE = 300;
const ROOT = '/unattend';
// XML 1.0 §2.2: code points a document may not contain at all.
const FORBIDDEN_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

class Findings {
  readonly list: UnattendFinding[] = [];
  add(code: UnattendFindingCode, xpath: string, message: string, extra: { severity?: UnattendSeverity; line?: number } = {}): void {
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
    const finding: UnattendFinding = { severity: extra.severity ?? UNATTEND_FINDING_CODES[code], xpath, code, message: text };
    if (extra.line !== undefined) finding.line = extra.line;
    this.list.push(finding);
  }
}

/** Validates answer-file bytes; malformed input gives findings, not exceptions. */
export function validateUnattend(bytes: Uint8Array, options: ValidateUnattendOptions = {}): UnattendFinding[] {
  const findings = new Findings();
  const name = options.file ?? 'answer file';
  if (bytes.length > MAX_BYTES) {
    findings.add('too-large', '/', `${name} is ${bytes.length} bytes; answer files are far smaller, so this is not one`);
    return findings.list;
  }
  const text = checkEncoding(bytes, findings);
  if (text === undefined) return findings.list;
  checkCharacters(text, findings);

  let doc: UnattendDocument;
  try {
    doc = parseUnattend(bytes, name);
  } catch (error) {
    if (!(error instanceof DeployForgeError)) throw error;
    reportParseError(error, text, findings);
    return findings.list;
  }
  new DocumentChecker(findings, options).check(doc);
  return findings.list;
}

// ---------------------------------------------------------------------------------------------
// Bytes: encoding, byte-order mark, forbidden characters, well-formedness.

function checkEncoding(bytes: Uint8Array, findings: Findings): string | undefined {
  const b0 = bytes[0];
  const b1 = bytes[1];
  let text: string;
  let actual: 'utf-8' | 'utf-16';
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
    actual = 'utf-16';
    const body = Buffer.from(bytes.subarray(2));
    if (body.length % 2 !== 0) {
      findings.add('invalid-encoding', '/', 'the file starts with a UTF-16 byte-order mark but has an odd number of bytes: it is truncated or not UTF-16');
      return undefined;
    }
    if (b0 === 0xfe) body.swap16();
    try {
      text = new TextDecoder('utf-16le', { fatal: true }).decode(body);
    } catch {
      findings.add('invalid-encoding', '/', 'the file is not valid UTF-16 (an unpaired surrogate): save it again as UTF-8');
      return undefined;
    }
  } else if (b0 === 0x3c && b1 === 0x00) {
    findings.add('invalid-encoding', '/', 'the file looks like UTF-16 without a byte-order mark: save it as UTF-8 (without BOM)');
    return undefined;
  } else {
    actual = 'utf-8';
    const bom = b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf;
    if (bom) findings.add('utf8-bom', '/', 'the file starts with a UTF-8 byte-order mark, which Windows 11 24H2 Setup rejects: save it as UTF-8 without BOM', { line: 1 });
    const body = bytes.subarray(bom ? 3 : 0);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      const loose = Buffer.from(body).toString('utf8');
      findings.add('invalid-encoding', '/', 'the file is not valid UTF-8: save it as UTF-8 (without BOM)', { line: lineAt(loose, loose.indexOf('\ufffd')) });
      return undefined;
    }
  }
  const declared = /^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']/.exec(text)?.[1]?.toLowerCase();
  if (declared !== undefined) {
    const family = ['utf-8', 'utf8', 'us-ascii', 'ascii'].includes(declared) ? 'utf-8' : declared.startsWith('utf-16') || declared === 'unicode' ? 'utf-16' : 'other';
    if (family !== actual)
      findings.add('encoding-mismatch', '/', `the XML declaration says encoding="${declared}" but the bytes are ${actual.toUpperCase()}: make them agree (UTF-8 is best)`, {
        line: 1,
      });
  }
  return text;
}

function checkCharacters(text: string, findings: Findings): void {
  const match = FORBIDDEN_CHAR.exec(text);
  if (!match) return;
  const code = match[0].codePointAt(0)?.toString(16).padStart(4, '0');
  findings.add('invalid-character', '/', `the file contains U+${code}, a character XML does not allow anywhere (not even escaped): remove it`, {
    line: lineAt(text, match.index),
  });
}

function reportParseError(error: DeployForgeError, text: string, findings: Findings): void {
  const message = error.message.split('\n')[0] ?? error.message;
  switch (error.code) {
    case 'DF_UNATTEND_BAD_XML':
      findings.add('not-well-formed', '/', message, { line: locateXmlError(text) });
      return;
    case 'DF_UNATTEND_NOT_UNATTEND':
      findings.add('not-unattend', '/', `${message}: an answer file is <unattend xmlns="urn:schemas-microsoft-com:unattend">`);
      return;
    case 'DF_UNATTEND_TOO_DEEP':
      findings.add('too-deep', '/', message);
      return;
    case 'DF_UNATTEND_TOO_LARGE':
      findings.add('too-large', '/', message);
      return;
    default:
      findings.add('not-well-formed', '/', message);
  }
}

/** Line of the first XML error, from a second parse that stops at it. */
function locateXmlError(text: string): number | undefined {
  let line: number | undefined;
  try {
    new DOMParser({
      onError: (level, _message, context) => {
        if (level === 'warning') return;
        line ??= (context as { locator?: { lineNumber?: number } } | undefined)?.locator?.lineNumber;
        throw new Error('stop');
      },
    }).parseFromString(text, 'text/xml');
  } catch {
    // The parse stops at the first error; only its position matters here.
  }
  return line;
}

function lineAt(text: string, index: number): number | undefined {
  if (index < 0) return undefined;
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

// ---------------------------------------------------------------------------------------------
// The tree: passes, components, settings.

const KNOWN_PASSES: ReadonlySet<string> = new Set(UNATTEND_PASSES);
const COMPONENT_NAMES_LOWER = new Map(Object.keys(UNATTEND_COMPONENTS).map((n) => [n.toLowerCase(), n]));

// Names Windows already uses for built-in accounts and local groups; a LocalAccount with one of
// them collides with the existing account or group and OOBE fails to create it. NONE is named
// as restricted on the reference's LocalAccount/Name page.
const RESERVED_ACCOUNT_NAMES = new Set(['administrator', 'guest', 'defaultaccount', 'wdagutilityaccount', 'none', 'system', 'administrators', 'users', 'guests', 'everyone']);
// …/microsoft-windows-shell-setup-useraccounts-localaccounts-localaccount-name: do not use
// " / \ [ ] : | < > + = ; , ? * % @. The SAM limits user logon names to 20 characters.
const ACCOUNT_NAME_FORBIDDEN = /["/\\[\]:|<>+=;,?*%@]/;
const MAX_ACCOUNT_NAME = 20;

interface PassContext {
  pass: string;
  /** Known pass name, or undefined when the pass itself is unknown (then pass checks are skipped). */
  knownPass: string | undefined;
  component: string;
}

interface SeenComponent {
  component: UnattendComponent;
  xpath: string;
  pass: string;
}

class DocumentChecker {
  private readonly components: SeenComponent[] = [];

  constructor(
    private readonly findings: Findings,
    private readonly options: ValidateUnattendOptions,
  ) {}

  check(doc: UnattendDocument): void {
    const passCounts = countBy(
      doc.children.filter((c): c is UnattendSettings => c.kind === 'settings'),
      (s) => s.pass,
    );
    const passSeen = new Map<string, number>();
    for (const child of doc.children) {
      if (child.kind === 'settings') {
        const n = (passSeen.get(child.pass) ?? 0) + 1;
        passSeen.set(child.pass, n);
        const xpath = `${ROOT}/settings[@pass=${quote(child.pass)}]${(passCounts.get(child.pass) ?? 0) > 1 ? `[${n}]` : ''}`;
        if (n === 2) this.findings.add('duplicate-pass', xpath, `the pass '${child.pass}' appears more than once; Setup may read only one of them: merge them into one <settings>`);
        this.checkPass(child, xpath);
      } else if (child.kind === 'element') {
        if (child.namespace === undefined && child.localName !== 'servicing')
          this.findings.add('unknown-element', `${ROOT}/${child.localName}`, `<${child.localName}> is not an answer-file element here; only <settings> and <servicing> are`);
      } else if ((child.kind === 'text' || child.kind === 'cdata') && child.text.trim() !== '') {
        this.findings.add('unexpected-text', ROOT, 'text directly inside <unattend> is ignored: remove it');
      }
    }
    this.checkArchitectures();
    this.checkAutoLogon();
    const autounattend = this.options.autounattend ?? /(^|[\\/])autounattend\.xml$/i.test(this.options.file ?? '');
    if (autounattend && !passSeen.has('windowsPE'))
      this.findings.add(
        'no-windowspe',
        ROOT,
        'an autounattend.xml without a windowsPE pass leaves the first Setup screens (language, disk, edition) to the user: add one if the install should be unattended',
      );
  }

  private checkPass(settings: UnattendSettings, xpath: string): void {
    const knownPass = KNOWN_PASSES.has(settings.pass) ? settings.pass : undefined;
    if (!knownPass) {
      const hint = UNATTEND_PASSES.find((p) => p.toLowerCase() === settings.pass.toLowerCase());
      this.findings.add(
        'unknown-pass',
        xpath,
        settings.pass === ''
          ? '<settings> has no pass attribute: name one of the seven configuration passes'
          : `'${settings.pass}' is not a configuration pass${hint ? ` (pass names are case-sensitive: '${hint}')` : `; the passes are ${UNATTEND_PASSES.join(', ')}`}`,
      );
    }
    const components = settings.children.filter((c): c is UnattendComponent => c.kind === 'component');
    const sameName = countBy(components, (c) => c.name);
    const seenName = new Map<string, number>();
    const identities = new Set<string>();
    for (const child of settings.children) {
      if (child.kind === 'component') {
        const n = (seenName.get(child.name) ?? 0) + 1;
        seenName.set(child.name, n);
        const componentXpath = `${xpath}/component[@name=${quote(child.name)}]${(sameName.get(child.name) ?? 0) > 1 ? `[${n}]` : ''}`;
        const identity = `${child.name}|${child.processorArchitecture ?? ''}|${child.language ?? ''}`;
        if (identities.has(identity))
          this.findings.add(
            'duplicate-component',
            componentXpath,
            `${child.name} (${child.processorArchitecture ?? 'no architecture'}) appears twice in ${settings.pass}: Setup fails on the second one, merge their settings`,
          );
        identities.add(identity);
        this.components.push({ component: child, xpath: componentXpath, pass: settings.pass });
        this.checkComponent(child, componentXpath, { pass: settings.pass, knownPass, component: child.name });
      } else if (child.kind === 'element' && child.namespace === undefined) {
        this.findings.add('unknown-element', `${xpath}/${child.localName}`, `<${child.localName}> cannot stand in <settings>; settings belong inside a <component>`);
      } else if ((child.kind === 'text' || child.kind === 'cdata') && child.text.trim() !== '') {
        this.findings.add('unexpected-text', xpath, 'text directly inside <settings> is ignored: remove it');
      }
    }
  }

  private checkComponent(component: UnattendComponent, xpath: string, ctx: PassContext): void {
    if (component.name === '') {
      this.findings.add('missing-component-name', xpath, '<component> has no name attribute, so Setup cannot apply it');
      return;
    }
    this.checkIdentity(component, xpath);
    const spec: ComponentSpec | undefined = Object.hasOwn(UNATTEND_COMPONENTS, component.name) ? UNATTEND_COMPONENTS[component.name] : undefined;
    if (!spec) {
      const hint = COMPONENT_NAMES_LOWER.get(component.name.toLowerCase());
      this.findings.add(
        'unknown-component',
        xpath,
        hint
          ? `${component.name} is not a known component; names are case-sensitive: did you mean ${hint}?`
          : `${component.name} is not in DeployForge's component table; if it is a newer or optional component, check its name and pass in Microsoft's unattend reference`,
      );
      return;
    }
    if (ctx.knownPass && !spec.passes.includes(ctx.knownPass as never))
      this.findings.add(
        'component-wrong-pass',
        xpath,
        `${component.name} is not valid in the ${ctx.pass} pass (valid: ${spec.passes.join(', ')}); Setup ignores or rejects it: move it (see ${spec.source})`,
      );
    if (spec.deprecated) this.findings.add('deprecated-component', xpath, `${component.name}: ${spec.deprecated}`);
    const target = this.options.target;
    if (target && !spec.versions.includes(target)) this.findings.add('not-in-version', xpath, `${component.name} is not part of ${target}; Setup ignores it there`);
    this.checkChildren(component.children, spec.settings, ctx, xpath, spec.partial === true);
    if (component.name === 'Microsoft-Windows-Setup') checkDisks(component, xpath, this.findings);
  }

  private checkIdentity(component: UnattendComponent, xpath: string): void {
    const arch = component.processorArchitecture;
    if (arch === undefined || arch === '')
      this.findings.add(
        'missing-architecture',
        xpath,
        `${component.name} has no processorArchitecture; Setup applies only components that match the image (x86, amd64, arm64 or wow64)`,
      );
    else if (!(PROCESSOR_ARCHITECTURES as readonly string[]).includes(arch))
      this.findings.add(
        'invalid-architecture',
        xpath,
        `processorArchitecture '${arch}' is not one of ${PROCESSOR_ARCHITECTURES.join(', ')}; Setup will not apply ${component.name}`,
      );
    if (component.publicKeyToken === undefined || component.publicKeyToken.toLowerCase() !== MICROSOFT_PUBLIC_KEY_TOKEN)
      this.findings.add(
        'public-key-token',
        xpath,
        `publicKeyToken is '${component.publicKeyToken ?? ''}'; inbox components are signed with ${MICROSOFT_PUBLIC_KEY_TOKEN}, so Setup may not match this one`,
      );
    for (const key of ['language', 'versionScope'] as const)
      if (component[key] === undefined)
        this.findings.add('missing-component-attribute', xpath, `${component.name} has no ${key} attribute (Windows SIM writes ${key === 'language' ? 'neutral' : 'nonSxS'})`);
  }

  /**
   * Settings under a component or a complex setting: known names, duplicates, then each one. A
   * list whose table name equals its item name (Disk, MetaData, DomainAccount) repeats the items
   * here without a wrapper element.
   */
  private checkChildren(children: UnattendNode[], table: SettingTable, ctx: PassContext, xpath: string, partial: boolean): void {
    const elements = children.filter((c): c is UnattendElement => c.kind === 'element' && c.namespace === undefined);
    const counts = countBy(elements, (e) => e.localName);
    const seen = new Map<string, number>();
    const itemKeys = new Map<string, Map<string, string>>();
    for (const child of children) {
      if ((child.kind === 'text' || child.kind === 'cdata') && child.text.trim() !== '') {
        this.findings.add('invalid-value', xpath, 'text mixed in with nested settings: this setting takes nested settings, not a value');
        continue;
      }
      if (child.kind !== 'element' || child.namespace !== undefined) continue;
      const n = (seen.get(child.localName) ?? 0) + 1;
      seen.set(child.localName, n);
      const childXpath = `${xpath}/${child.localName}${(counts.get(child.localName) ?? 0) > 1 ? `[${n}]` : ''}`;
      const spec = Object.hasOwn(table, child.localName) ? table[child.localName] : undefined;
      if (!spec) {
        const hint = Object.keys(table).find((k) => k.toLowerCase() === child.localName.toLowerCase());
        this.findings.add(
          'unknown-setting',
          childXpath,
          hint
            ? `${child.localName} is not a setting of ${ctx.component} here; names are case-sensitive: did you mean ${hint}?`
            : `${child.localName} is not a setting DeployForge knows in ${ctx.component} here; Setup ignores or rejects unknown settings: check the spelling and the parent`,
          partial && !hint ? { severity: 'info' } : {},
        );
        continue;
      }
      if (spec.type === 'list' && spec.item === child.localName) {
        this.checkSettingHeader(child, spec, ctx, childXpath);
        const keys = itemKeys.get(child.localName) ?? new Map<string, string>();
        itemKeys.set(child.localName, keys);
        this.checkItem(child, spec.item, spec.key, spec.children, ctx, childXpath, keys);
        continue;
      }
      if (n === 2) this.findings.add('duplicate-setting', childXpath, `${child.localName} is set more than once; Setup fails on a repeated setting: keep one`);
      this.checkSetting(child, spec, ctx, childXpath);
    }
  }

  /** Pass, deprecation, release and wcm:action checks that apply to any setting. */
  private checkSettingHeader(element: UnattendElement, spec: SettingSpec, ctx: PassContext, xpath: string): void {
    if (spec.passes && ctx.knownPass && !spec.passes.includes(ctx.knownPass as never))
      this.findings.add(
        'setting-wrong-pass',
        xpath,
        `${element.localName} is not valid in the ${ctx.pass} pass (valid: ${spec.passes.join(', ')}); Setup ignores it there: move it`,
      );
    if (spec.deprecated) this.findings.add('deprecated-setting', xpath, `${element.localName} is deprecated: ${spec.deprecated}`);
    const target = this.options.target;
    if (target && spec.versions && !spec.versions.includes(target)) this.findings.add('not-in-version', xpath, `${element.localName} has no effect on ${target}`);
    this.checkActionAttribute(element, xpath);
  }

  private checkSetting(element: UnattendElement, spec: SettingSpec, ctx: PassContext, xpath: string): void {
    this.checkSettingHeader(element, spec, ctx, xpath);
    switch (spec.type) {
      case 'complex':
        this.checkChildren(element.children, spec.children, ctx, xpath, false);
        if (spec.password) checkPassword(element, xpath, this.findings);
        return;
      case 'list':
        this.checkList(element, spec.item, spec.key, spec.children, ctx, xpath);
        return;
      default:
        if (element.children.some((c) => c.kind === 'element')) {
          this.findings.add('invalid-value', xpath, `${element.localName} takes a value, not nested elements`);
          return;
        }
        checkValue(element.localName, textOf(element), spec, xpath, this.findings);
    }
  }

  /** A wrapped list such as RunSynchronous: only items, each checked by checkItem. */
  private checkList(element: UnattendElement, item: string, key: string, table: SettingTable, ctx: PassContext, xpath: string): void {
    const items = element.children.filter((c): c is UnattendElement => c.kind === 'element' && c.namespace === undefined);
    const counts = countBy(items, (e) => e.localName);
    const seen = new Map<string, number>();
    const keys = new Map<string, string>();
    for (const child of element.children) {
      if ((child.kind === 'text' || child.kind === 'cdata') && child.text.trim() !== '') {
        this.findings.add('invalid-value', xpath, `${element.localName} is a list of <${item}> items, not a value`);
        continue;
      }
      if (child.kind !== 'element' || child.namespace !== undefined) continue;
      const n = (seen.get(child.localName) ?? 0) + 1;
      seen.set(child.localName, n);
      const itemXpath = `${xpath}/${child.localName}${(counts.get(child.localName) ?? 0) > 1 ? `[${n}]` : ''}`;
      if (child.localName !== item) {
        this.findings.add('unknown-setting', itemXpath, `<${element.localName}> holds <${item}> items, not <${child.localName}>`);
        continue;
      }
      this.checkActionAttribute(child, itemXpath);
      this.checkItem(child, item, key, table, ctx, itemXpath, keys);
    }
  }

  /** A list item: `wcm:action`, a key no earlier sibling has, then its settings. */
  private checkItem(child: UnattendElement, item: string, key: string, table: SettingTable, ctx: PassContext, itemXpath: string, keys: Map<string, string>): void {
    if (!child.action && !child.attributes.some(isWcmAction))
      this.findings.add('list-item-no-action', itemXpath, `<${item}> has no wcm:action; Windows SIM writes wcm:action="add" on every list item`);
    const keyValue = key === '@keyValue' ? child.keyValue : keyChildText(child, key);
    if (keyValue === undefined || keyValue.trim() === '') {
      this.findings.add(
        'list-item-no-key',
        itemXpath,
        key === '@keyValue' ? `<${item}> has no wcm:keyValue, which identifies the item` : `<${item}> has no ${key}, which identifies the item`,
      );
    } else {
      const normal = keyValue.trim().toLowerCase();
      const first = keys.get(normal);
      if (first !== undefined)
        this.findings.add(
          'duplicate-list-key',
          itemXpath,
          `two <${item}> items have the ${key === '@keyValue' ? 'wcm:keyValue' : key} '${keyValue.trim()}' (first at ${first}); Setup fails on a duplicate key`,
        );
      else keys.set(normal, itemXpath);
    }
    this.checkChildren(child.children, table, ctx, itemXpath, false);
  }

  private checkActionAttribute(element: UnattendElement, xpath: string): void {
    const bad = element.attributes.find(isWcmAction);
    if (bad) this.findings.add('invalid-action', xpath, `wcm:action="${bad.value}" is not one of add, modify, remove`);
  }

  /** Components should all target one architecture; wow64 ones accompany a 64-bit image. */
  private checkArchitectures(): void {
    const valid = this.components.filter((c) => (PROCESSOR_ARCHITECTURES as readonly string[]).includes(c.component.processorArchitecture ?? ''));
    const native = valid.filter((c) => c.component.processorArchitecture !== 'wow64');
    const counts = countBy(native, (c) => c.component.processorArchitecture ?? '');
    let base: string | undefined;
    for (const [arch, count] of counts) if (base === undefined || count > (counts.get(base) ?? 0)) base = arch;
    for (const c of valid) {
      const arch = c.component.processorArchitecture;
      if (arch === 'wow64') {
        if (base === 'x86') this.findings.add('architecture-mismatch', c.xpath, 'a wow64 component in an x86 answer file: wow64 components exist only in 64-bit images');
      } else if (arch !== base)
        this.findings.add(
          'architecture-mismatch',
          c.xpath,
          `${c.component.name} is for ${arch} while the other components are for ${base}; Setup applies only the components that match the image: use one architecture`,
        );
    }
  }

  /** AutoLogon/Username should name the built-in Administrator, a domain user or an account the file creates. */
  private checkAutoLogon(): void {
    const accounts = new Set<string>(['administrator']);
    const logons: { name: string; domain: string; xpath: string }[] = [];
    for (const { component, xpath } of this.components) {
      if (component.name !== 'Microsoft-Windows-Shell-Setup') continue;
      for (const list of [path(component, 'UserAccounts', 'LocalAccounts'), path(component, 'OfflineUserAccounts', 'OfflineLocalAccounts')])
        for (const item of elementsNamed(list, 'LocalAccount')) {
          const name = keyChildText(item, 'Name');
          if (name) accounts.add(name.trim().toLowerCase());
        }
      const autoLogon = path(component, 'AutoLogon');
      const username = autoLogon && keyChildText(autoLogon, 'Username');
      if (autoLogon && username !== undefined)
        logons.push({ name: username.trim(), domain: (keyChildText(autoLogon, 'Domain') ?? '').trim(), xpath: `${xpath}/AutoLogon/Username` });
    }
    for (const logon of logons) {
      if (logon.name === '' || logon.domain !== '' || logon.name.includes('\\') || logon.name.includes('@')) continue;
      if (!accounts.has(logon.name.toLowerCase()))
        this.findings.add(
          'autologon-unknown-account',
          logon.xpath,
          `AutoLogon signs in as '${logon.name}', which this file does not create; it must already exist in the image or the logon fails`,
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Values, accounts, passwords.

function checkValue(name: string, raw: string, spec: SettingSpec, xpath: string, findings: Findings): void {
  const value = raw.trim();
  switch (spec.type) {
    case 'string':
      if (spec.maxLength !== undefined && raw.length > spec.maxLength)
        findings.add('invalid-value', xpath, `${name} is ${raw.length} characters; at most ${spec.maxLength} are allowed`);
      else if (spec.pattern && value !== '' && !new RegExp(spec.pattern.source).test(value))
        findings.add('invalid-value', xpath, `${name} '${shorten(value)}' is not ${spec.pattern.hint}`);
      if (spec.accountName) checkAccountName(raw, xpath, findings);
      return;
    case 'boolean':
      if (value === '') findings.add('empty-value', xpath, `${name} is empty; it takes true or false`);
      else if (value === 'true' || value === 'false' || value === '1' || value === '0') return;
      else if (value.toLowerCase() === 'true' || value.toLowerCase() === 'false')
        findings.add('invalid-value', xpath, `${name} is '${value}'; the schema's boolean is lower-case: write ${value.toLowerCase()}`, { severity: 'warning' });
      else findings.add('invalid-value', xpath, `${name} is '${shorten(value)}'; it takes true or false`);
      return;
    case 'integer': {
      if (value === '') return void findings.add('empty-value', xpath, `${name} is empty; it takes a whole number`);
      if (!/^[+-]?\d{1,15}$/.test(value)) return void findings.add('invalid-value', xpath, `${name} is '${shorten(value)}'; it takes a whole number`);
      const number = Number(value);
      if ((spec.min !== undefined && number < spec.min) || (spec.max !== undefined && number > spec.max))
        findings.add('invalid-value', xpath, `${name} is ${number}; it must be ${rangeText(spec.min, spec.max)}`);
      return;
    }
    case 'enum': {
      if (value === '') return void findings.add('empty-value', xpath, `${name} is empty; it takes one of ${spec.values.join(', ')}`);
      if (spec.values.includes(value)) return;
      const folded = spec.values.find((v) => v.toLowerCase() === value.toLowerCase());
      if (folded) findings.add('invalid-value', xpath, `${name} '${value}' differs in case from '${folded}': write it as the reference does`, { severity: 'warning' });
      else findings.add('invalid-value', xpath, `${name} is '${shorten(value)}'; the reference lists ${spec.values.join(', ')}`, spec.open ? { severity: 'warning' } : {});
      return;
    }
    default:
      return;
  }
}

function checkAccountName(raw: string, xpath: string, findings: Findings): void {
  const name = raw.trim();
  if (name === '') return void findings.add('account-name-invalid', xpath, 'the account name is empty');
  if (RESERVED_ACCOUNT_NAMES.has(name.toLowerCase()))
    return void findings.add('account-name-reserved', xpath, `'${name}' is a built-in account or group name; OOBE cannot create a second one: choose another name`);
  const problems: string[] = [];
  if (name.length > MAX_ACCOUNT_NAME) problems.push(`is ${name.length} characters (Windows allows ${MAX_ACCOUNT_NAME})`);
  const bad = ACCOUNT_NAME_FORBIDDEN.exec(name) ?? FORBIDDEN_CHAR.exec(name) ?? /[\u0000-\u001f]/.exec(name);
  if (bad) problems.push(`contains '${bad[0]}' (not allowed: " / \\ [ ] : | < > + = ; , ? * % @ and control characters)`);
  if (/^[. ]+$/.test(name)) problems.push('consists only of dots and spaces');
  else if (name.endsWith('.')) problems.push('ends with a dot');
  if (problems.length > 0) findings.add('account-name-invalid', xpath, `the account name '${shorten(name)}' ${problems.join(' and ')}`);
}

/**
 * A hidden password (PlainText false) is Base64 of the UTF-16LE bytes of the password followed
 * by the element's name ('Password', 'AdministratorPassword'), as Windows SIM writes it; Setup
 * strips that suffix after decoding, so a value without it yields a different password.
 */
function checkPassword(element: UnattendElement, xpath: string, findings: Findings): void {
  const valueElement = firstElement(element, 'Value');
  const plainElement = firstElement(element, 'PlainText');
  const plain = plainElement ? textOf(plainElement).trim().toLowerCase() : undefined;
  const value = valueElement ? textOf(valueElement).trim() : '';
  const valueXpath = `${xpath}/Value`;
  if (plain === 'false' || plain === '0') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 === 1)
      return void findings.add('password-not-base64', valueXpath, `PlainText is false, so ${element.localName}/Value must be Base64, and it is not`);
    const bytes = Buffer.from(value, 'base64');
    let decoded: string;
    try {
      if (bytes.length % 2 !== 0) throw new Error('odd length');
      decoded = new TextDecoder('utf-16le', { fatal: true }).decode(bytes);
    } catch {
      return void findings.add(
        'password-not-utf16',
        valueXpath,
        `${element.localName}/Value decodes to bytes that are not UTF-16LE text; Windows SIM encodes the password as UTF-16LE`,
      );
    }
    if (!decoded.endsWith(element.localName))
      findings.add(
        'password-suffix',
        valueXpath,
        `the decoded ${element.localName} does not end with '${element.localName}'; Windows removes that suffix, so the password would be wrong: encode password + '${element.localName}'`,
      );
  } else if (value !== '') {
    findings.add(
      'password-plain-text',
      valueXpath,
      `${element.localName} is stored in plain text; anyone who reads the file or the image sees it (PlainText false hides it a little)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Disk layouts (Microsoft-Windows-Setup/DiskConfiguration and ImageInstall/OSImage/InstallTo).

interface Partition {
  order: number;
  type: string;
  size?: number;
  extend: boolean;
  xpath: string;
}

interface DiskPlan {
  id: number | undefined;
  wipe: boolean;
  /** Created partitions by Order; PartitionID n is the n-th. */
  partitions: Partition[];
  mbrExtended: boolean;
}

function checkDisks(setup: UnattendComponent, xpath: string, findings: Findings): void {
  const configuration = firstElement(setup, 'DiskConfiguration');
  const disks: DiskPlan[] = [];
  const diskElements = elementsNamed(configuration, 'Disk');
  diskElements.forEach((disk, i) => {
    const diskXpath = `${xpath}/DiskConfiguration/Disk${diskElements.length > 1 ? `[${i + 1}]` : ''}`;
    disks.push(checkDisk(disk, diskXpath, findings));
  });

  const osImage = path(setup, 'ImageInstall', 'OSImage');
  const installTo = osImage && firstElement(osImage, 'InstallTo');
  if (!osImage || !installTo) return;
  const installXpath = `${xpath}/ImageInstall/OSImage/InstallTo`;
  if (parseBool(keyChildText(osImage, 'InstallToAvailablePartition')) === true)
    findings.add('install-to-conflict', installXpath, 'InstallTo and InstallToAvailablePartition=true exclude each other: keep one');
  const diskId = parseInteger(keyChildText(installTo, 'DiskID'));
  const partitionId = parseInteger(keyChildText(installTo, 'PartitionID'));
  if (diskId === undefined || partitionId === undefined || disks.length === 0) return;
  const disk = disks.find((d) => d.id === diskId);
  if (!disk) {
    findings.add('install-to-unknown-disk', `${installXpath}/DiskID`, `InstallTo names disk ${diskId}, which DiskConfiguration does not set up; it must already be partitioned`);
    return;
  }
  if (!disk.wipe || disk.partitions.length === 0) return;
  const target = disk.mbrExtended ? undefined : disk.partitions[partitionId - 1];
  if (partitionId > disk.partitions.length)
    findings.add(
      'install-to-unknown-partition',
      `${installXpath}/PartitionID`,
      `InstallTo names partition ${partitionId} on disk ${diskId}, but the disk is wiped and gets only ${disk.partitions.length} partitions`,
    );
  else if (target && ['efi', 'msr', 'extended'].includes(target.type.toLowerCase()))
    findings.add(
      'install-to-system-partition',
      `${installXpath}/PartitionID`,
      `InstallTo names partition ${partitionId}, which is the ${target.type} partition; Windows goes on a Primary one`,
    );
}

function checkDisk(disk: UnattendElement, xpath: string, findings: Findings): DiskPlan {
  const id = parseInteger(keyChildText(disk, 'DiskID'));
  const wipe = parseBool(keyChildText(disk, 'WillWipeDisk')) === true;
  const creates = elementsNamed(firstElement(disk, 'CreatePartitions'), 'CreatePartition').filter((e) => e.action !== 'remove');
  const partitions: Partition[] = creates.map((e, i) => ({
    order: parseInteger(keyChildText(e, 'Order')) ?? Number.MAX_SAFE_INTEGER,
    type: (keyChildText(e, 'Type') ?? 'Primary').trim(),
    size: parseInteger(keyChildText(e, 'Size')),
    extend: parseBool(keyChildText(e, 'Extend')) === true,
    xpath: `${xpath}/CreatePartitions/CreatePartition${creates.length > 1 ? `[${i + 1}]` : ''}`,
  }));
  partitions.sort((a, b) => a.order - b.order);
  const count = (type: string) => partitions.filter((p) => p.type.toLowerCase() === type).length;
  const gpt = count('efi') + count('msr') > 0;
  const extended = count('extended');
  const mbr = extended + count('logical') > 0;
  const createsXpath = `${xpath}/CreatePartitions`;
  if (gpt && mbr)
    findings.add('disk-mixed-styles', createsXpath, 'EFI/MSR partitions need a GPT disk and Extended/Logical ones an MBR disk; Setup stops on this layout: use one style');
  const primaries = count('primary') + extended;
  if (mbr && primaries > 4)
    findings.add('disk-too-many-primary', createsXpath, `${primaries} primary and extended partitions on an MBR disk; MBR allows 4 (or 3 and one extended with logical drives)`);
  else if (!gpt && !mbr && count('primary') > 4)
    findings.add('disk-too-many-primary', createsXpath, `${count('primary')} primary partitions: this fails when Setup partitions the disk as MBR (BIOS boot), which allows 4`, {
      severity: 'warning',
    });
  if (extended > 1) findings.add('disk-multiple-extended', createsXpath, 'more than one Extended partition; a disk holds at most one');
  if (count('logical') > 0 && extended === 0) findings.add('disk-logical-without-extended', createsXpath, 'Logical partitions need an Extended partition to live in');
  partitions.forEach((p, i) => {
    if (p.extend && p.size !== undefined)
      findings.add('partition-size-and-extend', p.xpath, 'Size and Extend=true exclude each other: give a Size or extend to fill the disk, not both');
    else if (!p.extend && p.size === undefined) findings.add('partition-no-size', p.xpath, 'a CreatePartition needs a Size (MB) or Extend=true');
    if (p.extend && i < partitions.length - 1) {
      // An extended partition may fill the disk and still be followed by the logical drives inside it.
      const rest = partitions.slice(i + 1);
      const inside = p.type.toLowerCase() === 'extended' && rest.every((r) => r.type.toLowerCase() === 'logical');
      if (!inside)
        findings.add(
          'partition-extend-not-last',
          p.xpath,
          `partition ${p.order} extends to fill the disk, but partition ${rest[0]?.order} comes after it: only the last one can extend`,
        );
    }
  });

  const modifies = elementsNamed(firstElement(disk, 'ModifyPartitions'), 'ModifyPartition');
  modifies.forEach((m, i) => {
    const modifyXpath = `${xpath}/ModifyPartitions/ModifyPartition${modifies.length > 1 ? `[${i + 1}]` : ''}`;
    const partitionId = parseInteger(keyChildText(m, 'PartitionID'));
    if (partitionId === undefined || !wipe || partitions.length === 0) return;
    if (partitionId > partitions.length) {
      findings.add(
        'modify-unknown-partition',
        `${modifyXpath}/PartitionID`,
        `ModifyPartition names partition ${partitionId}, but the wiped disk gets only ${partitions.length} partitions from CreatePartitions`,
      );
      return;
    }
    if (mbr) return;
    const target = partitions[partitionId - 1];
    const format = keyChildText(m, 'Format')?.trim();
    if (!target || !format) return;
    if (target.type.toLowerCase() === 'msr')
      findings.add('format-msr', `${modifyXpath}/Format`, `partition ${partitionId} is the MSR partition, which is never formatted: remove Format`);
    else if (target.type.toLowerCase() === 'efi' && format.toUpperCase() !== 'FAT32')
      findings.add('efi-not-fat32', `${modifyXpath}/Format`, `partition ${partitionId} is the EFI system partition, which UEFI firmware reads only as FAT32, not ${format}`);
  });
  return { id, wipe, partitions, mbrExtended: mbr };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function isWcmAction(a: { namespace?: string; localName: string }): boolean {
  return a.namespace === WCM_NAMESPACE && a.localName === 'action';
}

function elementsNamed(parent: UnattendElement | UnattendComponent | undefined, name: string): UnattendElement[] {
  if (!parent) return [];
  return parent.children.filter((c): c is UnattendElement => c.kind === 'element' && c.namespace === undefined && c.localName === name);
}

function firstElement(parent: UnattendElement | UnattendComponent | undefined, name: string): UnattendElement | undefined {
  return elementsNamed(parent, name)[0];
}

function path(parent: UnattendElement | UnattendComponent | undefined, ...names: string[]): UnattendElement | undefined {
  let node: UnattendElement | UnattendComponent | undefined = parent;
  for (const name of names) node = firstElement(node, name);
  return node as UnattendElement | undefined;
}

function keyChildText(parent: UnattendElement, name: string): string | undefined {
  const child = firstElement(parent, name);
  return child ? textOf(child) : undefined;
}

function parseInteger(text: string | undefined): number | undefined {
  const value = text?.trim();
  return value !== undefined && /^[+-]?\d{1,15}$/.test(value) ? Number(value) : undefined;
}

function parseBool(text: string | undefined): boolean | undefined {
  const value = text?.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** An XPath string literal for any value. */
function quote(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  return `concat('${value.replaceAll("'", `', "'", '`)}')`;
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`;
  if (min !== undefined) return `at least ${min}`;
  return `at most ${max}`;
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
