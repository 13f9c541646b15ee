// The metadata serializer against the reader: every corpus WIM and a wimlib capture with hard
// links and symbolic links (reparse points) re-serialize to a resource our reader parses to the
// same tree; a hand-built file with a named stream keeps it when its unnamed stream changes.
import assert from 'node:assert/strict';
import { link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { BufferSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { DENTRY_DISK_SIZE } from './dentry.js';
import { parseMetadataResource, plainRecord, type WimDentry } from './metadata.js';
import { type EditNode, editTreeFrom, locateDataHash, serializeMetadata } from './metadata-write.js';
import { openBlob } from './resource-reader.js';
import { openWim } from './wim-file.js';

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await makeTempDir('deployforge-wimmeta-');
});
after(async () => tmp?.cleanup());

function flatten(root: WimDentry): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const stack = [root];
  while (stack.length > 0) {
    const d = stack.pop() as WimDentry;
    // Offsets move when the tree is laid out again; everything else must not.
    const kept = Object.fromEntries(Object.entries(plainRecord(d)).filter(([k]) => !['offset', 'subdirOffset', 'totalLength'].includes(k)));
    out.set(d.path, { ...kept, path: d.path, childNames: d.children.map((c) => c.name) });
    for (const c of d.children) stack.push(c);
  }
  return out;
}

async function metadataOf(bytes: Uint8Array): Promise<Uint8Array> {
  const wim = await openWim(new BufferSource(bytes));
  const entry = wim.blobTable.entries.find((e) => e.kind === 'metadata');
  assert.ok(entry);
  return (await openBlob(wim, entry)).readAll();
}

function roundTrip(buf: Uint8Array, name: string): void {
  const first = parseMetadataResource(buf);
  const again = parseMetadataResource(serializeMetadata(new Uint8Array(buf.subarray(0, first.security.totalLength)), editTreeFrom(buf, first.root)));
  assert.deepEqual(flatten(again.root), flatten(first.root), name);
  assert.deepEqual(
    again.security.descriptors.map((d) => Buffer.from(d).toString('hex')),
    first.security.descriptors.map((d) => Buffer.from(d).toString('hex')),
  );
}

test('re-serializes corpus WIMs and a capture with links to the same tree', { skip: !hasCorpus() && 'no corpus' }, async () => {
  for (const name of ['empty_dacl', 'longpaths', 'dotdot', 'duplicate_names', 'linux_xattrs_old']) {
    roundTrip(await metadataOf(await readFile(corpusPath(`wim/wimlib/${name}.wim`))), name);
  }
  const tree = join(tmp.path, 'tree');
  await mkdir(join(tree, 'd', 'e'), { recursive: true });
  await writeFile(join(tree, 'd', 'a.txt'), 'a');
  await link(join(tree, 'd', 'a.txt'), join(tree, 'd', 'e', 'hard.txt'));
  await symlink('d/a.txt', join(tree, 'sym'));
  await symlink('d', join(tree, 'dirlink'));
  const file = join(tmp.path, 'links.wim');
  await runTool('wimlib-imagex', ['capture', tree, file, '--compress=none'], { timeoutMs: 60_000 });
  roundTrip(await metadataOf(await readFile(file)), 'links');
});

test('keeps a named stream when the unnamed stream of its file is replaced', () => {
  // A dentry laid out as wimlib writes one with a named stream: zero main hash, then an
  // unnamed extra entry and a named one ("Zone.Identifier").
  const name = Buffer.from('f.txt', 'utf16le');
  const dentry = new Uint8Array(Math.ceil((DENTRY_DISK_SIZE + name.length + 2) / 8) * 8);
  const dv = new DataView(dentry.buffer);
  dv.setBigUint64(0, BigInt(dentry.length), true);
  dv.setUint32(8, 0x20, true);
  dv.setInt32(12, 0, true);
  dv.setUint16(0x60, 2, true);
  dv.setUint16(0x64, name.length, true);
  dentry.set(name, DENTRY_DISK_SIZE);
  const entry = (streamName: string, sha: string) => {
    const n = Buffer.from(streamName, 'utf16le');
    const e = new Uint8Array(Math.ceil((38 + n.length + (n.length ? 2 : 0)) / 8) * 8);
    const v = new DataView(e.buffer);
    v.setBigUint64(0, BigInt(e.length), true);
    e.set(Buffer.from(sha, 'hex'), 16);
    v.setUint16(36, n.length, true);
    e.set(n, 38);
    return e;
  };
  const A = 'a'.repeat(40);
  const Z = 'b'.repeat(40);
  const extra = Buffer.concat([entry('', A), entry('Zone.Identifier', Z)]);
  assert.deepEqual(locateDataHash(dentry, extra, 0x20), { where: 'extra', at: 16 });
  const root: EditNode = {
    name: '',
    shortName: '',
    attributes: 0x10,
    securityId: -1,
    creationTime: 0n,
    lastAccessTime: 0n,
    lastWriteTime: 0n,
    hardLinkGroupId: 0n,
    reparseTag: null,
    streams: [{ name: '', type: 'data', sha1: null }],
    parent: null,
    children: [],
    rawDentry: null,
    rawExtra: new Uint8Array(0),
    renamed: false,
    dataHash: null,
  };
  const file: EditNode = {
    ...root,
    name: 'f.txt',
    attributes: 0x20,
    securityId: 0,
    parent: root,
    streams: [
      { name: '', type: 'data', sha1: 'c'.repeat(40) },
      { name: 'Zone.Identifier', type: 'data', sha1: Z },
    ],
    rawDentry: dentry,
    rawExtra: extra,
    dataHash: locateDataHash(dentry, extra, 0x20),
  };
  root.children.push(file);
  const security = new Uint8Array(16);
  new DataView(security.buffer).setUint32(0, 16, true);
  new DataView(security.buffer).setUint32(4, 1, true);
  const parsed = parseMetadataResource(serializeMetadata(security, root));
  assert.deepEqual(parsed.root.children[0].streams, [
    { name: '', type: 'data', sha1: 'c'.repeat(40) },
    { name: 'Zone.Identifier', type: 'data', sha1: Z },
  ]);
  // Renaming rebuilds the names but keeps the stream entries.
  file.name = 'renamed.txt';
  file.renamed = true;
  const renamed = parseMetadataResource(serializeMetadata(security, root)).root.children[0];
  assert.equal(renamed.name, 'renamed.txt');
  assert.equal(renamed.streams[1].name, 'Zone.Identifier');
});
