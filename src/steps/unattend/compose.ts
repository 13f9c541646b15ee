// Turns the recipe's `unattend` step and what other steps contributed (specialize commands, driver
// paths, packages, bypass keys) into one answer file, and decides where it goes. The placement
// rules come from how Windows Setup finds answer files (unattend reference, "Answer files search
// order") and the trap Rufus documents (ANCHORS.md §2.3, item 6): an autounattend.xml without a
// windowsPE pass is not carried into the installed system.
import { readFile } from 'node:fs/promises';
import { type GenerateUnattendOptions, generateUnattend } from '../../formats/unattend/generate.js';
import { mergeUnattend } from '../../formats/unattend/merge.js';
import { findPass, type UnattendDocument } from '../../formats/unattend/model.js';
import { parseUnattend } from '../../formats/unattend/parse.js';
import { writeUnattend } from '../../formats/unattend/write.js';
import type { AnswerFilePlacement, UnattendContributions } from '../define-step.js';

export interface AnswerFileTarget {
  /** `media`: a file on the output media; `boot-wim`: a file in boot.wim index 2. */
  where: 'media' | 'boot-wim';
  /** Path on the media (no leading slash) or in boot.wim (leading slash). */
  path: string;
  reason: string;
}

export interface ComposedAnswerFile {
  document: UnattendDocument;
  bytes: Uint8Array;
  target: AnswerFileTarget;
  warnings: string[];
}

type ContributedOptions = GenerateUnattendOptions;

const unique = <T>(list: T[], key: (x: T) => string) => list.filter((x, i) => list.findIndex((y) => key(y) === key(x)) === i);

/** True when contributions ask for nothing (then no answer file is needed unless the recipe has an unattend step). */
export function contributionsEmpty(c: UnattendContributions): boolean {
  return (
    c.answerFile === undefined &&
    c.specializeCommands.length === 0 &&
    c.firstLogonCommands.length === 0 &&
    c.driverPaths.windowsPE.length === 0 &&
    c.driverPaths.offlineServicing.length === 0 &&
    c.packages.length === 0 &&
    Object.values(c.bypassRequirements).every((v) => !v)
  );
}

/** Generator options: the unattend step's, then every step's contributions (repeats dropped: each edition adds the same). */
export function answerFileOptions(c: UnattendContributions, architecture: GenerateUnattendOptions['architecture']): GenerateUnattendOptions {
  const own: Partial<ContributedOptions> = c.answerFile?.options ?? {};
  const byCommand = (x: { commandLine: string }) => x.commandLine;
  const byPath = (x: string) => x.toLowerCase();
  const options: ContributedOptions = { ...own, architecture: own.architecture ?? architecture };
  const specialize = unique([...(own.specializeCommands ?? []), ...c.specializeCommands], byCommand);
  const firstLogon = unique([...(own.firstLogonCommands ?? []), ...c.firstLogonCommands], byCommand);
  const windowsPE = unique([...(own.driverPaths?.windowsPE ?? []), ...c.driverPaths.windowsPE], byPath);
  const offlineServicing = unique([...(own.driverPaths?.offlineServicing ?? []), ...c.driverPaths.offlineServicing], byPath);
  const packages = unique([...(own.packages ?? []), ...c.packages], byPath);
  if (specialize.length > 0) options.specializeCommands = specialize;
  if (firstLogon.length > 0) options.firstLogonCommands = firstLogon;
  if (windowsPE.length > 0 || offlineServicing.length > 0) options.driverPaths = { windowsPE, offlineServicing };
  if (packages.length > 0) options.packages = packages;
  const bypass = Object.fromEntries(Object.entries(c.bypassRequirements).filter(([, v]) => v));
  if (Object.keys(bypass).length > 0) {
    const mine = own.bypassRequirements === true ? { tpm: true, secureBoot: true, ram: true, cpu: true, storage: true } : (own.bypassRequirements ?? {});
    options.bypassRequirements = { ...mine, ...bypass };
  }
  return options;
}

/** Where an answer file goes, and why (the plan prints the reason). */
export function placeAnswerFile(document: UnattendDocument, placement: AnswerFilePlacement): { target: AnswerFileTarget; warnings: string[] } {
  const hasWindowsPE = (findPass(document, 'windowsPE')?.children.some((c) => c.kind === 'component') ?? false) === true;
  const warnings: string[] = [];
  const mediaRoot: AnswerFileTarget = {
    where: 'media',
    path: 'autounattend.xml',
    reason: 'it has a windowsPE pass: Setup reads autounattend.xml at the media root and copies it to C:\\Windows\\Panther for the later passes',
  };
  const panther: AnswerFileTarget = {
    where: 'media',
    path: 'sources/$OEM$/$$/Panther/unattend.xml',
    reason:
      'it has no windowsPE pass, so Setup would not carry a media-root file into Windows; sources\\$OEM$\\$$ is copied to C:\\Windows, where Setup reads Panther\\unattend.xml in specialize and oobeSystem',
  };
  switch (placement) {
    case 'media-root':
      if (!hasWindowsPE) warnings.push('the answer file has no windowsPE pass: at the media root Windows Setup will not carry it into the installed system (use placement auto)');
      return { target: { ...mediaRoot, reason: 'placement media-root was asked for' }, warnings };
    case 'oem-panther':
      if (hasWindowsPE) warnings.push('the answer file has a windowsPE pass, which Setup never reads from Panther\\unattend.xml (use placement auto or media-root)');
      return { target: { ...panther, reason: 'placement oem-panther was asked for' }, warnings };
    case 'boot-wim':
      if (!hasWindowsPE) warnings.push('the answer file has no windowsPE pass: in boot.wim it is not carried into the installed system (use placement auto)');
      return {
        target: {
          where: 'boot-wim',
          path: '/autounattend.xml',
          reason: 'placement boot-wim: Setup finds autounattend.xml at the root of its boot image (X:\\) and the media root stays clean, as Rufus does',
        },
        warnings,
      };
    default:
      return { target: hasWindowsPE ? mediaRoot : panther, warnings };
  }
}

/** The answer file for a build: generated, merged into the recipe's base file if any, placed. */
export async function composeAnswerFile(c: UnattendContributions, architecture: GenerateUnattendOptions['architecture']): Promise<ComposedAnswerFile> {
  const generated = generateUnattend(answerFileOptions(c, architecture));
  let document = generated;
  if (c.answerFile?.baseFile) {
    const base = parseUnattend(new Uint8Array(await readFile(c.answerFile.baseFile)), c.answerFile.baseFile);
    document = mergeUnattend(base, generated);
  }
  const { target, warnings } = placeAnswerFile(document, c.answerFile?.placement ?? 'auto');
  return { document, bytes: writeUnattend(document), target, warnings };
}
