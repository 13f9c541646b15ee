// Filler files that give sample media a realistic size and compressibility: each 4 KiB block is
// part pseudo-random bytes (incompressible) and part text drawn from a small vocabulary (highly
// compressible), in a ratio that makes LZX reach about 2:1, like real Windows system files.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { SeededRandom } from './prng.js';

const BLOCK = 4096;
/** Share of each block that is random; measured to give ~2:1 under wimlib's LZX (see bench/). */
export const RANDOM_SHARE = 0.41;

const WORDS = [
  'Windows',
  'System32',
  'driver',
  'service',
  'manifest',
  'registry',
  'component',
  'amd64',
  'neutral',
  'resource',
  'Microsoft',
  'version',
  'assembly',
  'policy',
  'catalog',
  'update',
];

/** Fills `block` deterministically from `random`. */
export function fillBlock(block: Uint8Array, random: SeededRandom): void {
  const randomBytes = Math.floor(block.length * RANDOM_SHARE);
  random.fill(block.subarray(0, randomBytes));
  let at = randomBytes;
  while (at < block.length) {
    const word = WORDS[random.nextU32() & 15];
    for (let i = 0; i < word.length && at < block.length; i++) block[at++] = word.charCodeAt(i);
    if (at < block.length) block[at++] = 0x20;
  }
}

/** Writes a filler file of `size` bytes; the content depends only on `seed`. */
export async function writeFillerFile(path: string, size: number, seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  async function* blocks() {
    for (let left = size; left > 0; ) {
      const n = Math.min(BLOCK * 256, left);
      const chunk = new Uint8Array(n);
      for (let off = 0; off < n; off += BLOCK) fillBlock(chunk.subarray(off, Math.min(off + BLOCK, n)), random);
      left -= n;
      yield chunk;
    }
  }
  await pipeline(blocks(), createWriteStream(path));
}
