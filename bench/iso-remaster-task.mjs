// One remaster per process (compiled library, as the CLI runs it), so max RSS is its own:
//   node bench/iso-remaster-task.mjs SRC.iso OUT.iso IMAGE_PATH=LOCAL_FILE [fresh]
import { remasterIso } from '../dist/media/remaster.js';

const [source, out, change, layout] = process.argv.slice(2);
const eq = change.indexOf('=');
const start = process.hrtime.bigint();
const result = await remasterIso(source, out, { replace: { [change.slice(0, eq)]: change.slice(eq + 1) }, inPlace: layout === 'fresh' ? false : undefined });
const ms = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write(`${JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024, size: result.size, keptBytes: result.keptBytes })}\n`);
