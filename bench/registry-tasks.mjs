// One registry task per process, so each measurement gets its own clean heap and max RSS:
//   node bench/registry-tasks.mjs walk|export|import|check HIVE [REG OUT]
// It runs the compiled library in dist/ (what the CLI runs); bench/run.ts builds dist first and
// times the whole process from outside. Prints {"ms":…, "rssMb":…, …} on stdout (ms in-process).
import { open, readFile } from 'node:fs/promises';
import { checkHive } from '../dist/formats/regf/check.js';
import { openHive } from '../dist/formats/regf/hive.js';
import { openHiveForEdit } from '../dist/formats/regf/hive-edit.js';
import { streamHiveExport } from '../dist/formats/regf/reg-export-stream.js';
import { parseRegFile } from '../dist/formats/regf/reg-file.js';
import { importRegFile } from '../dist/formats/regf/reg-import.js';
import { walkKeys } from '../dist/formats/regf/walk.js';
import { readWholeFile } from '../dist/util/fs.js';

const [task, hivePath, regPath, outPath] = process.argv.slice(2);
const start = process.hrtime.bigint();
// Read as the CLI reads a hive file; a Buffer is a Uint8Array already (a copy would double the
// memory measured).
const bytes = task === 'import' ? undefined : await readWholeFile(hivePath);
const extra = {};
if (task === 'walk') {
  const hive = openHive(bytes, hivePath);
  let keys = 0;
  let values = 0;
  for (const key of walkKeys(hive)) {
    keys++;
    for (const value of key.values()) {
      void value.data;
      values++;
    }
  }
  Object.assign(extra, { keys, values });
} else if (task === 'export') {
  // Streamed as `reg export -o` does (without its flush): the .reg text is never held whole.
  const handle = await open(outPath, 'w');
  let written = 0;
  await streamHiveExport(openHive(bytes, hivePath), async (chunk) => {
    written += chunk.length;
    await handle.write(chunk);
  });
  await handle.close();
  extra.bytes = written;
} else if (task === 'import') {
  // As `deployforge reg import` opens a hive file: read straight into the editor's working copy.
  const edit = await openHiveForEdit(hivePath);
  const counts = importRegFile(edit, parseRegFile(new Uint8Array(await readFile(regPath)), regPath), { prefix: '' });
  await edit.save(outPath);
  extra.valuesSet = counts.valuesSet;
} else if (task === 'check') {
  const report = checkHive(bytes, { name: hivePath });
  extra.problems = report.problems.length;
}
const ms = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write(`${JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024, ...extra })}\n`);
