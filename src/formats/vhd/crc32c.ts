// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of VHDX headers, region
// tables and log entries (MS-VHDX 2.2.2). Table-driven and small on purpose: it only ever runs
// over a few 4-64 KiB structures per open, so no slicing-by-8 or hardware path.

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
