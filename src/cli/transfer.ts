import * as fs from 'node:fs'
import * as readline from 'node:readline'
import {NOOP, type DBM} from '../engine/dbm.js'
import {FlatWriter, readFlatPairs, retryBusy} from '../engine/io/flat.js'
import {varintSize} from '../engine/io/varint.js'
import {fromSystemError} from '../engine/status.js'
import {fromTsvField, tsvField} from './escape.js'
import {Progress} from './progress.js'

/** The record file name that means standard input (import) or standard output (export). */
export const STDIO = '-'

export interface TransferOptions {
  tsv?: boolean
  escape?: boolean
  keys?: boolean
}

/** Writes every record to a flat record file or TSV; returns the record count. */
export function exportRecords(dbm: DBM, path: string, options: TransferOptions = {}): number {
  const progress = new Progress('exporting', dbm.count())
  let count = 0
  const visit = (write: (key: Buffer, value: Buffer) => void): void =>
    dbm.processEach(
      {
        processFull: (key, value) => {
          write(key, value)
          count++
          progress.tick()
          return NOOP
        },
        processEmpty: () => NOOP,
      },
      false,
    )
  const toStdout = path === STDIO
  if (options.tsv) {
    const fd = toStdout ? 1 : openForWrite(path)
    let chunk = ''
    const flush = (): void => {
      const bytes = Buffer.from(chunk, 'latin1')
      let done = 0
      while (done < bytes.length) done += retryBusy(() => fs.writeSync(fd, bytes, done, bytes.length - done))
      chunk = ''
    }
    try {
      visit((key, value) => {
        chunk += options.keys ? `${tsvField(key, !!options.escape)}\n` : `${tsvField(key, !!options.escape)}\t${tsvField(value, !!options.escape)}\n`
        if (chunk.length > 1 << 20) flush()
      })
      flush()
    } finally {
      if (!toStdout) fs.closeSync(fd)
    }
  } else {
    const writer = toStdout ? new FlatWriter('standard output', 1) : new FlatWriter(path)
    const empty = Buffer.alloc(0)
    try {
      visit((key, value) => {
        writer.write(key)
        if (!options.keys) writer.write(value)
        else writer.write(empty)
      })
    } finally {
      writer.close()
    }
  }
  progress.done()
  return count
}

function fileSize(path: string): number {
  try {
    return fs.statSync(path).size
  } catch {
    return 0
  }
}

function openForWrite(path: string): number {
  try {
    return fs.openSync(path, 'w')
  } catch (error) {
    throw fromSystemError(error, `cannot create ${path}`)
  }
}

/** Stores every record of a flat record file or TSV; returns the record count. */
export async function importRecords(dbm: DBM, path: string, options: TransferOptions = {}): Promise<number> {
  // A record file's size says how far along the import is; standard input does not.
  const bytes = path === STDIO ? 0 : fileSize(path)
  const progress = new Progress('importing', bytes, process.stderr, 'bytes')
  let count = 0
  const fromStdin = path === STDIO
  if (!options.tsv) {
    readFlatPairs(
      fromStdin ? 'standard input' : path,
      (key, value) => {
        dbm.set(key, value)
        count++
        // A record's bytes in the file: two magic bytes, two sizes, and the data.
        progress.tick(2 + varintSize(key.length) + varintSize(value.length) + key.length + value.length)
      },
      undefined,
      fromStdin ? 0 : undefined,
    )
  } else {
    const input = fromStdin ? process.stdin.setEncoding('latin1') : fs.createReadStream(path, {encoding: 'latin1'})
    const lines = readline.createInterface({input, crlfDelay: Number.POSITIVE_INFINITY})
    try {
      for await (const line of lines) {
        const tab = line.indexOf('\t')
        const key = tab < 0 ? line : line.slice(0, tab)
        const value = tab < 0 ? '' : line.slice(tab + 1)
        dbm.set(fromTsvField(key, !!options.escape), fromTsvField(value, !!options.escape))
        count++
        progress.tick(line.length + 1)
      }
    } catch (error) {
      throw fromSystemError(error, `cannot read ${fromStdin ? 'standard input' : path}`)
    }
  }
  progress.done()
  return count
}
