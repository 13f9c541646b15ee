// The codec registry: finds the chunk decompressor for a compression kind, importing its module
// only when a resource first needs it (an uncompressed WIM never loads a codec). It implements
// no codec itself; those live in ./compression/ and follow the ChunkDecompressor contract.
import { FormatError } from '../../errors.js';
import type { ChunkDecompressor } from './compression/types.js';
import type { WimCompression } from './header.js';

/** Loads the decompressor for one compression kind and chunk size (LZX needs its window size,
 *  which for WIM chunks is the chunk size: wimlib resource.c passes the chunk size as max block
 *  size to wimlib_create_decompressor). */
export type DecompressorLoader = (chunkSize: number) => Promise<ChunkDecompressor>;

// Module specifiers are built at run time so the type checker does not need a codec that is
// not written yet; tsx and the compiled dist/ both resolve the '.js' names.
async function importCodec(file: string): Promise<Record<string, unknown>> {
  const specifier = new URL(`./compression/${file}`, import.meta.url).href;
  return (await import(specifier)) as Record<string, unknown>;
}

function codecFunction<T>(module: Record<string, unknown>, name: string): T {
  const fn = module[name];
  if (typeof fn !== 'function') throw new Error(`compression module does not export ${name}`);
  return fn as T;
}

const loaders = new Map<WimCompression, DecompressorLoader>([
  ['xpress', async () => codecFunction<ChunkDecompressor>(await importCodec('xpress.js'), 'decompressXpress')],
  [
    'lzx',
    async (chunkSize) => {
      const lzx = codecFunction<(input: Uint8Array, outputSize: number, windowSize: number) => Uint8Array>(await importCodec('lzx.js'), 'decompressLzx');
      return (input, outputSize) => lzx(input, outputSize, chunkSize);
    },
  ],
  ['lzms', async () => codecFunction<ChunkDecompressor>(await importCodec('lzms.js'), 'decompressLzms')],
]);

const cache = new Map<string, Promise<ChunkDecompressor>>();

/** Replaces (or adds) the loader for one compression kind: tests, plugins, native codecs. */
export function registerDecompressor(compression: WimCompression, loader: DecompressorLoader): void {
  loaders.set(compression, loader);
  for (const key of [...cache.keys()]) if (key.startsWith(`${compression}:`)) cache.delete(key);
}

/** The decompressor for `compression` chunks of `chunkSize` bytes; DF_WIM_CODEC_UNAVAILABLE when
 *  no codec exists for it (xpress2) or its module cannot be loaded. */
export function getDecompressor(compression: WimCompression, chunkSize: number): Promise<ChunkDecompressor> {
  const key = `${compression}:${chunkSize}`;
  let pending = cache.get(key);
  if (!pending) {
    const loader = loaders.get(compression);
    pending = loader
      ? loader(chunkSize).catch((e: unknown) => {
          cache.delete(key);
          throw new FormatError(
            'DF_WIM_CODEC_UNAVAILABLE',
            `cannot decompress ${compression} data: its codec could not be loaded (${e instanceof Error ? e.message : String(e)})`,
            {
              compression,
            },
          );
        })
      : Promise.reject(new FormatError('DF_WIM_CODEC_UNAVAILABLE', `cannot decompress ${compression} data: DeployForge has no codec for it`, { compression }));
    cache.set(key, pending);
  }
  return pending;
}

/** True when the codec module for `compression` loads; tests use it to skip absent codecs. */
export async function hasDecompressor(compression: WimCompression): Promise<boolean> {
  if (compression === 'none') return true;
  try {
    await getDecompressor(compression, 32768);
    return true;
  } catch {
    return false;
  }
}
