// How big the new install image will be, before anything is written: the compressed sizes of the
// distinct blobs the kept editions use (a blob two editions share is stored once), plus their
// metadata resources. Blobs in solid (ESD) resources have no size of their own, so they count at
// their resource's average compression ratio; an ESD exported to LZX grows, so that figure is
// scaled by the LZX/solid-LZMS size ratio wimlib publishes (an estimate, labelled as one). Nothing here is exact to the
// byte: edits and new files add what they add.
import { openWimImage, type WimFile } from '../formats/wim/index.js';

/** LZX (maximum) over solid LZMS for the same Windows image: 126,310,241 / 88,108,326 bytes in
 *  wimlib's README benchmark (ANCHORS.md §4). */
const LZMS_TO_LZX = 126_310_241 / 88_108_326;

export interface InstallImageEstimate {
  bytes: number;
  /** Distinct file blobs the kept editions use. */
  blobs: number;
  solidSource: boolean;
}

export async function estimateKeptEditions(wim: WimFile, indexes: number[]): Promise<InstallImageEstimate> {
  const bySha = new Map(wim.blobTable.entries.map((e) => [e.sha1, e]));
  const ratio = wim.blobTable.solidResources.map((r) => (r.uncompressedSize ? r.sizeInWim / r.uncompressedSize : 1));
  const used = new Set<string>();
  let metadata = 0;
  for (const index of indexes) {
    const image = await openWimImage(wim, index);
    for (const entry of image.walk()) for (const stream of entry.streams) if (stream.sha1 && !/^0+$/.test(stream.sha1)) used.add(stream.sha1);
    const meta = wim.blobTable.entries.filter((e) => e.kind === 'metadata')[index - 1];
    metadata += meta?.resource.sizeInWim ?? 0;
  }
  let bytes = metadata;
  for (const sha of used) {
    const entry = bySha.get(sha);
    if (!entry) continue;
    bytes += entry.solid ? entry.size * (ratio[entry.solid.resource] ?? 1) : entry.resource.sizeInWim;
  }
  const solidSource = wim.blobTable.solidResources.length > 0;
  return { bytes: Math.round(solidSource ? bytes * LZMS_TO_LZX : bytes), blobs: used.size, solidSource };
}
