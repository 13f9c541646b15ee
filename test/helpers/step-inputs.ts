// Inputs for build tests that use the drivers and updates steps: corpus virtio-win INFs stamped the
// way their build stamps them, and small update packages made by gcab with an update.mum.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../../src/util/exec.js';

/** What the virtio-win build writes in place of its INX_ words, and stampinf in place of $ARCH$. */
export function stampInf(template: string, arch: string): string {
  const words: Array<[RegExp, string]> = [
    [/\$ARCH\$/g, arch],
    [/\$KMDFVERSION\$/g, '1.15'],
    [/INX_COPYRIGHT_\d/g, 'Copyright (c) Red Hat, Inc.'],
    [/INX_COMPANY/g, 'Red Hat, Inc.'],
    [/INX_PREFIX_(VENDOR|VIRTIO|QEMU)/g, 'Red Hat '],
    [/INX_PLATFORM_DRIVERS_DIR/g, '13'],
    [/INX_SUBSYS_VENDOR_ID/g, '1AF4'],
    [/INX_BASE_ON_SYSTEM_ROOT_DRIVER_DIR/g, '\\SystemRoot\\System32\\DriverStore'],
  ];
  return words.reduce((text, [pattern, value]) => text.replace(pattern, value), template);
}

/** An update.mum naming one package (CBS assembly identity). */
export const updateMum = (name: string, version: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\r\n<assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0">\r\n  <assemblyIdentity name="${name}" version="${version}" language="neutral" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35"/>\r\n</assembly>\r\n`;

export async function putFile(path: string, content: string | Uint8Array): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
}

/** A cabinet `out` made by gcab from `files` (name → content) written into `dir` first. */
export async function makeCab(out: string, dir: string, files: Record<string, string | Uint8Array>, compress: boolean): Promise<void> {
  for (const [name, content] of Object.entries(files)) await putFile(join(dir, name), content);
  await mkdir(join(out, '..'), { recursive: true });
  await runTool('gcab', ['-c', ...(compress ? ['-z'] : []), '-n', out, ...Object.keys(files).map((f) => join(dir, f))]);
}
