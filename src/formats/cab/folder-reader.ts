// Walks the CFDATA blocks of one folder (MS-CAB 2.4) and yields their uncompressed bytes, for
// stored and MSZIP folders. It checks each block's checksum where one is set. It deliberately
// does not decode LZX or Quantum, nor follow a folder into the next cabinet of a set.
import { constants, inflateRawSync } from 'node:zlib';
import { DeployForgeError, FormatError } from '../../errors.js';
import { u16le, u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { cfdataChecksum } from './checksum.js';
import { CAB_BLOCK_MAX } from './read-cab.js';
import type { CabFolder, CabInfo } from './types.js';

const DATA_FIXED = 8; // MS-CAB 2.4: csum, cbData, cbUncomp
/** cbData's ceiling: a block may grow by up to 6144 bytes when it does not compress. */
const COMPRESSED_BLOCK_MAX = CAB_BLOCK_MAX + 6144;

/** Yields one folder's blocks in order, each as its uncompressed bytes. */
export class CabFolderReader {
  private block = 0;
  private offset: number;
  /** MSZIP: each block's deflate stream may refer back into the previous block's output. */
  private dictionary: Uint8Array | undefined;

  constructor(
    private readonly source: ByteSource,
    private readonly info: CabInfo,
    private readonly folder: CabFolder,
  ) {
    const kind = folder.compression.name;
    if (kind !== 'none' && kind !== 'mszip') {
      throw new FormatError(
        'DF_CAB_UNSUPPORTED_COMPRESSION',
        `${source.name}: folder ${folder.index} is compressed with ${folder.compressionName}; not extracted (only stored and MSZIP folders are)`,
        { folder: folder.index, compression: folder.compression.raw },
      );
    }
    this.offset = folder.firstDataOffset;
  }

  /** The next block's uncompressed bytes, or null after the last block. */
  async next(): Promise<Uint8Array | null> {
    if (this.block >= this.folder.dataBlocks) return null;
    const where = `${this.source.name}: folder ${this.folder.index} block ${this.block}`;
    const headerLength = DATA_FIXED + this.info.reserve.data;
    const limit = this.info.totalSize;
    if (this.offset + headerLength > limit) {
      throw new FormatError('DF_CAB_BAD_DATA', `${where} starts at ${this.offset}, past the cabinet's end at ${limit}`, { offset: this.offset });
    }
    const header = await this.source.read(this.offset, headerLength);
    const csum = u32le(header, 0);
    const cbData = u16le(header, 4);
    const cbUncomp = u16le(header, 6);
    if (cbUncomp === 0) {
      // MS-CAB 2.4: cbUncomp 0 marks a block continued in the next cabinet.
      throw new FormatError('DF_CAB_SPANNED', `${where} continues in the next cabinet; files spanning cabinets are not extracted`, { offset: this.offset });
    }
    if (cbUncomp > CAB_BLOCK_MAX || cbData > COMPRESSED_BLOCK_MAX) {
      throw new FormatError('DF_CAB_BAD_DATA', `${where} claims ${cbData} compressed / ${cbUncomp} uncompressed bytes, more than a block may hold`, { cbData, cbUncomp });
    }
    const dataStart = this.offset + headerLength;
    if (dataStart + cbData > limit) {
      throw new FormatError('DF_CAB_BAD_DATA', `${where} runs past the cabinet's end at ${limit}`, { offset: this.offset, cbData });
    }
    const data = await this.source.read(dataStart, cbData);
    if (csum !== 0) {
      const actual = cfdataChecksum(data, header.subarray(4));
      // libmspack leaves abReserve out of the sum while MS-CAB and 7-Zip include it; accept
      // either, since the sum only detects damage and both forms exist in the wild.
      const withoutReserve = header.length > DATA_FIXED ? cfdataChecksum(data, header.subarray(4, DATA_FIXED)) : actual;
      if (actual !== csum && withoutReserve !== csum) {
        throw new FormatError('DF_CAB_BAD_CHECKSUM', `${where} fails its checksum (stored ${hex(csum)}, computed ${hex(actual)}); the cabinet is damaged`, {
          stored: csum,
          computed: actual,
        });
      }
    }
    const out = this.folder.compression.name === 'none' ? this.storedBlock(data, cbUncomp, where) : this.mszipBlock(data, cbUncomp, where);
    this.block++;
    this.offset = dataStart + cbData;
    return out;
  }

  private storedBlock(data: Uint8Array, cbUncomp: number, where: string): Uint8Array {
    if (data.length !== cbUncomp) {
      throw new FormatError('DF_CAB_BAD_DATA', `${where} is stored but its sizes differ (${data.length} vs ${cbUncomp})`, { cbData: data.length, cbUncomp });
    }
    return data;
  }

  /** MS-MCI 2.1: an MSZIP block is "CK" then a raw deflate stream primed with the last block. */
  private mszipBlock(data: Uint8Array, cbUncomp: number, where: string): Uint8Array {
    if (data.length < 2 || data[0] !== 0x43 || data[1] !== 0x4b) {
      throw new FormatError('DF_CAB_BAD_DATA', `${where} lacks the "CK" signature of an MSZIP block`);
    }
    let out: Uint8Array;
    try {
      out = inflateRawSync(data.subarray(2), {
        ...(this.dictionary ? { dictionary: this.dictionary } : {}),
        // Cap the output at one block so a hostile stream cannot balloon.
        maxOutputLength: CAB_BLOCK_MAX,
        // Some writers omit the final-block bit; a short result is caught by the size check.
        finishFlush: constants.Z_SYNC_FLUSH,
      });
    } catch (error) {
      if (error instanceof DeployForgeError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new FormatError('DF_CAB_BAD_DATA', `${where} does not inflate: ${reason}`, { reason });
    }
    if (out.length !== cbUncomp) {
      throw new FormatError('DF_CAB_BAD_DATA', `${where} inflates to ${out.length} bytes but its header says ${cbUncomp}`, { actual: out.length, cbUncomp });
    }
    this.dictionary = out;
    return out;
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
