// One WIM task per process, on the compiled library (as the CLI runs):
//   node bench/wim-tasks.mjs list|paths WIM INDEX | replace WIM INDEX IMAGE_PATH LOCAL_FILE
// Prints {"ms":…, "rssMb":…, …}.

import { openWim, openWimEdit, openWimImage } from '../dist/formats/wim/index.js';
import { FileSource } from '../dist/util/byte-source.js';

const [task, wimPath, index, imagePath, local] = process.argv.slice(2);
const start = process.hrtime.bigint();
const extra = {};
if (task === 'list' || task === 'paths') {
  // list: every entry's full stat (what `wimlib-imagex dir --detailed` prints); paths: every
  // entry's path (what `wimlib-imagex dir` prints).
  const source = await FileSource.open(wimPath);
  const image = await openWimImage(await openWim(source), Number(index));
  let entries = 0;
  for (const _ of task === 'list' ? image.walk() : image.walkPaths()) entries++;
  extra.entries = entries;
  await source.close();
} else if (task === 'replace') {
  const edit = await openWimEdit(wimPath, Number(index));
  edit.replaceFile(imagePath, local);
  const result = await edit.commit();
  extra.bytesAppended = result.bytesAppended;
}
const ms = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write(`${JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024, ...extra })}\n`);
