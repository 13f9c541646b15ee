// A small seeded pseudo-random generator (xorshift128) so sample media are the same bytes for
// the same seed on every machine. Not for anything that needs real randomness.

export class SeededRandom {
  private x: number;
  private y: number;
  private z: number;
  private w: number;

  constructor(seed: number) {
    // Spread the seed over the four words with splitmix32 steps; an all-zero state would stick.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let t = s ^ (s >>> 16);
      t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.x = next();
    this.y = next();
    this.z = next();
    this.w = next() | 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const t = this.x ^ (this.x << 11);
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + (this.nextU32() % (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.nextU32() % items.length];
  }

  /** Fills `out` with pseudo-random bytes. */
  fill(out: Uint8Array): void {
    const words = Math.floor(out.length / 4);
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < words; i++) view.setUint32(i * 4, this.nextU32(), true);
    for (let i = words * 4; i < out.length; i++) out[i] = this.nextU32() & 0xff;
  }
}
