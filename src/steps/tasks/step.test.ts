// The `remove-tasks` step on a copy of the sample install.wim. The sample has no scheduled tasks,
// so each test first registers fake ones through the WindowsImage API the way the Task Scheduler
// keeps them (an XML file under System32\Tasks, TaskCache Tree/Tasks/trigger-list keys), then
// removes some and checks with wimlib-imagex and hivexget that exactly those are gone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { copyWim, hivexget, useSampleInstallWim, useTempDir, wimlibExtractFile } from '../../../test/helpers/step-harness.js';
import { BuildStepContext } from '../../build/step-context.js';
import { REG_TYPE } from '../../formats/regf/constants.js';
import { openWindowsImage, type WindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import { runTool } from '../../util/exec.js';
import { type RemoveTasksChange, RemoveTasksStepSchema, removeTasksStep, TASK_CACHE } from './step.js';

const tmp = useTempDir('deployforge-tasks-step-');
const sampleWim = useSampleInstallWim(tmp, 1);

const utf16z = (text: string) => new Uint8Array(Buffer.from(`${text}\0`, 'utf16le'));
const dword = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
};

interface FakeTask {
  path: string;
  guid: string;
  list: 'Plain' | 'Logon' | 'Boot' | 'Maintenance';
  /** Leave out the Tree/Tasks keys (a task file only), or the file. */
  noRegistry?: boolean;
  noFile?: boolean;
  /** Path value of Tasks\{GUID}, when it should differ from `path`. */
  cachedPath?: string;
}

const APPRAISER = '\\Microsoft\\Windows\\Application Experience\\Microsoft Compatibility Appraiser';
const UPDATER = '\\Microsoft\\Windows\\Application Experience\\ProgramDataUpdater';
const STARTUP = '\\Microsoft\\Windows\\Application Experience\\StartupAppTask';
const CEIP = '\\Microsoft\\Windows\\Customer Experience Improvement Program';
const DEFRAG = '\\Microsoft\\Windows\\Defrag\\ScheduledDefrag';

const TASKS: FakeTask[] = [
  { path: APPRAISER, guid: '{0600DD45-FAF2-4131-A006-0B17509B9F78}', list: 'Plain' },
  { path: UPDATER, guid: '{1A8BBD3A-6F2F-4F6C-9D0E-4C8D3D6E1F01}', list: 'Logon' },
  { path: STARTUP, guid: '{2B9CCE4B-7A3A-4A7D-8E1F-5D9E4E7F2A12}', list: 'Plain' },
  { path: `${CEIP}\\Consolidator`, guid: '{3CADDF5C-8B4B-4B8E-9F2A-6EAF5F8A3B23}', list: 'Boot' },
  { path: `${CEIP}\\UsbCeip`, guid: '{4DBEE06D-9C5C-4C9F-A03B-7FB06A9B4C34}', list: 'Maintenance' },
  { path: `${CEIP}\\Orphan`, guid: '{00000000-0000-0000-0000-000000000000}', list: 'Plain', noRegistry: true },
  { path: DEFRAG, guid: '{5ECF117E-AD6D-4DA0-B14C-80C17BAC5D45}', list: 'Plain' },
  { path: '\\Contoso\\Borrowed', guid: '{5ECF117E-AD6D-4DA0-B14C-80C17BAC5D45}', list: 'Plain', noFile: true, cachedPath: DEFRAG },
];

const treeKey = (task: string) => `${TASK_CACHE}\\Tree${task}`;
const taskFile = (task: string) => `/Windows/System32/Tasks${task.replaceAll('\\', '/')}`;

