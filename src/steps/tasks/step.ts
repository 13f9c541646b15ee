// The `remove-tasks` step: removes scheduled tasks (or whole task folders) from the image offline,
// the way the Task Scheduler service keeps them: the task's XML file under
// Windows\System32\Tasks and its registry entries under SOFTWARE ...\Schedule\TaskCache. plan()
// lists what the image holds for each requested path; apply() deletes exactly that.
// It does not disable tasks at setup, and it cannot stop a later Windows update from registering a
// removed task again.
//
// TaskCache layout (not documented by Microsoft; from forensic documentation: libyal winreg-kb
// "Task scheduler" (docs/sources/system-keys/Task-scheduler.md) and G DATA's "Windows Registry
// Analysis – Today's Episode: Tasks", cyber.wtf, 2022-06-01):
//   TaskCache\Tree\<task path>  one key per folder and task; a task's key has an `Id` value, the
//                               task's GUID in braces (plus Index and SD)
//   TaskCache\Tasks\{GUID}      the task's cached definition; its `Path` value is the task path
//   TaskCache\Plain|Logon|Boot|Maintenance\{GUID}  the trigger lists a task is filed under
import { z } from 'zod';
import { decodeValueData } from '../../formats/regf/value.js';
import { foldName } from '../../formats/wim/index.js';
import type { WindowsImage } from '../../image/windows-image.js';
import { defineStep, type StepPlan } from '../define-step.js';

// ── facts ────────────────────────────────────────────────────────────────────────────────────

export const TASK_CACHE = 'Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache';
export const TASKS_IMAGE_DIR = '/Windows/System32/Tasks';
/** Lists a task's GUID can be filed under (libyal names Boot, Logon, Plain; Maintenance is the
 *  automatic-maintenance list Windows 8 and later add beside them). */
export const TRIGGER_LISTS = ['Plain', 'Logon', 'Boot', 'Maintenance'] as const;

/** Tasks tiny11 deletes from the image as telemetry (ANCHORS.md §2.1 step 8); the Customer
 *  Experience Improvement Program entry is a whole folder. */
export const TASK_PRESETS = {
  telemetry: [
    '\\Microsoft\\Windows\\Application Experience\\Microsoft Compatibility Appraiser',
    '\\Microsoft\\Windows\\Application Experience\\ProgramDataUpdater',
    '\\Microsoft\\Windows\\Customer Experience Improvement Program',
    '\\Microsoft\\Windows\\Chkdsk\\Proxy',
    '\\Microsoft\\Windows\\Windows Error Reporting\\QueueReporting',
  ],
} as const satisfies Record<string, readonly string[]>;

// ── schema ───────────────────────────────────────────────────────────────────────────────────

