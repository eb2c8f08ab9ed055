import * as fs from 'node:fs'
import * as readline from 'node:readline'
import {NOOP, type DBM} from '../engine/dbm.js'
import {FlatWriter, readFlatPairs, retryBusy} from '../engine/io/flat.js'
import {varintSize} from '../engine/io/varint.js'
import {fromSystemError} from '../engine/status.js'
import {fromTsvField, tsvField} from './escape.js'
import {jsonRecord} from './json.js'
import {Progress} from './progress.js'

/** The record file name that means standard input (import) or standard output (export). */
export const STDIO = '-'

export interface TransferOptions {
  tsv?: boolean
  escape?: boolean
  keys?: boolean
  /** A JSON array of records (as --json prints them) instead of flat records or TSV. */
  json?: boolean
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
  if (options.tsv || options.json) {
    const fd = toStdout ? 1 : openForWrite(path)
    // TSV lines are binary strings (a character per byte); JSON is UTF-8 text, whose records
    // are an array written as it goes, never whole in memory.
    const encoding = options.json ? 'utf8' : 'latin1'
    const escape = !!options.escape
    let separator = ''
    const line = options.json
      ? (key: Buffer, value: Buffer): string => {
          const text = `${separator}  ${JSON.stringify(options.keys ? jsonRecord(key) : jsonRecord(key, value))}`
          separator = ',\n'
          return text
        }
      : (key: Buffer, value: Buffer): string => (options.keys ? `${tsvField(key, escape)}\n` : `${tsvField(key, escape)}\t${tsvField(value, escape)}\n`)
    let chunk = options.json ? '[\n' : ''
    const flush = (): void => {
      const bytes = Buffer.from(chunk, encoding)
      let done = 0
      while (done < bytes.length) done += retryBusy(() => fs.writeSync(fd, bytes, done, bytes.length - done))
      chunk = ''
    }
    try {
      visit((key, value) => {
        chunk += line(key, value)
        if (chunk.length > 1 << 20) flush()
      })
      if (options.json) chunk += separator === '' ? ']\n' : '\n]\n'
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
