import * as zlib from 'node:zlib'

/**
 * The record checksums HashDBM can store: CRC-8 (polynomial 0x07), CRC-16/XMODEM (0x1021)
 * and the CRC-32 of zlib, each over the key followed by the stored value.
 */

function makeTable(width: number, poly: number): Uint32Array {
  const table = new Uint32Array(256)
  const top = 1 << (width - 1)
  const mask = width === 32 ? 0xffffffff : (1 << width) - 1
  for (let i = 0; i < 256; i++) {
    let crc = i << (width - 8)
    for (let bit = 0; bit < 8; bit++) crc = crc & top ? ((crc << 1) ^ poly) & mask : (crc << 1) & mask
    table[i] = crc >>> 0
  }
  return table
}

const CRC8 = makeTable(8, 0x07)
const CRC16 = makeTable(16, 0x1021)

export function crc8(data: Uint8Array, crc = 0): number {
  for (let i = 0; i < data.length; i++) crc = CRC8[(crc ^ data[i]) & 0xff]
  return crc
}

export function crc16(data: Uint8Array, crc = 0): number {
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) ^ CRC16[((crc >>> 8) ^ data[i]) & 0xff]) & 0xffff
  return crc
}

export function crc32(data: Uint8Array, crc = 0): number {
  return zlib.crc32(data, crc)
}

/** The CRC of key then value with a width of 8, 16 or 32 bits. */
export function recordCrc(width: number, key: Uint8Array, value: Uint8Array): number {
  if (width === 8) return crc8(value, crc8(key))
  if (width === 16) return crc16(value, crc16(key))
  return crc32(value, crc32(key))
}
