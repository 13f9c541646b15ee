// The BIOS boot image of the sample install media: a hand-assembled, 4096-byte El Torito
// no-emulation image (boot/etfsboot.com's slot) that prints a marker line on COM1 and on screen,
// then halts, so a test can tell that firmware really loaded and ran the BIOS entry.
// It deliberately does not load anything else, read the disc, or use any assembler: the machine
// code is the byte table below, and the tests check it against objdump's disassembly.
import { InputError } from '../errors.js';

/** One hand-assembled instruction: its bytes and the Intel-syntax text they encode. */
export interface BiosBootInstruction {
  readonly bytes: readonly number[];
  readonly asm: string;
  /** A name other instructions' comments refer to (branch targets). */
  readonly label?: string;
}

/** Size of the image: 8 sectors of 512 bytes, the load size Windows media use for etfsboot.com
 *  (El Torito 1.0 §2.5 "sector count", counted in 512-byte virtual sectors). */
export const BIOS_BOOT_IMAGE_SIZE = 8 * 512;

/** Longest marker accepted; far below the room left in the image, and one screen line or so. */
export const MAX_MARKER_LENGTH = 200;

// 16550 UART registers at COM1 (base 0x3F8), from the National Semiconductor PC16550D data sheet:
// +0 THR / divisor latch low, +1 IER / divisor latch high, +2 FCR, +3 LCR (bit 7 = DLAB),
// +4 MCR, +5 LSR (bit 5 = transmit holding register empty).
//
// Real mode, 16-bit. The BIOS may enter at 0000:7C00 or 07C0:0000 (El Torito 1.0 §2.5 lets the
// load segment be 0x07C0 and says nothing about the offset), so nothing below uses an absolute
// address of our own: DS is copied from CS and the string address comes from call/pop.
// Branch displacements are relative to the next instruction (Intel SDM vol. 2, JMP/Jcc/LOOP).
const PROLOGUE: readonly BiosBootInstruction[] = [
  { bytes: [0xfa], asm: 'cli' }, //                          FA        no interrupts while SS:SP changes
  { bytes: [0xfc], asm: 'cld' }, //                          FC        lodsb walks forward
  { bytes: [0x31, 0xc0], asm: 'xor ax,ax' }, //              31 C0
  { bytes: [0x8e, 0xd0], asm: 'mov ss,ax' }, //              8E D0     stack below the image,
  { bytes: [0xbc, 0x00, 0x7c], asm: 'mov sp,0x7c00' }, //    BC 00 7C  linear 0x7C00 either way
  { bytes: [0xfb], asm: 'sti' }, //                          FB        INT 10h may need interrupts
  { bytes: [0x0e], asm: 'push cs' }, //                      0E
  { bytes: [0x1f], asm: 'pop ds' }, //                       1F        DS = CS, whichever CS it is
  { bytes: [0xe8, 0x00, 0x00], asm: 'call next' }, //        E8 00 00  pushes the offset of `next`
  { bytes: [0x5e], asm: 'pop si', label: 'next' }, //        5E        SI = offset of `next` in CS
];

/** `add si,imm16` (81 /0 iw, ModRM C6): the distance from `next` to the marker, patched in. */
const ADD_SI_OPCODE = [0x81, 0xc6] as const;

