import {createRequire} from 'node:module'
import * as zlib from 'node:zlib'
import {Code, StatusError} from '../status.js'

/**
 * Value compression for HashDBM records, in the formats Tkrzw stores: raw deflate for zlib,
 * zstd frames, raw LZ4 blocks (no size header) and xz streams for lzma. The native codecs
 * load on first use, so a database without compression never needs them.
 */
export interface Codec {
  readonly name: string
  compress(data: Buffer): Buffer
  decompress(data: Buffer): Buffer
}

const require = createRequire(import.meta.url)

/** A native module loaded on first use, so that a database without compression never needs it. */
function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined
  return () => (loaded ??= require(name) as T)
}

const deflate: Codec = {
  name: 'zlib',
  compress: (data) => zlib.deflateRawSync(data),
  decompress: (data) => zlib.inflateRawSync(data),
}

interface ZstdModule {
  compress(data: Buffer): Buffer
  decompress(data: Buffer): Buffer
}
const zstdLib = lazyModule<ZstdModule>('zstd-napi')

const zstd: Codec = {
  name: 'zstd',
  compress: (data) => zstdLib().compress(data),
  decompress: (data) => zstdLib().decompress(data),
}

type Lz4Module = typeof import('lz4')
const lz4Lib = lazyModule<Lz4Module>('lz4')

// An LZ4 block does not record its decompressed size; the output buffer grows until the
// block fits, up to a bound no sane record exceeds.
const LZ4_MAX_RATIO = 255
const lz4: Codec = {
  name: 'lz4',
  compress(data) {
    const lib = lz4Lib()
    const out = Buffer.allocUnsafe(lib.encodeBound(data.length))
    const size = data.length === 0 ? 0 : lib.encodeBlock(data, out)
    // The library answers 0 for input it cannot shrink; a literal-only block still works.
    if (size > 0) return out.subarray(0, size)
    return literalLz4Block(data)
  },
  decompress(data) {
    if (data.length === 0) return Buffer.alloc(0)
    const lib = lz4Lib()
    for (let capacity = Math.max(64, data.length * 4); ; capacity *= 4) {
      const out = Buffer.allocUnsafe(capacity)
      const size = lib.decodeBlock(data, out)
      if (size >= 0 && size < capacity) return out.subarray(0, size)
      if (capacity > data.length * LZ4_MAX_RATIO) throw new StatusError(Code.BROKEN_DATA_ERROR, 'broken LZ4 data')
    }
  },
}

interface XzModule {
  xz: {compressSync(data: Uint8Array): Buffer; decompressSync(data: Uint8Array): Buffer}
}
const xzLib = lazyModule<XzModule>('@napi-rs/lzma')

// xz streams, as Tkrzw's lzma mode stores them; a synchronous call, as every codec here.
const lzma: Codec = {
  name: 'lzma',
  compress: (data) => xzLib().xz.compressSync(data),
  decompress: (data) => xzLib().xz.decompressSync(data),
}

/** An LZ4 block holding the data as one run of literals. */
function literalLz4Block(data: Buffer): Buffer {
  const length = data.length
  const extra: number[] = []
  let token: number
  if (length >= 15) {
    token = 0xf0
    let rest = length - 15
    while (rest >= 255) {
      extra.push(255)
      rest -= 255
    }
    extra.push(rest)
  } else {
    token = length << 4
  }
  return Buffer.concat([Buffer.from([token, ...extra]), data])
}

const unavailable = (name: string): Codec => {
  const fail = (): never => {
    throw new StatusError(Code.NOT_IMPLEMENTED_ERROR, `${name} record compression is not supported by this build`)
  }
  return {name, compress: fail, decompress: fail}
}

/** Compression modes by their number in HashDBM's static flags. */
export const COMP_NONE = 0
export const COMP_ZLIB = 1
export const COMP_ZSTD = 2
export const COMP_LZ4 = 3
export const COMP_LZMA = 4
export const COMP_RC4 = 5
export const COMP_AES = 6

export const COMP_NAMES = ['none', 'zlib', 'zstd', 'lz4', 'lzma', 'rc4', 'aes']

/** A codec whose failures on bad input are BROKEN_DATA_ERRORs naming it, whatever the library throws. */
function guarded(codec: Codec): Codec {
  const wrap =
    (what: string, fn: (data: Buffer) => Buffer) =>
    (data: Buffer): Buffer => {
      try {
        return fn(data)
      } catch (error) {
        if (error instanceof StatusError) throw error
        throw new StatusError(Code.BROKEN_DATA_ERROR, `cannot ${what} ${codec.name} data: ${(error as Error).message}`)
      }
    }
  return {name: codec.name, compress: wrap('compress', codec.compress), decompress: wrap('decompress', codec.decompress)}
}

const CODECS: (Codec | undefined)[] = [undefined, guarded(deflate), guarded(zstd), guarded(lz4), guarded(lzma), unavailable('rc4'), unavailable('aes')]

/** The codec of a compression mode; undefined for none. Throws for modes this build lacks. */
export function codecFor(mode: number): Codec | undefined {
  if (mode === COMP_NONE) return undefined
  const codec = CODECS[mode]
  if (!codec) throw new StatusError(Code.BROKEN_DATA_ERROR, `unknown record compression mode ${mode}`)
  return codec
}

/** Whether records in this mode can be read and written here. */
export function codecAvailable(mode: number): boolean {
  return mode === COMP_NONE || mode === COMP_ZLIB || mode === COMP_ZSTD || mode === COMP_LZ4 || mode === COMP_LZMA
}
