// A minimal PE header, enough for tools that read a binary's machine type (wimlib reads
// System32/kernel32.dll's to set WINDOWS/ARCH in the WIM XML). It is not a runnable program.
// Layout facts: Microsoft PE/COFF specification §2 (MS-DOS stub, e_lfanew at 0x3C, "PE\0\0"
// signature, COFF header Machine field) and §3.3.

export const MACHINE_AMD64 = 0x8664;

export function makePeStub(machine = MACHINE_AMD64, size = 1024): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x4d; // 'M'
  bytes[1] = 0x5a; // 'Z'
  const peOffset = 0x80; // must be 4-byte aligned
  view.setUint32(0x3c, peOffset, true);
  bytes.set([0x50, 0x45, 0, 0], peOffset); // "PE\0\0"
  view.setUint16(peOffset + 4, machine, true); // COFF Machine
  view.setUint16(peOffset + 6, 0, true); // NumberOfSections
  view.setUint16(peOffset + 20, 0, true); // SizeOfOptionalHeader
  view.setUint16(peOffset + 22, 0x2022, true); // Characteristics: EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE | DLL
  return bytes;
}
