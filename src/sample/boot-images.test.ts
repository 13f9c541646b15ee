// Unit tests of the sample media's boot images: the hand-assembled BIOS image is checked byte by
// byte and against objdump's independent disassembly; the FAT image is read back with mtools
// and fsck.fat. Booting them in QEMU is test/e2e/boot.test.ts.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { hasTool, runTool } from '../util/exec.js';
import { BIOS_BOOT_CODE, BIOS_BOOT_IMAGE_SIZE, BIOS_BOOT_MARKER_OFFSET, MAX_MARKER_LENGTH, makeBiosBootImage } from './bios-boot-image.js';
import { EFITOOLS_HELLO_WORLD_PATH, makeEfiBootImage } from './efi-boot-image.js';

const MARKER = 'DEPLOYFORGE-SAMPLE-BIOS-OK';
const haveObjdump = await hasTool('objdump');
const haveMtools = (await hasTool('mformat')) && (await hasTool('fsck.fat'));

describe('makeBiosBootImage', () => {
  test('is exactly 4096 bytes, the 8-sector load size of etfsboot.com', () => {
    assert.equal(makeBiosBootImage(MARKER).byteLength, 4096);
    assert.equal(BIOS_BOOT_IMAGE_SIZE, 4096);
  });

  test('starts with cli (0xFA) and holds the marker, CR LF and a NUL right after the code', () => {
    const image = makeBiosBootImage(MARKER);
    assert.equal(image[0], 0xfa);
    const text = Buffer.from(image.subarray(BIOS_BOOT_MARKER_OFFSET, BIOS_BOOT_MARKER_OFFSET + MARKER.length + 3)).toString('latin1');
    assert.equal(text, `${MARKER}\r\n\0`);
    assert.ok(image.subarray(BIOS_BOOT_MARKER_OFFSET + MARKER.length + 2).every((b) => b === 0));
  });

  test('differs only in the text for different markers', () => {
    const a = makeBiosBootImage('AAAA');
    const b = makeBiosBootImage('BBBB');
    assert.deepEqual(a.subarray(0, BIOS_BOOT_MARKER_OFFSET), b.subarray(0, BIOS_BOOT_MARKER_OFFSET));
    assert.notDeepEqual(a, b);
  });

  test('add si points from the call return address to the marker', () => {
    // call pushes the offset of the byte after it; `add si,imm16` must reach the text from there.
    const image = makeBiosBootImage(MARKER);
    const callAt = image.indexOf(0xe8);
    const nextOffset = callAt + 3;
    assert.deepEqual([...image.subarray(nextOffset, nextOffset + 3)], [0x5e, 0x81, 0xc6]);
    const displacement = image[nextOffset + 3] | (image[nextOffset + 4] << 8);
    assert.equal(nextOffset + displacement, BIOS_BOOT_MARKER_OFFSET);
  });

  test('accepts a 200-character marker and rejects empty, too long, control and non-ASCII markers', () => {
    assert.equal(makeBiosBootImage('x'.repeat(MAX_MARKER_LENGTH)).byteLength, 4096);
    for (const bad of ['', 'x'.repeat(MAX_MARKER_LENGTH + 1), 'a\nb', 'tab\there', 'café', 'nul\0']) {
      assert.throws(() => makeBiosBootImage(bad), { code: 'DF_BAD_BOOT_MARKER' }, JSON.stringify(bad));
    }
  });

  test('objdump decodes the bytes into the instructions the listing documents', { skip: !haveObjdump && 'objdump (binutils) not installed' }, async () => {
    const temp = await makeTempDir();
    try {
      const file = join(temp.path, 'etfsboot.com');
      await writeFile(file, makeBiosBootImage(MARKER));
      const { stdout } = await runTool('objdump', ['-D', '-b', 'binary', '-m', 'i8086', '-M', 'intel', `--stop-address=${BIOS_BOOT_MARKER_OFFSET}`, file]);
      const decoded = stdout
        .split('\n')
        .map((line) => /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ offset: Number.parseInt(m[1], 16), bytes: m[2].trim(), asm: m[3].replace(/\s+/g, ' ').trim() }));

      const labels = new Map<string, number>();
      let offset = 0;
      for (const instruction of BIOS_BOOT_CODE) {
        if (instruction.label) labels.set(instruction.label, offset);
        offset += instruction.bytes.length;
      }
      assert.equal(offset, BIOS_BOOT_MARKER_OFFSET);
      assert.equal(decoded.length, BIOS_BOOT_CODE.length);

      // objdump spells a few mnemonics differently and prints branch targets as offsets.
      const spelling: Record<string, string> = { jz: 'je', jnz: 'jne', lodsb: 'lods al,BYTE PTR ds:[si]' };
      offset = 0;
      BIOS_BOOT_CODE.forEach((instruction, i) => {
        const [mnemonic, operand] = instruction.asm.split(' ');
        let expected = spelling[mnemonic] ?? mnemonic;
        if (operand !== undefined) {
          const target = labels.get(operand);
          expected += ` ${target !== undefined ? `0x${target.toString(16)}` : operand}`;
        }
        assert.equal(decoded[i].offset, offset, `offset of ${instruction.asm}`);
        assert.equal(decoded[i].bytes, instruction.bytes.map((b) => b.toString(16).padStart(2, '0')).join(' '));
        assert.equal(decoded[i].asm, expected);
        offset += instruction.bytes.length;
      });
    } finally {
      await temp.cleanup();
    }
  });
});

