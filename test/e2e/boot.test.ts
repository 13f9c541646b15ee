// End-to-end proof that the sample media's boot images boot: tiny ISOs laid out like Windows
// media (boot/etfsboot.com, efi/microsoft/boot/efisys.bin) are built with xorriso and booted in
// QEMU under SeaBIOS and OVMF, with negative controls that must not match.
// It does not build the full sample media (that is the sample-media generator's own test).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBiosBootImage } from '../../src/sample/bios-boot-image.js';
import { makeEfiBootImage } from '../../src/sample/efi-boot-image.js';
import { hasTool, runTool } from '../../src/util/exec.js';
import { bootIso, liveQemuCount, qemuAvailable, stripAnsi } from '../helpers/boot-harness.js';
import { makeTempDir, repoRoot } from '../helpers/corpus.js';

const BIOS_MARKER = 'DEPLOYFORGE-E2E-BIOS-7f3a';
// efitools HelloWorld.c draws a box titled "HelloWorld" with this line; firmware never prints it.
const EFI_APP_TEXT = 'This file is used to prove you have managed';

const ready = (await qemuAvailable()) && (await hasTool('xorriso')) && (await hasTool('mformat'));

interface IsoParts {
  biosImage: Uint8Array;
  /** Add the UEFI El Torito entry; without it efisys.bin is still on the disc as a plain file. */
  efiEntry: boolean;
}

async function buildIso(dir: string, name: string, parts: IsoParts): Promise<string> {
  const root = join(dir, `${name}-tree`);
  await mkdir(join(root, 'boot'), { recursive: true });
  await mkdir(join(root, 'efi', 'microsoft', 'boot'), { recursive: true });
  await writeFile(join(root, 'boot', 'etfsboot.com'), parts.biosImage);
  await makeEfiBootImage(join(root, 'efi', 'microsoft', 'boot', 'efisys.bin'));
  const iso = join(dir, `${name}.iso`);
  // xorriso 1.5.4 has no -boot-load-seg; a catalog load segment of 0 means 0x07C0 (El Torito
  // 1.0 §2.5), which is what Windows media ask for.
  const efi = parts.efiEntry ? ['-eltorito-alt-boot', '-e', 'efi/microsoft/boot/efisys.bin', '-no-emul-boot'] : [];
  await runTool('xorriso', ['-as', 'mkisofs', '-quiet', '-o', iso, '-b', 'boot/etfsboot.com', '-no-emul-boot', '-boot-load-size', '8', ...efi, root]);
  return iso;
}

/** Sets the load segment of the initial (default) boot entry. El Torito 1.0 §2.1/§2.2: the
 *  catalog starts with a validation entry (header ID 1, key bytes 55 AA at 0x1E) and the initial
 *  entry follows at 0x20, its load segment a little-endian word at entry offset 2. */
async function setInitialLoadSegment(isoPath: string, segment: number): Promise<void> {
  const iso = await readFile(isoPath);
  for (let at = 0; at + 2048 <= iso.length; at += 2048) {
    if (iso[at] === 0x01 && iso[at + 0x1e] === 0x55 && iso[at + 0x1f] === 0xaa && iso[at + 0x20] === 0x88) {
      iso.writeUInt16LE(segment, at + 0x22);
      await writeFile(isoPath, iso);
      return;
    }
  }
  assert.fail('no El Torito boot catalog found');
}

