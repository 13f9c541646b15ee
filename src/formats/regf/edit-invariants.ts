// Test support, not product code: checks the on-disk invariants of an edited hive that no
// oracle tool verifies, by walking the raw bytes itself (it does not use the reader): bins tile
// the file, cells tile their bins with no two free neighbours, every record is referenced once,
// lists are sorted with right hashes, nk maxima hold, and sk refcounts and links are exact.
import assert from 'node:assert/strict';
import { lhHash, upcaseName } from './names.js';

export interface HiveLayout {
  /** Allocated cells nothing in the key tree points to (a hive from Windows may have some). */
  unreachable: number[];
  freeBytes: number;
  binsSize: number;
}

const NONE = 0xffffffff;

function lfHintOf(name: string): number {
  let h = 0;
  for (let i = 0; i < 4 && i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff) break;
    h |= c << (8 * i);
  }
  return h >>> 0;
}

export function checkHiveLayout(bytes: Uint8Array): HiveLayout {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(b.toString('latin1', 0, 4), 'regf');
  assert.equal(b.readUInt32LE(4), b.readUInt32LE(8), 'sequence numbers equal (clean)');
  let sum = 0;
  for (let o = 0; o < 508; o += 4) sum = (sum ^ b.readUInt32LE(o)) >>> 0;
  if (sum === 0) sum = 1;
  if (sum === 0xffffffff) sum = 0xfffffffe;
  assert.equal(b.readUInt32LE(508), sum, 'base block checksum');
  const minor = b.readUInt32LE(24);
  const binsSize = b.readUInt32LE(40);
  assert.equal(binsSize % 4096, 0, 'hive-bins size is a multiple of 4096');
  assert.equal(b.length, 4096 + binsSize, 'file ends where the last bin ends');

  // Cells: offset → [size, allocated]
  const cells = new Map<number, { size: number; allocated: boolean }>();
  let freeBytes = 0;
  for (let bin = 0; bin < binsSize; ) {
    const at = 4096 + bin;
    assert.equal(b.toString('latin1', at, at + 4), 'hbin', `hbin at ${bin}`);
    assert.equal(b.readUInt32LE(at + 4), bin, 'hbin offset field');
    const size = b.readUInt32LE(at + 8);
    assert.ok(size >= 4096 && size % 4096 === 0, 'hbin size');
    let cell = bin + 32;
    let previousFree = false;
    while (cell < bin + size) {
      const raw = b.readInt32LE(4096 + cell);
      const cs = Math.abs(raw);
      assert.ok(cs >= 8 && cs % 8 === 0 && cell + cs <= bin + size, `cell at ${cell} (size ${raw}) fits its bin`);
      const allocated = raw < 0;
      assert.ok(allocated || !previousFree, `free cells at ${cell} and before it are coalesced`);
      previousFree = !allocated;
      if (!allocated) freeBytes += cs;
      cells.set(cell, { size: cs, allocated });
      cell += cs;
    }
    assert.equal(cell, bin + size, 'cells tile the bin exactly');
    bin += size;
  }

  const referenced = new Set<number>();
  const payload = (offset: number, what: string, shared = false): Buffer => {
    const c = cells.get(offset);
    assert.ok(c?.allocated, `${what} at ${offset} is an allocated cell`);
    if (!shared) {
      assert.ok(!referenced.has(offset), `${what} at ${offset} is referenced only once`);
    }
    referenced.add(offset);
    return b.subarray(4096 + offset + 4, 4096 + offset + c.size);
  };

  const skRefs = new Map<number, number>();
  const nameOf = (nk: Buffer): string => {
    const len = nk.readUInt16LE(72);
    const raw = nk.subarray(76, 76 + len);
    return nk.readUInt16LE(2) & 0x20 ? raw.toString('latin1') : raw.toString('utf16le');
  };
  const stack: [number, number][] = [[b.readUInt32LE(36), NONE]];
  while (stack.length > 0) {
    const [offset, parent] = stack.pop() as [number, number];
    const nk = payload(offset, 'nk');
    assert.equal(nk.toString('latin1', 0, 2), 'nk');
    const name = nameOf(nk);
    if (nk.readUInt16LE(2) & 0x20) assert.ok([...name].every((c) => c.charCodeAt(0) <= 0xff));
    if (parent !== NONE) assert.equal(nk.readUInt32LE(16), parent, `parent of ${name}`);
    const sk = nk.readUInt32LE(44);
    skRefs.set(sk, (skRefs.get(sk) ?? 0) + 1);
    const classOffset = nk.readUInt32LE(48);
    if (classOffset !== NONE && nk.readUInt16LE(74) > 0) payload(classOffset, 'class name');
    // Subkeys
    const count = nk.readUInt32LE(20);
    const children: { key: number; hint: number; kind: string }[] = [];
    if (count > 0) {
      const list = nk.readUInt32LE(28);
      const top = payload(list, 'subkey list');
      const kind = top.toString('latin1', 0, 2);
      const leaves: number[] = [];
      if (kind === 'ri') {
        for (let i = 0; i < top.readUInt16LE(2); i++) leaves.push(top.readUInt32LE(4 + 4 * i));
      } else leaves.push(list);
      for (const leafOffset of leaves) {
        const leaf = leafOffset === list ? top : payload(leafOffset, 'leaf');
        const lk = leaf.toString('latin1', 0, 2);
        assert.ok(['li', 'lf', 'lh'].includes(lk), `leaf kind ${lk}`);
        const n = leaf.readUInt16LE(2);
        assert.ok(n > 0, 'no empty leaves');
        assert.ok(n <= 1012, 'leaf size');
        const stride = lk === 'li' ? 4 : 8;
        for (let i = 0; i < n; i++) children.push({ key: leaf.readUInt32LE(4 + stride * i), hint: stride === 8 ? leaf.readUInt32LE(8 + stride * i) : 0, kind: lk });
      }
      assert.equal(children.length, count, `subkey count of ${name}`);
    }
    let maxName = 0;
    let maxClass = 0;
    let previous: string | undefined;
    for (const child of children) {
      const c = cells.get(child.key);
      assert.ok(c?.allocated);
      const childNk = b.subarray(4096 + child.key + 4, 4096 + child.key + c.size);
      const childName = nameOf(childNk);
      const up = upcaseName(childName);
      if (previous !== undefined) assert.ok(previous < up, `subkeys of ${name} sorted: ${previous} < ${up}`);
      previous = up;
      if (child.kind === 'lh') assert.equal(child.hint, lhHash(childName), `lh hash of ${childName}`);
      if (child.kind === 'lf' && minor >= 4) assert.equal(child.hint, lfHintOf(childName), `lf hint of ${childName}`);
      maxName = Math.max(maxName, childName.length * 2);
      maxClass = Math.max(maxClass, childNk.readUInt16LE(74));
      stack.push([child.key, offset]);
    }
    assert.ok((nk.readUInt32LE(52) & 0xffff) >= maxName, `max subkey name length of ${name}`);
    assert.ok(nk.readUInt32LE(56) >= maxClass, `max subkey class length of ${name}`);
    // Values
    const valueCount = nk.readUInt32LE(36);
    let maxValueName = 0;
    let maxValueData = 0;
    if (valueCount > 0) {
      const list = payload(nk.readUInt32LE(40), 'values list');
      assert.ok(list.length >= 4 * valueCount);
      for (let i = 0; i < valueCount; i++) {
        const vkOffset = list.readUInt32LE(4 * i);
        const vk = payload(vkOffset, 'vk');
        assert.equal(vk.toString('latin1', 0, 2), 'vk');
        const nameLength = vk.readUInt16LE(2);
        const rawName = vk.subarray(20, 20 + nameLength);
        const valueName = vk.readUInt16LE(16) & 1 ? rawName.toString('latin1') : rawName.toString('utf16le');
        maxValueName = Math.max(maxValueName, valueName.length * 2);
        const sizeField = vk.readUInt32LE(4);
        const size = sizeField & 0x7fffffff;
        maxValueData = Math.max(maxValueData, size);
        if (sizeField >= 0x80000000 || size === 0) {
          assert.ok(size <= 4, 'inline data ≤ 4 bytes');
          continue;
        }
        const data = payload(vk.readUInt32LE(8), 'value data');
        if (size <= data.length) {
          assert.ok(minor <= 3 || size <= 16344 || data.toString('latin1', 0, 2) !== 'db', 'plain data');
          continue;
        }
        assert.equal(data.toString('latin1', 0, 2), 'db', `value data of ${size} bytes in a ${data.length}-byte cell is a db`);
        const segments = data.readUInt16LE(2);
        assert.equal(segments, Math.ceil(size / 16344), 'db segment count');
        const segList = payload(data.readUInt32LE(4), 'db segment list');
        for (let s = 0; s < segments; s++) {
          const seg = payload(segList.readUInt32LE(4 * s), 'db segment');
          const want = Math.min(16344, size - s * 16344);
          assert.ok(seg.length - 4 >= want, 'segment cell has ≥ 4 spare bytes (hivex reads size − 8)');
        }
      }
    }
    assert.ok(nk.readUInt32LE(60) >= maxValueName, `max value name length of ${name}`);
    assert.ok(nk.readUInt32LE(64) >= maxValueData, `max value data size of ${name}`);
  }

  // sk list: circular, doubly linked, refcounts exact.
  const firstSk = [...skRefs.keys()][0];
  const inList = new Set<number>();
  for (let sk = firstSk; !inList.has(sk); ) {
    const rec = payload(sk, 'sk', true);
    assert.equal(rec.toString('latin1', 0, 2), 'sk');
    inList.add(sk);
    const next = rec.readUInt32LE(4);
    const nextRec = b.subarray(4096 + next + 4);
    assert.equal(nextRec.readUInt32LE(8), sk, `blink of the sk after ${sk}`);
    assert.equal(rec.readUInt32LE(12), skRefs.get(sk) ?? 0, `refcount of sk ${sk}`);
    sk = next;
  }
  assert.deepEqual([...inList].sort(), [...skRefs.keys()].sort(), 'the sk list holds exactly the sk records keys use');

  const unreachable: number[] = [];
  for (const [offset, c] of cells) if (c.allocated && !referenced.has(offset)) unreachable.push(offset);
  return { unreachable, freeBytes, binsSize };
}