const BODY: readonly BiosBootInstruction[] = [
  // UART setup: interrupts off, 115200 baud (divisor 1), 8 data bits, no parity, 1 stop bit.
  { bytes: [0xba, 0xf9, 0x03], asm: 'mov dx,0x3f9' }, //     BA F9 03  IER
  { bytes: [0x30, 0xc0], asm: 'xor al,al' }, //              30 C0
  { bytes: [0xee], asm: 'out dx,al' }, //                    EE        no UART interrupts
  { bytes: [0xba, 0xfb, 0x03], asm: 'mov dx,0x3fb' }, //     BA FB 03  LCR
  { bytes: [0xb0, 0x80], asm: 'mov al,0x80' }, //            B0 80
  { bytes: [0xee], asm: 'out dx,al' }, //                    EE        DLAB = 1: +0/+1 are the divisor
  { bytes: [0xba, 0xf8, 0x03], asm: 'mov dx,0x3f8' }, //     BA F8 03  divisor low
  { bytes: [0xb0, 0x01], asm: 'mov al,0x1' }, //             B0 01
  { bytes: [0xee], asm: 'out dx,al' }, //                    EE        115200 / 1
  { bytes: [0x42], asm: 'inc dx' }, //                       42        divisor high (0x3F9)
  { bytes: [0x30, 0xc0], asm: 'xor al,al' }, //              30 C0
  { bytes: [0xee], asm: 'out dx,al' }, //                    EE
  { bytes: [0xba, 0xfb, 0x03], asm: 'mov dx,0x3fb' }, //     BA FB 03  LCR
  { bytes: [0xb0, 0x03], asm: 'mov al,0x3' }, //             B0 03
  { bytes: [0xee], asm: 'out dx,al' }, //                    EE        8N1, DLAB = 0
  { bytes: [0xba, 0xfa, 0x03], asm: 'mov dx,0x3fa' }, //     BA FA 03  FCR
  { bytes: [0xb0, 0xc7], asm: 'mov al,0xc7' }, //            B0 C7
  { bytes: [0xee], asm: 'out dx,al' }, //                    EE        FIFO on and cleared
  { bytes: [0xba, 0xfc, 0x03], asm: 'mov dx,0x3fc' }, //     BA FC 03  MCR
  { bytes: [0xb0, 0x03], asm: 'mov al,0x3' }, //             B0 03
  { bytes: [0xee], asm: 'out dx,al' }, //                    EE        DTR + RTS
  // Print the NUL-terminated string at DS:SI.
  { bytes: [0xac], asm: 'lodsb', label: 'print' }, //        AC        AL = [DS:SI++]
  { bytes: [0x84, 0xc0], asm: 'test al,al' }, //             84 C0
  { bytes: [0x74, 0x20], asm: 'jz done' }, //                74 20     +32
  { bytes: [0x88, 0xc4], asm: 'mov ah,al' }, //              88 C4     keep the character in AH
  { bytes: [0xba, 0xfd, 0x03], asm: 'mov dx,0x3fd' }, //     BA FD 03  LSR
  { bytes: [0xb9, 0xff, 0xff], asm: 'mov cx,0xffff' }, //    B9 FF FF  bounded wait: no UART, no hang
  { bytes: [0xec], asm: 'in al,dx', label: 'wait' }, //      EC
  { bytes: [0xa8, 0x20], asm: 'test al,0x20' }, //           A8 20     THR empty?
  { bytes: [0x75, 0x02], asm: 'jnz ready' }, //              75 02     +2
  { bytes: [0xe2, 0xf9], asm: 'loop wait' }, //              E2 F9     -7
  { bytes: [0x88, 0xe0], asm: 'mov al,ah', label: 'ready' }, // 88 E0
  { bytes: [0xba, 0xf8, 0x03], asm: 'mov dx,0x3f8' }, //     BA F8 03  THR
  { bytes: [0xee], asm: 'out dx,al' }, //                    EE        to COM1
  { bytes: [0xb4, 0x0e], asm: 'mov ah,0xe' }, //             B4 0E     INT 10h teletype output
  { bytes: [0xbb, 0x07, 0x00], asm: 'mov bx,0x7' }, //       BB 07 00  page 0, light grey
  { bytes: [0x56], asm: 'push si' }, //                      56        some BIOSes clobber SI
  { bytes: [0xcd, 0x10], asm: 'int 0x10' }, //               CD 10     to the screen
  { bytes: [0x5e], asm: 'pop si' }, //                       5E
  { bytes: [0xeb, 0xdb], asm: 'jmp print' }, //              EB DB     -37
  // Stop for good: with interrupts off, HLT only wakes for NMI/SMI, and then halts again.
  { bytes: [0xfa], asm: 'cli', label: 'done' }, //           FA
  { bytes: [0xf4], asm: 'hlt', label: 'halt' }, //           F4
  { bytes: [0xeb, 0xfd], asm: 'jmp halt' }, //               EB FD     -3
];

function byteLength(list: readonly BiosBootInstruction[]): number {
  return list.reduce((sum, instruction) => sum + instruction.bytes.length, 0);
}

/** Offset of `next` (the address the call pushes) and of the marker text, fixed by the table. */
const NEXT_OFFSET = byteLength(PROLOGUE) - 1;
const CODE_LENGTH = byteLength(PROLOGUE) + ADD_SI_OPCODE.length + 2 + byteLength(BODY);

/** The full listing with the `add si` displacement filled in; the marker text follows it. */
export const BIOS_BOOT_CODE: readonly BiosBootInstruction[] = [
  ...PROLOGUE,
  {
    bytes: [...ADD_SI_OPCODE, (CODE_LENGTH - NEXT_OFFSET) & 0xff, (CODE_LENGTH - NEXT_OFFSET) >> 8],
    asm: `add si,0x${(CODE_LENGTH - NEXT_OFFSET).toString(16)}`, //   81 C6 iw  SI = marker text
  },
  ...BODY,
];

/** Where the marker text starts in the image. */
export const BIOS_BOOT_MARKER_OFFSET = CODE_LENGTH;

/** Throws InputError unless `marker` is 1–200 printable ASCII characters. */
export function checkBootMarker(marker: string): void {
  if (marker.length === 0 || marker.length > MAX_MARKER_LENGTH || !/^[\x20-\x7e]+$/.test(marker)) {
    throw new InputError('DF_BAD_BOOT_MARKER', `boot marker must be 1 to ${MAX_MARKER_LENGTH} printable ASCII characters: choose a plain text marker`, { length: marker.length });
  }
}

/** A 4096-byte no-emulation boot image that prints `marker` + CR LF on COM1 and the screen,
 *  then halts forever. */
export function makeBiosBootImage(marker: string): Uint8Array {
  checkBootMarker(marker);
  const image = new Uint8Array(BIOS_BOOT_IMAGE_SIZE);
  let at = 0;
  for (const instruction of BIOS_BOOT_CODE) {
    image.set(instruction.bytes, at);
    at += instruction.bytes.length;
  }
  // The string ends with a NUL, which the rest of the zero-filled image already provides.
  image.set(Buffer.from(`${marker}\r\n`, 'ascii'), at);
  return image;
}
