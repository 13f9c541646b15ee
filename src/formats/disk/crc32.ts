// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as GPT uses it for its header and entry
// array (UEFI spec 5.3.2). Written here because node:zlib only gained crc32 in Node 22; this is a
// plain table-driven version, not a fast slicing one: GPT checksums cover a few KiB at most.

const TABLE = buildTable(0xedb88320);

function buildTable(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? polynomial ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 of `bytes`; pass a previous result as `seed` to continue a running checksum. */
export function crc32(bytes: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