describe('makeEfiBootImage', { skip: !haveMtools && 'mtools or dosfstools not installed' }, () => {
  let temp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    temp = await makeTempDir();
  });
  after(async () => {
    await temp.cleanup();
  });

  test('holds HelloWorld.efi as EFI/BOOT/BOOTX64.EFI in a 1.44 MB FAT12 image that fsck.fat accepts', async () => {
    const image = join(temp.path, 'efisys.bin');
    await makeEfiBootImage(image);
    assert.equal((await stat(image)).size, 1440 * 1024);
    const app = await readFile(EFITOOLS_HELLO_WORLD_PATH);
    const { stdout } = await runTool('mdir', ['-i', image, '::/EFI/BOOT']);
    assert.match(stdout, new RegExp(`^BOOTX64\\s+EFI\\s+${app.byteLength}\\s`, 'm'));
    const copy = await runTool('mcopy', ['-i', image, '::/EFI/BOOT/BOOTX64.EFI', '-'], { binary: true });
    assert.ok(copy.stdout.equals(app));
    // fsck.fat -n exits 0 only for a clean file system; runTool throws on any other status.
    await runTool('fsck.fat', ['-n', image]);
    // Control: the same image with its first FAT's start overwritten is one fsck rejects.
    const broken = Buffer.from(await readFile(image));
    broken.fill(0xff, 512 + 20, 512 + 24);
    const brokenPath = join(temp.path, 'broken.bin');
    await writeFile(brokenPath, broken);
    await assert.rejects(runTool('fsck.fat', ['-n', brokenPath]), { code: 'DF_TOOL_FAILED' });
    // Microsoft FAT spec: FAT12 below 4085 clusters; file(1)-independent check of the BPB type.
    const boot = await readFile(image);
    assert.equal(boot.subarray(54, 62).toString('ascii'), 'FAT12   ');
    assert.equal(boot.readUInt16LE(510), 0xaa55);
  });

  test('takes the app as bytes, and grows the image when the app needs more than 1440 KiB', async () => {
    const app = Buffer.alloc(3 * 1024 * 1024, 0x90);
    app.set(await readFile(EFITOOLS_HELLO_WORLD_PATH));
    const image = join(temp.path, 'big.bin');
    await makeEfiBootImage(image, app);
    assert.ok((await stat(image)).size > 3 * 1024 * 1024);
    const copy = await runTool('mcopy', ['-i', image, '::/EFI/BOOT/BOOTX64.EFI', '-'], { binary: true });
    assert.ok(copy.stdout.equals(app));
    await runTool('fsck.fat', ['-n', image]);
  });

  test('honours an explicit size and rejects one too small for the app', async () => {
    const image = join(temp.path, 'sized.bin');
    await makeEfiBootImage(image, EFITOOLS_HELLO_WORLD_PATH, { sizeKiB: 2048 });
    assert.equal((await stat(image)).size, 2048 * 1024);
    await runTool('fsck.fat', ['-n', image]);
    await assert.rejects(makeEfiBootImage(join(temp.path, 'tiny.bin'), EFITOOLS_HELLO_WORLD_PATH, { sizeKiB: 64 }), { code: 'DF_EFI_IMAGE_TOO_SMALL' });
    await assert.rejects(makeEfiBootImage(join(temp.path, 'odd.bin'), EFITOOLS_HELLO_WORLD_PATH, { sizeKiB: 100.5 }), { code: 'DF_BAD_EFI_IMAGE_SIZE' });
  });

  test('rejects files that are not x64 PE images and leaves no output behind', async () => {
    const out = join(temp.path, 'never.bin');
    await assert.rejects(makeEfiBootImage(out, Buffer.from('not a PE file, just text padding it out past 64 bytes......')), { code: 'DF_BAD_EFI_APP' });
    const arm = Buffer.from(await readFile(EFITOOLS_HELLO_WORLD_PATH));
    arm.writeUInt16LE(0xaa64, arm.readUInt32LE(0x3c) + 4);
    await assert.rejects(makeEfiBootImage(out, arm), { code: 'DF_BAD_EFI_APP' });
    await assert.rejects(makeEfiBootImage(out, join(temp.path, 'missing.efi')), { code: 'DF_NOT_FOUND' });
    await assert.rejects(stat(out), { code: 'ENOENT' });
  });
});
