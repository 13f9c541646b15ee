// `deployforge ppkg …`: provisioning packages (a PPKG is a WIM holding provisioning XML,
// FORMATS.md §1). `show` prints the package facts and the settings its customizations.xml
// carries; `set` renames or re-identifies a package through wimlib, which rewrites only the WIM
// XML and keeps the non-standard elements (NOTES, VERSION, ALTITUDE, PACKAGEID) it does not set.
import { resolve } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { readPackageConfig } from '../../formats/ppkg/package-config.js';
import { readPpkgInfo } from '../../formats/ppkg/package-info.js';
import { openWim, openWimImage, setImageProperties } from '../../formats/wim/index.js';
import { FileSource } from '../../util/byte-source.js';
import type { CommandEnv } from '../main.js';

const CUSTOMIZATIONS = '/Multivariant/0/customizations.xml';

/** Setting paths under <Customizations>: each leaf element as 'Common/Policies/…=value'. */
function settingLeaves(xml: string): string[] {
  const errors: string[] = [];
  let doc: ReturnType<DOMParser['parseFromString']>;
  try {
    doc = new DOMParser({ onError: (level, message) => level !== 'warning' && errors.push(String(message)) }).parseFromString(xml, 'text/xml');
  } catch {
    return [];
  }
  if (errors.length > 0) return [];
  const out: string[] = [];
  const customizations = doc.getElementsByTagName('Customizations').item(0);
  const visit = (node: Element, path: string, depth: number) => {
    if (depth > 64 || out.length > 5000) return;
    const children = Array.from(node.childNodes).filter((c) => c.nodeType === 1) as unknown as Element[];
    if (children.length === 0) {
      out.push(`${path}=${(node.textContent ?? '').trim()}`);
      return;
    }
    for (const child of children) visit(child, path ? `${path}/${child.localName}` : (child.localName ?? ''), depth + 1);
  };
  if (customizations) visit(customizations as unknown as Element, '', 0);
  return out;
}

export function registerPpkgCommand(program: Command, env: CommandEnv): void {
  const ppkg = program.command('ppkg').description('provisioning packages: show, set');

  ppkg
    .command('show')
    .description('package name, ID, version, owner, rank, signing flags and the settings it applies')
    .argument('<ppkg>')
    .action(async (path: string) => {
      const ctx = env.ctx();
      const source = await FileSource.open(resolve(ctx.io.cwd, path));
      try {
        const wim = await openWim(source);
        if (wim.kind !== 'ppkg') throw new InputError('DF_NOT_A_PPKG', `${path} is a ${wim.kind.toUpperCase()}, not a provisioning package`);
        const image = await openWimImage(wim, 1);
        const xml = image.lookup(CUSTOMIZATIONS)
          ? Buffer.from(await (await image.openFile(CUSTOMIZATIONS)).readAll())
              .toString('utf8')
              .replace(/^\uFEFF/, '')
          : undefined;
        const info = readPpkgInfo(wim.xml, xml ? readPackageConfig(xml, CUSTOMIZATIONS) : null);
        const settings = xml ? settingLeaves(xml) : [];
        const files = [...image.walk()].filter((e) => !e.isDirectory).map((e) => e.path);
        ctx.result({ ...info, settings, files }, () =>
          [
            `${info?.name ?? '(no name)'} ${info?.version ?? ''}  {${info?.packageId ?? '?'}}`,
            `  owner ${info?.owner ?? '?'}, rank ${info?.rank ?? '?'}, signed ${info?.signed}, encrypted ${info?.encrypted}, target ${info?.targetSkus.join(', ') || '?'}`,
            '  settings:',
            ...settings.map((s) => `    ${s}`),
          ].join('\n'),
        );
      } finally {
        await source.close();
      }
    });

  ppkg
    .command('set')
    .description('change the package name, ID or version in its WIM XML (other elements are kept)')
    .argument('<ppkg>')
    .option('--name <name>')
    .option('--id <guid>', 'package ID, e.g. 1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160')
    .option('--package-version <version>', 'the package version, e.g. 1.1')
    .action(async (path: string, opts: { name?: string; id?: string; packageVersion?: string }) => {
      const ctx = env.ctx();
      const full = resolve(ctx.io.cwd, path);
      const properties: Record<string, string> = {};
      if (opts.name) properties.NAME = opts.name;
      if (opts.packageVersion) properties.VERSION = opts.packageVersion;
      if (opts.id) {
        if (!/^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i.test(opts.id)) throw new InputError('DF_BAD_OPTION', `--id '${opts.id}' is not a GUID`);
        properties.PACKAGEID = `{${opts.id.replace(/[{}]/g, '').toLowerCase()}}`;
      }
      if (Object.keys(properties).length === 0) throw new InputError('DF_BAD_OPTION', 'nothing to set: give --name, --id or --package-version');
      if (properties.PACKAGEID) {
        // NOTES repeats the ID (…;PackageID=<guid>;); keep the two in step (FORMATS.md §1).
        const source = await FileSource.open(full);
        try {
          const notes = (await openWim(source)).images[0]?.extra.NOTES;
          if (notes !== undefined) properties.NOTES = notes.replace(/PackageID=[^;]*/i, `PackageID=${properties.PACKAGEID.slice(1, -1)}`);
        } finally {
          await source.close();
        }
      }
      await setImageProperties(full, 1, properties);
      ctx.result(
        { path: full, set: properties },
        () =>
          `updated ${path}: ${Object.entries(properties)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}`,
      );
    });
}
