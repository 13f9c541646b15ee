// The `unattend` step: the recipe's answer-file settings (the generator's options), optionally
// merged into an existing answer file, and where the file goes. plan() generates the file and
// lists every setting it carries per pass and where it will be placed and why; apply() hands the
// request to the build, which adds the other steps' contributions (specialize commands, driver
// paths, packages) and writes one answer file at the end.
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../errors.js';
import type { UnattendArchitecture } from '../../formats/unattend/generate.js';
import { textOf, type UnattendDocument, type UnattendElement, type UnattendNode } from '../../formats/unattend/model.js';
import { UnattendOptionsSchema } from '../../formats/unattend/options-schema.js';
import type { WindowsImage } from '../../image/windows-image.js';
import { InputPath } from '../../recipe/schema.js';
import { type AnswerFileRequest, defineStep, emptyUnattendContributions, type StepPlan } from '../define-step.js';
import { type AnswerFileTarget, composeAnswerFile } from './compose.js';

export const UnattendStepSchema = UnattendOptionsSchema.extend({
  type: z.literal('unattend'),
  architecture: UnattendOptionsSchema.shape.architecture.optional().describe("amd64, arm64 or x86; defaults to the edition's architecture"),
  file: InputPath.optional().describe('an existing answer file to start from; the step merges its settings into it and keeps everything else'),
  placement: z
    .enum(['auto', 'media-root', 'oem-panther', 'boot-wim'])
    .optional()
    .describe('auto (default): the media root when the file has a windowsPE pass, otherwise sources/$OEM$/$$/Panther/unattend.xml'),
})
  .strict()
  .describe('autounattend.xml: languages, disk, edition, accounts, OOBE, bypass, commands');
export type UnattendStep = z.infer<typeof UnattendStepSchema>;

export interface AnswerFileChange {
  kind: 'answer-file';
  request: AnswerFileRequest;
  target: AnswerFileTarget;
  /** Every setting, as `pass/Component/Path/Setting = value`, in document order. */
  settings: string[];
  when: 'windows-setup';
}

const ARCHITECTURES: Record<string, UnattendArchitecture> = { amd64: 'amd64', arm64: 'arm64', x86: 'x86' };

/** The answer-file architecture of an edition (amd64 when the image does not say). */
export async function answerFileArchitecture(image: WindowsImage): Promise<UnattendArchitecture> {
  const arch = await image.architecture();
  if (arch === null) return 'amd64';
  const known = ARCHITECTURES[arch];
  if (!known) throw new InputError('DF_UNATTEND_ARCH', `image ${image.index} is ${arch}; answer files are generated for amd64, arm64 and x86 only`);
  return known;
}

/** Leaf settings of a document, one line each (what `deployforge plan` prints). */
export function listSettings(doc: UnattendDocument): string[] {
  const lines: string[] = [];
  const walk = (prefix: string, nodes: UnattendNode[]) => {
    for (const node of nodes) {
      if (node.kind !== 'element') continue;
      const name = node.keyValue !== undefined ? `${node.localName}[${node.keyValue}]` : node.localName;
      const path = `${prefix}/${name}`;
      if (node.children.some((c) => c.kind === 'element')) walk(path, node.children);
      else lines.push(`${path} = ${/Password|ProductKey/i.test(path) && !/PlainText/.test(path) ? '(hidden)' : textOf(node as UnattendElement)}`);
    }
  };
  for (const pass of doc.children) {
    if (pass.kind !== 'settings') continue;
    for (const component of pass.children) if (component.kind === 'component') walk(`${pass.pass}/${component.name}`, component.children);
  }
  return lines;
}

export const unattendStep = defineStep<UnattendStep, AnswerFileChange>({
  id: 'unattend',
  schema: UnattendStepSchema,
  async plan(options, image, context): Promise<StepPlan<AnswerFileChange>> {
    const { type: _type, file, placement, ...generatorOptions } = options;
    const baseFile = file === undefined ? undefined : resolve(context.baseDir, file);
    if (baseFile) await access(baseFile).catch(() => Promise.reject(new InputError('DF_UNATTEND_FILE_MISSING', `unattend.file ${file}: no such file (${baseFile})`)));
    const request: AnswerFileRequest = { options: generatorOptions, baseFile, placement: placement ?? 'auto' };
    const contributions = { ...emptyUnattendContributions(), answerFile: request };
    const composed = await composeAnswerFile(contributions, await answerFileArchitecture(image));
    return {
      changes: [{ kind: 'answer-file', request, target: composed.target, settings: listSettings(composed.document), when: 'windows-setup' }],
      warnings: composed.warnings,
      setupTimeNotes: [
        `the answer file goes to ${composed.target.where === 'media' ? `the media at /${composed.target.path}` : `boot.wim index 2 at ${composed.target.path}`} because ${composed.target.reason}; Windows Setup applies its settings pass by pass during installation, and the build adds the commands other steps contribute`,
      ],
    };
  },
  async apply(changes, _image, _progress, context) {
    for (const change of changes) context.unattend.answerFile = change.request;
  },
  describe(change) {
    const where = change.target.where === 'media' ? `/${change.target.path} on the media` : `${change.target.path} in boot.wim index 2`;
    return [`answer file → ${where}${change.request.baseFile ? ` (merged into ${change.request.baseFile})` : ''}`, ...change.settings.map((s) => `  ${s}`)];
  },
});