/** Registers `tasks` in the image as Windows would have them. */
async function registerTasks(image: WindowsImage, tasks: FakeTask[]): Promise<void> {
  const software = await image.hives.get('SOFTWARE');
  for (const [i, t] of tasks.entries()) {
    if (!t.noFile) {
      const xml = `<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><RegistrationInfo><URI>${t.path}</URI></RegistrationInfo></Task>\r\n`;
      image.writeFile(taskFile(t.path), new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')])));
    }
    if (t.noRegistry) continue;
    software.setValue(treeKey(t.path), 'Id', REG_TYPE.REG_SZ, utf16z(t.guid));
    software.setValue(treeKey(t.path), 'Index', REG_TYPE.REG_DWORD, dword(i + 1));
    software.setValue(treeKey(t.path), 'SD', REG_TYPE.REG_BINARY, new Uint8Array([1, 0, 4, 0x80]));
    if (t.cachedPath === undefined) {
      software.setValue(`${TASK_CACHE}\\Tasks\\${t.guid}`, 'Path', REG_TYPE.REG_SZ, utf16z(t.path));
      software.setValue(`${TASK_CACHE}\\Tasks\\${t.guid}`, 'Hash', REG_TYPE.REG_BINARY, new Uint8Array(32).fill(i));
      software.createKey(`${TASK_CACHE}\\${t.list}\\${t.guid}`);
    }
  }
}

async function imageWithTasks(): Promise<string> {
  const wim = await copyWim(tmp.path, sampleWim.path);
  const image = await openWindowsImage(wim, 1);
  try {
    await registerTasks(image, TASKS);
    await image.commit();
  } finally {
    await image.close();
  }
  return wim;
}

const brief = (c: RemoveTasksChange) =>
  c.kind === 'remove-task'
    ? { task: c.task, file: c.file !== null, tree: c.treeKey !== null, guid: c.guid, cache: c.cacheKeys.map((k) => k.slice(TASK_CACHE.length + 1)) }
    : { folder: c.folder, tasks: c.tasks };

describe('remove-tasks step', () => {
  test('the schema takes task paths and presets and is strict', () => {
    const ok = (v: Record<string, unknown>) => RemoveTasksStepSchema.safeParse({ type: 'remove-tasks', ...v }).success;
    assert.equal(ok({ tasks: [APPRAISER] }), true);
    assert.equal(ok({ presets: ['telemetry'] }), true);
    assert.equal(ok({}), false, 'something to remove');
    assert.equal(ok({ tasks: [] }), false);
    assert.equal(ok({ tasks: ['Microsoft\\Windows\\Chkdsk\\Proxy'] }), false, 'starts with \\');
    assert.equal(ok({ tasks: ['\\Microsoft\\..\\Windows'] }), false, 'no ..');
    assert.equal(ok({ tasks: ['\\Microsoft\\Windows\\'] }), false, 'no trailing \\');
    assert.equal(ok({ tasks: ['\\Microsoft/Windows'] }), false, 'no /');
    assert.equal(ok({ presets: ['privacy'] }), false);
    assert.equal(ok({ tasks: [APPRAISER], colour: 'red' }), false);
  });

  test('plan lists what the image holds for each task and folder and changes nothing', async () => {
    const wim = await imageWithTasks();
    const image = await openWindowsImage(wim, 1);
    try {
      const options = RemoveTasksStepSchema.parse({ type: 'remove-tasks', presets: ['telemetry'], tasks: ['\\Contoso\\Missing', '\\Contoso\\Borrowed'] });
      const plan = await removeTasksStep.plan(options, image, { baseDir: tmp.path });
      assert.deepEqual(plan.changes.map(brief), [
        { task: APPRAISER, file: true, tree: true, guid: TASKS[0].guid, cache: [`Tasks\\${TASKS[0].guid}`, `Plain\\${TASKS[0].guid}`] },
        { task: UPDATER, file: true, tree: true, guid: TASKS[1].guid, cache: [`Tasks\\${TASKS[1].guid}`, `Logon\\${TASKS[1].guid}`] },
        { task: `${CEIP}\\Consolidator`, file: true, tree: true, guid: TASKS[3].guid, cache: [`Tasks\\${TASKS[3].guid}`, `Boot\\${TASKS[3].guid}`] },
        { task: `${CEIP}\\UsbCeip`, file: true, tree: true, guid: TASKS[4].guid, cache: [`Tasks\\${TASKS[4].guid}`, `Maintenance\\${TASKS[4].guid}`] },
        { task: `${CEIP}\\Orphan`, file: true, tree: false, guid: null, cache: [] },
        { task: '\\Contoso\\Borrowed', file: false, tree: true, guid: TASKS[7].guid, cache: [] },
        { folder: CEIP, tasks: 3 },
      ]);
      assert.ok(plan.changes.every((c) => c.when === 'offline'));
      const warnings = plan.warnings.join('\n');
      assert.match(warnings, /not in image 1, so nothing to remove: \\Microsoft\\Windows\\Chkdsk\\Proxy, \\Microsoft\\Windows\\Windows Error Reporting\\QueueReporting/);
      assert.match(warnings, /\\Contoso\\Missing is not in image 1/);
      assert.match(warnings, /Orphan: the image has a task file but no TaskCache entry/);
      assert.match(warnings, /Borrowed: TaskCache\\Tasks\\\{5ECF117E.* belongs to \\Microsoft\\Windows\\Defrag\\ScheduledDefrag/);
      assert.deepEqual(removeTasksStep.describe?.(plan.changes[0]), [
        `remove task ${APPRAISER} ${TASKS[0].guid}`,
        `  file ${taskFile(APPRAISER)}`,
        `  key  SOFTWARE\\${treeKey(APPRAISER)}`,
        `  key  SOFTWARE\\${TASK_CACHE}\\Tasks\\${TASKS[0].guid}`,
        `  key  SOFTWARE\\${TASK_CACHE}\\Plain\\${TASKS[0].guid}`,
      ]);
      assert.equal(image.isDirty(), false);
    } finally {
      await image.close();
    }
  });

  test('apply + commit removes exactly the planned files and keys (wimlib-imagex, hivexget)', async () => {
    const wim = await imageWithTasks();
    const image = await openWindowsImage(wim, 1);
    try {
      const options = RemoveTasksStepSchema.parse({ type: 'remove-tasks', presets: ['telemetry'], tasks: ['\\Contoso\\Borrowed'] });
      const plan = await removeTasksStep.plan(options, image, { baseDir: tmp.path });
      await removeTasksStep.apply(plan.changes, image, silentProgress, new BuildStepContext());
      const result = await image.commit();
      assert.deepEqual(result.hivesWritten, ['/Windows/System32/config/SOFTWARE']);
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);

    const files = (await runTool('wimlib-imagex', ['dir', wim, '1', '--path=/Windows/System32/Tasks'])).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    assert.deepEqual(files.sort(), [
      '/Windows/System32/Tasks',
      '/Windows/System32/Tasks/Microsoft',
      '/Windows/System32/Tasks/Microsoft/Windows',
      '/Windows/System32/Tasks/Microsoft/Windows/Application Experience',
      `${taskFile(STARTUP)}`,
      '/Windows/System32/Tasks/Microsoft/Windows/Defrag',
      `${taskFile(DEFRAG)}`,
    ]);

    const hive = await wimlibExtractFile(tmp.path, wim, 1, '/Windows/System32/config/SOFTWARE');
    const get = (key: string, value: string) => hivexget(hive, key, value);
    const gone = async (key: string) => assert.rejects(runTool('hivexget', [hive, key]), `${key} is gone`);
    for (const t of [TASKS[0], TASKS[1], TASKS[3], TASKS[4]]) {
      await gone(treeKey(t.path));
      await gone(`${TASK_CACHE}\\Tasks\\${t.guid}`);
      await gone(`${TASK_CACHE}\\${t.list}\\${t.guid}`);
    }
    await gone(treeKey(CEIP));
    await gone(treeKey('\\Contoso\\Borrowed'));
    assert.equal(await get(treeKey(STARTUP), 'Id'), TASKS[2].guid, 'a task beside removed ones stays');
    assert.equal(await get(`${TASK_CACHE}\\Tasks\\${TASKS[2].guid}`, 'Path'), STARTUP);
    assert.equal(await get(treeKey(DEFRAG), 'Id'), TASKS[6].guid);
    assert.equal(await get(`${TASK_CACHE}\\Tasks\\${TASKS[6].guid}`, 'Path'), DEFRAG, "a GUID another task's Tree key borrowed is not deleted");
    await runTool('hivexget', [hive, `${TASK_CACHE}\\Plain\\${TASKS[6].guid}`]);
  });

  test('a task given by its folder path removes the folder with its tasks', async () => {
    const wim = await imageWithTasks();
    const image = await openWindowsImage(wim, 1);
    try {
      const plan = await removeTasksStep.plan(RemoveTasksStepSchema.parse({ type: 'remove-tasks', tasks: ['\\microsoft\\windows\\defrag'] }), image, { baseDir: tmp.path });
      assert.deepEqual(plan.changes.map(brief), [
        { task: '\\microsoft\\windows\\defrag\\ScheduledDefrag', file: true, tree: true, guid: TASKS[6].guid, cache: [`Tasks\\${TASKS[6].guid}`, `Plain\\${TASKS[6].guid}`] },
        { folder: '\\microsoft\\windows\\defrag', tasks: 1 },
      ]);
      await removeTasksStep.apply(plan.changes, image, silentProgress, new BuildStepContext());
      assert.equal(image.exists('/Windows/System32/Tasks/Microsoft/Windows/Defrag'), false);
      assert.equal((await image.hives.get('SOFTWARE')).hive.key(treeKey(DEFRAG)), undefined);
      assert.ok((await image.hives.get('SOFTWARE')).hive.key(treeKey(STARTUP)), 'other folders stay');
    } finally {
      await image.close();
    }
  });
});