const FORBIDDEN = /[<>:"/|?*\x00-\x1f]/;

export const TaskPathSchema = z
  .string()
  .refine((p) => p.startsWith('\\') && !p.endsWith('\\'), { error: 'expected a task path starting with \\, e.g. \\Microsoft\\Windows\\Chkdsk\\Proxy' })
  .refine(
    (p) =>
      p
        .slice(1)
        .split('\\')
        .every((s) => s.trim() !== '' && s !== '.' && s !== '..' && !FORBIDDEN.test(s)),
    { error: 'expected task path segments without empty parts, . or .., or any of < > : " / | ? *' },
  )
  .describe('a task or task folder as Task Scheduler shows it, e.g. \\Microsoft\\Windows\\Application Experience\\ProgramDataUpdater');

export const RemoveTasksStepSchema = z
  .object({
    type: z.literal('remove-tasks'),
    description: z.string().optional(),
    tasks: z.array(TaskPathSchema).optional().describe('tasks or task folders to remove; a folder goes with every task in it'),
    presets: z
      .array(z.enum(Object.keys(TASK_PRESETS) as [keyof typeof TASK_PRESETS]))
      .optional()
      .describe('named lists: telemetry (the tasks tiny11 removes)'),
  })
  .strict()
  .superRefine((step, ctx) => {
    if (!step.tasks?.length && !step.presets?.length) ctx.addIssue({ code: 'custom', message: 'expected tasks or presets' });
  })
  .describe('remove scheduled tasks from the image: their files under System32\\Tasks and their TaskCache registry entries');

export type RemoveTasksStep = z.infer<typeof RemoveTasksStepSchema>;

export type RemoveTasksChange =
  | {
      kind: 'remove-task';
      when: 'offline';
      task: string;
      /** The task's XML file in the image, or null when the image has none. */
      file: string | null;
      /** Its TaskCache\Tree key, or null. */
      treeKey: string | null;
      guid: string | null;
      /** Keys under TaskCache named by the GUID: Tasks\{GUID} and the trigger lists that hold it. */
      cacheKeys: string[];
    }
  | { kind: 'remove-folder'; when: 'offline'; folder: string; file: string | null; treeKey: string | null; tasks: number };

// ── plan ─────────────────────────────────────────────────────────────────────────────────────

type Hive = Awaited<ReturnType<WindowsImage['hives']['get']>>['hive'];

const segmentsOf = (task: string) => task.slice(1).split('\\');
const treeKeyOf = (task: string) => `${TASK_CACHE}\\Tree\\${segmentsOf(task).join('\\')}`;
const fileOf = (task: string) => `${TASKS_IMAGE_DIR}/${segmentsOf(task).join('/')}`;
const GUID = /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/;

function stringValue(hive: Hive, key: string, name: string): string | undefined {
  const v = hive.key(key)?.value(name);
  if (!v) return undefined;
  const data = decodeValueData(v.type, v.raw);
  return typeof data === 'string' ? data.replace(/\0+$/, '') : undefined;
}

/** The change for one task whose Tree key or file exists. */
function planTask(task: string, image: WindowsImage, software: Hive, warnings: string[]): RemoveTasksChange {
  const treeKey = software.key(treeKeyOf(task)) ? treeKeyOf(task) : null;
  const file = image.stat(fileOf(task))?.isDirectory === false ? fileOf(task) : null;
  let guid: string | null = null;
  const cacheKeys: string[] = [];
  if (treeKey) {
    const id = stringValue(software, treeKey, 'Id');
    if (id === undefined) warnings.push(`${task}: its TaskCache\\Tree key has no Id value; only the key and file are removed`);
    else if (!GUID.test(id)) warnings.push(`${task}: its Id value '${id}' is not a GUID; only the key and file are removed`);
    else {
      guid = id;
      const cached = `${TASK_CACHE}\\Tasks\\${id}`;
      const path = stringValue(software, cached, 'Path');
      if (software.key(cached) && path !== undefined && path.toLowerCase() !== task.toLowerCase()) {
        warnings.push(`${task}: TaskCache\\Tasks\\${id} belongs to ${path}, so the entries under ${id} are left alone`);
      } else {
        if (software.key(cached)) cacheKeys.push(cached);
        for (const list of TRIGGER_LISTS) if (software.key(`${TASK_CACHE}\\${list}\\${id}`)) cacheKeys.push(`${TASK_CACHE}\\${list}\\${id}`);
      }
    }
  }
  if (!file && treeKey) warnings.push(`${task}: the image has no task file ${fileOf(task)}; its registry entries are removed`);
  if (file && !treeKey) warnings.push(`${task}: the image has a task file but no TaskCache entry; only the file is removed`);
  return { kind: 'remove-task', when: 'offline', task, file, treeKey, guid, cacheKeys };
}

/** Tasks below a folder: Tree subkeys with an Id, and files with no Tree key, depth first. */
async function tasksInFolder(folder: string, image: WindowsImage, software: Hive): Promise<string[]> {
  const found = new Map<string, string>();
  const walkTree = (task: string) => {
    const key = software.key(treeKeyOf(task));
    if (!key) return;
    for (const sub of key.subkeys()) {
      const child = `${task}\\${sub.name}`;
      if (sub.value('Id')) found.set(foldName(child), child);
      else walkTree(child);
    }
  };
  const walkFiles = async (task: string) => {
    const dir = fileOf(task);
    if (!image.stat(dir)?.isDirectory) return;
    for (const entry of await image.list(dir)) {
      const child = `${task}\\${entry.name}`;
      if (entry.isDirectory) await walkFiles(child);
      else if (!found.has(foldName(child))) found.set(foldName(child), child);
    }
  };
  walkTree(folder);
  await walkFiles(folder);
  return [...found.values()];
}

async function planRemoveTasks(options: RemoveTasksStep, image: WindowsImage): Promise<StepPlan<RemoveTasksChange>> {
  const software = (await image.hives.get('SOFTWARE')).hive;
  const warnings: string[] = [];
  const requested = new Map<string, { task: string; fromPreset: boolean }>();
  for (const preset of options.presets ?? []) for (const task of TASK_PRESETS[preset]) requested.set(task.toLowerCase(), { task, fromPreset: true });
  for (const task of options.tasks ?? []) requested.set(task.toLowerCase(), { task, fromPreset: false });

  const tasks: RemoveTasksChange[] = [];
  const folders: RemoveTasksChange[] = [];
  const planned = new Set<string>();
  const missingFromPresets: string[] = [];
  const addTask = (task: string) => {
    if (planned.has(task.toLowerCase())) return;
    planned.add(task.toLowerCase());
    tasks.push(planTask(task, image, software, warnings));
  };

  for (const { task, fromPreset } of requested.values()) {
    const key = software.key(treeKeyOf(task));
    const st = image.stat(fileOf(task));
    const isFolder = (key !== undefined && key.value('Id') === undefined) || st?.isDirectory === true;
    if (!key && !st) {
      if (fromPreset) missingFromPresets.push(task);
      else warnings.push(`${task} is not in image ${image.index} (no TaskCache\\Tree key, no file under ${TASKS_IMAGE_DIR}); nothing to remove`);
      continue;
    }
    if (!isFolder) {
      addTask(task);
      continue;
    }
    const inside = await tasksInFolder(task, image, software);
    for (const t of inside) addTask(t);
    folders.push({
      kind: 'remove-folder',
      when: 'offline',
      folder: task,
      file: st?.isDirectory ? fileOf(task) : null,
      treeKey: key ? treeKeyOf(task) : null,
      tasks: inside.length,
    });
  }
  if (missingFromPresets.length > 0) warnings.push(`not in image ${image.index}, so nothing to remove: ${missingFromPresets.join(', ')}`);
  if (tasks.length + folders.length > 0) {
    warnings.push('a cumulative or feature update may register removed tasks again: Windows keeps their definitions in the component store, which DeployForge does not change');
  }
  return { changes: [...tasks, ...folders], warnings };
}

// ── apply ────────────────────────────────────────────────────────────────────────────────────

export const removeTasksStep = defineStep<RemoveTasksStep, RemoveTasksChange>({
  id: 'remove-tasks',
  schema: RemoveTasksStepSchema,
  plan(options, image) {
    return planRemoveTasks(options, image);
  },
  async apply(changes, image, progress) {
    const software = await image.hives.get('SOFTWARE');
    let done = 0;
    for (const change of changes) {
      if (change.file && image.exists(change.file)) image.removeFile(change.file);
      if (change.treeKey) software.deleteKey(change.treeKey);
      if (change.kind === 'remove-task') for (const key of change.cacheKeys) software.deleteKey(key);
      progress.emit({ phase: 'remove-tasks', done: ++done, total: changes.length, unit: 'items' });
    }
  },
  describe(change) {
    if (change.kind === 'remove-folder') {
      return [
        `remove folder ${change.folder} (${change.tasks} task(s))`,
        ...(change.file ? [`  file ${change.file}/`] : []),
        ...(change.treeKey ? [`  key  SOFTWARE\\${change.treeKey}`] : []),
      ];
    }
    return [
      `remove task ${change.task}${change.guid ? ` ${change.guid}` : ''}`,
      ...(change.file ? [`  file ${change.file}`] : []),
      ...[change.treeKey, ...change.cacheKeys].filter((k): k is string => k !== null).map((k) => `  key  SOFTWARE\\${k}`),
    ];
  },
});
