// Merges one answer file into another: a recipe's generated settings over a user's existing file.
// Everything the overlay does not mention stays as it was (comments, unknown components and
// elements, order). Passes and components are matched by name (and processorArchitecture); a
// setting with text replaces the base's; a list (children marked wcm:action) gets the overlay's
// items appended, with Order and numeric wcm:keyValue renumbered after the base's so Windows runs
// them after the existing ones (unattend reference: RunSynchronousCommand/Order, "wcm:keyValue").
import { textOf, UNATTEND_PASSES, type UnattendComponent, type UnattendDocument, type UnattendElement, type UnattendNode, type UnattendSettings } from './model.js';

const isElement = (n: { kind: string }): n is UnattendElement => n.kind === 'element';
const isComponent = (n: { kind: string }): n is UnattendComponent => n.kind === 'component';
const isSettings = (n: { kind: string }): n is UnattendSettings => n.kind === 'settings';
const clone = <T>(value: T): T => structuredClone(value);

const sameComponent = (a: UnattendComponent, b: UnattendComponent) =>
  a.name === b.name && (a.processorArchitecture ?? '').toLowerCase() === (b.processorArchitecture ?? '').toLowerCase();

/** A list container: at least one child element is a list item (carries wcm:action). */
const isList = (e: UnattendElement) => e.children.some((c) => isElement(c) && c.action !== undefined);
const hasElements = (e: UnattendElement) => e.children.some(isElement);

function orderOf(item: UnattendElement): number | undefined {
  const order = item.children.find((c): c is UnattendElement => isElement(c) && c.localName === 'Order');
  const n = order ? Number(textOf(order)) : Number.NaN;
  return Number.isInteger(n) ? n : undefined;
}

function setOrder(item: UnattendElement, n: number): void {
  const order = item.children.find((c): c is UnattendElement => isElement(c) && c.localName === 'Order');
  if (order) order.children = [{ kind: 'text', text: String(n) }];
}

function appendListItems(base: UnattendElement, overlay: UnattendElement): void {
  const items = base.children.filter(isElement);
  let nextOrder = Math.max(0, ...items.map((i) => orderOf(i) ?? 0)) + 1;
  const numericKeys = items.map((i) => Number(i.keyValue)).filter(Number.isInteger);
  let nextKey = Math.max(0, ...numericKeys) + 1;
  const keys = new Set(items.map((i) => i.keyValue).filter((k) => k !== undefined));
  for (const child of overlay.children) {
    if (!isElement(child)) continue;
    const item = clone(child);
    if (orderOf(item) !== undefined) setOrder(item, nextOrder++);
    if (item.keyValue !== undefined) {
      if (Number.isInteger(Number(item.keyValue))) item.keyValue = String(nextKey++);
      else if (keys.has(item.keyValue)) {
        // A named item with the same key: the overlay's version replaces the base's.
        base.children = base.children.filter((c) => !(isElement(c) && c.localName === item.localName && c.keyValue === item.keyValue));
      }
    }
    base.children.push(item);
  }
}

function mergeElements(base: UnattendNode[], overlay: UnattendNode[]): UnattendNode[] {
  const out = [...base];
  for (const node of overlay) {
    if (!isElement(node)) continue;
    const at = out.findIndex((c) => isElement(c) && c.localName === node.localName && (c.namespace ?? '') === (node.namespace ?? '') && c.keyValue === node.keyValue);
    if (at < 0) {
      out.push(clone(node));
      continue;
    }
    const existing = out[at] as UnattendElement;
    if (isList(node) || isList(existing)) {
      const merged = clone(existing);
      appendListItems(merged, node);
      out[at] = merged;
    } else if (hasElements(node) && hasElements(existing)) {
      out[at] = { ...existing, children: mergeElements(existing.children, node.children) };
    } else out[at] = clone(node);
  }
  return out;
}

function mergeComponent(base: UnattendComponent, overlay: UnattendComponent): UnattendComponent {
  return { ...base, children: mergeElements(base.children, overlay.children) };
}

/** `overlay` merged into a copy of `base`; neither argument changes. */
export function mergeUnattend(base: UnattendDocument, overlay: UnattendDocument): UnattendDocument {
  const doc = clone(base);
  for (const pass of overlay.children.filter(isSettings)) {
    let target = doc.children.find((c): c is UnattendSettings => isSettings(c) && c.pass === pass.pass);
    if (!target) {
      target = { ...clone(pass), children: [] };
      // Keep the passes in the order Setup runs them.
      const rank = (p: string) => UNATTEND_PASSES.indexOf(p as (typeof UNATTEND_PASSES)[number]);
      const after = doc.children.findIndex((c) => isSettings(c) && rank(c.pass) > rank(pass.pass));
      if (after < 0) doc.children.push(target);
      else doc.children.splice(after, 0, target);
    }
    for (const component of pass.children.filter(isComponent)) {
      const at = target.children.findIndex((c) => isComponent(c) && sameComponent(c, component));
      if (at < 0) target.children.push(clone(component));
      else target.children[at] = mergeComponent(target.children[at] as UnattendComponent, component);
    }
  }
  // Root elements other than passes (servicing, Extensions): the overlay's replace the base's.
  for (const node of overlay.children) {
    if (!isElement(node)) continue;
    const at = doc.children.findIndex((c) => isElement(c) && c.localName === node.localName && (c.namespace ?? '') === (node.namespace ?? ''));
    if (at < 0) doc.children.push(clone(node));
    else doc.children[at] = clone(node);
  }
  return doc;
}