/** PIDs of running QEMU processes whose command line mentions `isoPath` (Linux /proc). */
async function qemuPidsUsing(isoPath: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (argv[0].endsWith('qemu-system-x86_64') && argv.some((arg) => arg.includes(isoPath))) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

// Run in a child Node process: starts a boot that would last a minute, reports once QEMU runs,
// then on "go" either crashes with an uncaught error or is sent SIGTERM, as a failing test might.
const DYING_PARENT = `
const [harness, iso, how] = process.argv.slice(-3);
const { bootIso, liveQemuCount } = await import(harness);
bootIso(iso, { firmware: 'bios', expect: 'never printed', timeoutMs: 60000 }).catch(() => {});
while (liveQemuCount() === 0) await new Promise((r) => setTimeout(r, 20));
console.log('running');
process.stdin.once('data', () => {
  if (how === 'crash') throw new Error('simulated crash');
  process.kill(process.pid, 'SIGTERM');
});
`;

describe('booting the sample boot images in QEMU', { skip: !ready && 'qemu, firmware, xorriso or mtools missing' }, () => {
  let temp: { path: string; cleanup: () => Promise<void> };
  let fullIso: string;
  let biosOnlyIso: string;
  // How long the positive BIOS boot took; the negative one waits three times as long.
  let biosBootMs = 0;

  before(async () => {
    temp = await makeTempDir('deployforge-boot-');
    fullIso = await buildIso(temp.path, 'full', { biosImage: makeBiosBootImage(BIOS_MARKER), efiEntry: true });
    biosOnlyIso = await buildIso(temp.path, 'bios-only', { biosImage: makeBiosBootImage(BIOS_MARKER), efiEntry: false });
  });
  after(async () => {
    await temp.cleanup();
  });

  test('the test ISO has a BIOS no-emulation entry of 8 sectors and a UEFI entry, like Windows media', async () => {
    const { stdout } = await runTool('xorriso', ['-indev', fullIso, '-report_el_torito', 'plain']);
    assert.match(stdout, /El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+8\s/);
    assert.match(stdout, /El Torito boot img :\s+2\s+UEFI\s+y\s+none\s/);
    assert.match(stdout, /El Torito img path :\s+2\s+\/efi\/microsoft\/boot\/efisys\.bin/);
  });

  test('SeaBIOS runs the BIOS image, which prints its marker on COM1', async (t) => {
    const result = await bootIso(fullIso, { firmware: 'bios', expect: `${BIOS_MARKER}\r\n`, timeoutMs: 60_000 });
    t.diagnostic(`bios boot: ${result.elapsedMs} ms under ${result.accel}`);
    assert.equal(result.seen, true, `serial was: ${JSON.stringify(result.serial)}`);
    biosBootMs = result.elapsedMs;
    assert.equal(liveQemuCount(), 0);
  });

  // SeaBIOS enters the default image at 0000:7C00 (its debug log: "Booting from 0000:7c00") and
  // this one at 2000:0000, so the two tests cover both CS values; absolute addresses would fail here.
  test('the BIOS image runs the same when loaded at segment 0x2000 and entered at 2000:0000', async (t) => {
    const moved = join(temp.path, 'moved.iso');
    await writeFile(moved, await readFile(fullIso));
    await setInitialLoadSegment(moved, 0x2000);
    const result = await bootIso(moved, { firmware: 'bios', expect: `${BIOS_MARKER}\r\n`, timeoutMs: 60_000 });
    t.diagnostic(`bios boot at 2000:0000: ${result.elapsedMs} ms under ${result.accel}`);
    assert.equal(result.seen, true, `serial was: ${JSON.stringify(result.serial)}`);
  });

  test('a BIOS image with a different marker does not match, though it boots and prints its own', async (t) => {
    const other = await buildIso(temp.path, 'other', { biosImage: makeBiosBootImage('SOMETHING-ELSE-ENTIRELY'), efiEntry: false });
    // "Not within three times what the real marker took" (at least 8 s): the image halts for
    // good after printing, so waiting longer could not change the answer.
    const timeoutMs = Math.max(8_000, 3 * biosBootMs);
    const result = await bootIso(other, { firmware: 'bios', expect: BIOS_MARKER, timeoutMs });
    t.diagnostic(`negative bios boot gave up after ${result.elapsedMs} ms under ${result.accel}`);
    assert.equal(result.seen, false);
    assert.ok(result.serial.includes('SOMETHING-ELSE-ENTIRELY\r\n'), `serial was: ${JSON.stringify(result.serial)}`);
    assert.ok(result.elapsedMs >= timeoutMs);
    assert.equal(liveQemuCount(), 0);
  });

  test('OVMF boots EFI/BOOT/BOOTX64.EFI from efisys.bin and the app draws its text on the console', async (t) => {
    const result = await bootIso(fullIso, { firmware: 'uefi', expect: EFI_APP_TEXT, timeoutMs: 120_000 });
    t.diagnostic(`uefi boot: ${result.elapsedMs} ms under ${result.accel}`);
    assert.equal(result.seen, true, `serial was: ${JSON.stringify(stripAnsi(result.serial).slice(-2000))}`);
    assert.match(stripAnsi(result.serial), /HelloWorld/);
    assert.equal(liveQemuCount(), 0);
  });

  test('without the UEFI El Torito entry OVMF fails the disc and moves on; the app never runs', async (t) => {
    // Stop at the app's text or at OVMF giving up on the disc for its built-in shell, the next
    // boot option: once there, nothing can start the app any more, so the answer is final.
    const appOrShell = new RegExp(`${EFI_APP_TEXT}|starting Boot\\d+ "EFI Internal Shell"`);
    const result = await bootIso(biosOnlyIso, { firmware: 'uefi', expect: appOrShell, timeoutMs: 120_000 });
    const text = stripAnsi(result.serial);
    t.diagnostic(`negative uefi boot reached the shell after ${result.elapsedMs} ms under ${result.accel}`);
    assert.equal(result.seen, true, `OVMF never got past the disc: ${JSON.stringify(text.slice(-2000))}`);
    assert.match(text, /BdsDxe: failed to load Boot\d+ "UEFI QEMU DVD-ROM[^"]*" .*: Not Found/);
    assert.ok(!text.includes(EFI_APP_TEXT));
    assert.equal(liveQemuCount(), 0);
  });

  for (const how of ['crash', 'sigterm'] as const) {
    test(`QEMU does not outlive a test process that ends by ${how === 'crash' ? 'an uncaught error' : 'SIGTERM'}`, async () => {
      // A copy with its own name, so only this test's QEMU matches the /proc search.
      const iso = join(temp.path, `orphan-${how}.iso`);
      await copyFile(fullIso, iso);
      const harness = join(repoRoot, 'test', 'helpers', 'boot-harness.ts');
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', DYING_PARENT, harness, iso, how], {
        cwd: repoRoot,
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      const exited = once(child, 'exit');
      try {
        await once(child.stdout, 'data');
        assert.equal((await qemuPidsUsing(iso)).length, 1, 'control: the child really started QEMU');
        child.stdin.write('go\n');
        const [code, signal] = await exited;
        assert.ok(code !== 0 || signal !== null, `child should have died, got ${code}/${signal}`);
        // SIGKILL is asynchronous; give the kernel a moment to reap QEMU.
        let left = await qemuPidsUsing(iso);
        for (let i = 0; i < 50 && left.length > 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
          left = await qemuPidsUsing(iso);
        }
        assert.deepEqual(left, []);
      } finally {
        child.kill('SIGKILL');
        for (const pid of await qemuPidsUsing(iso)) process.kill(pid, 'SIGKILL');
      }
    });
  }

  test('a missing ISO is a QEMU failure, not a silent "not seen", and leaves no QEMU running', async () => {
    await assert.rejects(bootIso(join(temp.path, 'absent.iso'), { firmware: 'bios', expect: 'x', timeoutMs: 30_000 }), { code: 'DF_TOOL_FAILED' });
    assert.equal(liveQemuCount(), 0);
  });
});
