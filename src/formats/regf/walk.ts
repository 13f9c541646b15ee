// Visits every key of a hive once, depth-first in stored order, without recursion. A key node
// reachable twice (shared between parents, or a cycle) is a FormatError, so a damaged hive can
// never make the walk repeat work or run forever. It does not read values; callers do.
import { FormatError } from '../../errors.js';
import type { Hive, RegistryKey } from './hive.js';

/** Cells seen, one bit per 8-byte cell slot (cells are 8-aligned): far cheaper than a Set of
 *  hundreds of thousands of offsets. Sized from the hive's data, so every offset cell() has
 *  checked lies inside a bin has its bit. */
export class SeenCells {
  private readonly bits: Uint8Array;

  constructor(dataSize: number) {
    this.bits = new Uint8Array((dataSize >>> 6) + 1);
  }

  /** Marks `offset` seen; true when it already was. */
  seenBefore(offset: number): boolean {
    const slot = offset >>> 3;
    const bit = 1 << (slot & 7);
    if (this.bits[slot >>> 3] & bit) return true;
    this.bits[slot >>> 3] |= bit;
    return false;
  }
}

export function* walkKeys(hive: Hive, start: RegistryKey = hive.root): Generator<RegistryKey> {
  // (Sized from the hive the keys are loaded from.)
  const seen = new SeenCells(start.hive.cells.dataSize);
  seen.seenBefore(start.record.offset);
  const stack: RegistryKey[] = [start];
  while (stack.length > 0) {
    const key = stack.pop() as RegistryKey;
    yield key;
    const children = key.subkeys();
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i];
      if (seen.seenBefore(child.record.offset)) {
        throw new FormatError(
          'DF_HIVE_KEY_CYCLE',
          `${hive.name}: key node at 0x${child.record.offset.toString(16)} is reachable from more than one parent (${key.path || '(root)'}); the hive is corrupt`,
          { offset: child.record.offset },
        );
      }
      stack.push(child);
    }
  }
}
