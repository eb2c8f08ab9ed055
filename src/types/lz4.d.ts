// The parts of the lz4 package kv uses: raw LZ4 blocks, as HashDBM stores them.
declare module 'lz4' {
  export function encodeBlock(input: Buffer, output: Buffer, startIdx?: number, endIdx?: number): number
  export function decodeBlock(input: Buffer, output: Buffer, startIdx?: number, endIdx?: number): number
  export function encodeBound(size: number): number
}
