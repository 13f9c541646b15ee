// One recipe build per process (compiled library, as the CLI runs it):
//   node bench/build-task.mjs RECIPE SRC.iso OUT.iso WORK_DIR
import { buildRecipe } from '../dist/build/build.js';
import { loadRecipe } from '../dist/recipe/index.js';

const [recipe, source, out, workDir] = process.argv.slice(2);
const start = process.hrtime.bigint();
const loaded = await loadRecipe(recipe);
const result = await buildRecipe(loaded, { source, out, workDir, outDir: workDir });
const ms = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write(`${JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024, size: result.outputs[0]?.size })}\n`);
