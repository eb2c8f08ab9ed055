import * as fs from 'node:fs'
import * as readline from 'node:readline'
import {NOOP, type DBM} from '../engine/dbm.js'
import {FlatWriter, readFlatPairs} from '../engine/io/flat.js'
import {fromSystemError} from '../engine/status.js'
import {fromTsvField, tsvField} from './escape.js'
import {Progress} from './progress.js'

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
  if (options.tsv) {
    const fd = openForWrite(path)
    let chunk = ''
    const flush = (): void => {
      fs.writeSync(fd, chunk, null, 'latin1')
      chunk = ''
    }
    try {
      visit((key, value) => {
        chunk += options.keys ? `${tsvField(key, !!options.escape)}\n` : `${tsvField(key, !!options.escape)}\t${tsvField(value, !!options.escape)}\n`
        if (chunk.length > 1 << 20) flush()
      })
      flush()
    } finally {
      fs.closeSync(fd)
    }
  } else {
    const writer = new FlatWriter(path)
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

function openForWrite(path: string): number {
  try {
    return fs.openSync(path, 'w')
  } catch (error) {
    throw fromSystemError(error, `cannot create ${path}`)
  }
}

/** Stores every record of a flat record file or TSV; returns the record count. */
export async function importRecords(dbm: DBM, path: string, options: TransferOptions = {}): Promise<number> {
  const progress = new Progress('importing')
  let count = 0
  if (!options.tsv) {
    readFlatPairs(path, (key, value) => {
      dbm.set(key, value)
      count++
      progress.tick()
    })
  } else {
    const lines = readline.createInterface({input: fs.createReadStream(path, {encoding: 'latin1'}), crlfDelay: Number.POSITIVE_INFINITY})
    for await (const line of lines) {
      const tab = line.indexOf('\t')
      const key = tab < 0 ? line : line.slice(0, tab)
      const value = tab < 0 ? '' : line.slice(tab + 1)
      dbm.set(fromTsvField(key, !!options.escape), fromTsvField(value, !!options.escape))
      count++
      progress.tick()
    }
  }
  progress.done()
  return count
}
