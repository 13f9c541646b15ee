// Child process of edit-crash.test.ts: commits an edit to the WIM given on the command line and
// SIGKILLs itself right after write/flush number `killAt` (-1: never), through the writer's
// onWrite hook. Prints the number of write steps when it finishes. Not a test by itself.
import { readFile } from 'node:fs/promises';
import { openWimEdit } from './edit.js';

const [wim, killAt, payload] = process.argv.slice(2);
const stopAt = Number(killAt);
let steps = 0;
const edit = await openWimEdit(wim, 1, {
  onWrite: (step) => {
    steps = step + 1;
    if (step === stopAt) process.kill(process.pid, 'SIGKILL');
  },
});
edit.replaceFile('/file', await readFile(payload));
edit.addFile('/dir/added.txt', Buffer.from('added by the crash test'));
edit.delete('/dir/a.txt');
await edit.commit();
process.stdout.write(`${steps}\n`);
