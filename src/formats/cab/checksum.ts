// The CFDATA checksum of MS-CAB 2.4 ("Checksum method"): XOR of little-endian 32-bit words,
// with a trailing 1–3 bytes packed in reverse order. It is not a CRC; it only catches damage.

/** XOR-folds `bytes` into `seed` the way MS-CAB's CSUMCompute does. */
export function cabChecksum(bytes: Uint8Array, seed = 0): number {
  let sum = seed >>> 0;
  const whole = bytes.length & ~3;
  for (let i = 0; i < whole; i += 4) {
    sum ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
  }
  // The spec's switch falls through from the highest case: the first leftover byte lands in
  // the highest position used, the last leftover byte in bits 0–7.
  let tail = 0;
  for (let i = whole; i < bytes.length; i++) tail = (tail << 8) | bytes[i];
  return (sum ^ tail) >>> 0;
}

/** The checksum stored in a CFDATA header: over the data `ab`, then over the header bytes after
 *  csum (cbData, cbUncomp and any abReserve), per MS-CAB 2.4 "cbData through ab". */
export function cfdataChecksum(data: Uint8Array, headerAfterCsum: Uint8Array): number {
  return cabChecksum(headerAfterCsum, cabChecksum(data, 0));
}
