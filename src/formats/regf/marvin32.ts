// Marvin32, the keyed hash Windows uses to protect HvLE log entries (Suhanov §New format,
// Hash-1/Hash-2). Only what log validation needs: a 64-bit seed in, the 64-bit state out.
// It is not a general-purpose or constant-time implementation.

const rotl = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;

/** Returns (hi << 32) | lo of the final Marvin state, as Windows stores it in the log entry. */
export function marvin32(data: Uint8Array, seed: bigint): bigint {
  let lo = Number(seed & 0xffffffffn);
  let hi = Number((seed >> 32n) & 0xffffffffn);
  const mix = () => {
    hi = (hi ^ lo) >>> 0;
    lo = rotl(lo, 20);
    lo = (lo + hi) >>> 0;
    hi = rotl(hi, 9);
    hi = (hi ^ lo) >>> 0;
    lo = rotl(lo, 27);
    lo = (lo + hi) >>> 0;
    hi = rotl(hi, 19);
  };
  let i = 0;
  for (; i + 4 <= data.length; i += 4) {
    lo = (lo + ((data[i] | (data[i + 1] << 8) | (data[i + 2] << 16)) + data[i + 3] * 0x1000000)) >>> 0;
    mix();
  }
  // The tail is padded with a single 0x80 byte, then zeros, to a full dword.
  let last = 0x80;
  for (let k = data.length - 1; k >= i; k--) last = ((last << 8) | data[k]) >>> 0;
  lo = (lo + last) >>> 0;
  mix();
  mix();
  return (BigInt(hi) << 32n) | BigInt(lo);
}
