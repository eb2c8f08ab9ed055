import * as fs from 'node:fs'
import {DBM, type InspectList, type OpenOptions} from '../dbm.js'
import {FlatWriter, readFlatPairs} from '../io/flat.js'
import {Code, StatusError, fromSystemError} from '../status.js'

/**
 * What the on-memory classes share: an optional file in FlatRecord format, read whole at
 * open and written whole (to a temporary file, then renamed) at synchronize and close.
 */
export abstract class MemoryDBM extends DBM {
  protected path = ''
  protected writable = false
  protected opened = false
  protected timestamp = Date.now() / 1000

  /** Stores a loaded record without any eviction or bookkeeping beyond the class's own. */
  protected abstract loadRecord(key: Buffer, value: Buffer): void
  /** Every record, as bytes or latin1 strings (one character per byte), in iteration order. */
  protected abstract entries(): Iterable<[Buffer | string, Buffer | string]>
  /** Class-specific metadata written in the file's metadata record. */
  protected abstract metadata(): [string, string][]
  protected abstract clearRecords(): void
  /** Takes tuning the file recorded, for settings not given at open. Called before records load. */
  protected applyMetadata(_meta: Map<string, string>): void {}

  open(path: string, writable: boolean, options: OpenOptions = {}): void {
    if (this.opened) throw new StatusError(Code.PRECONDITION_ERROR, 'opened database')
    this.path = path
    this.writable = writable
    const existed = path !== '' && !options.truncate && fs.existsSync(path)
    if (path !== '' && !options.truncate) {
      if (existed) {
        // Loading into the live structure is safe: on failure the object stays closed, and
        // a database that never opened never writes, so a damaged file is left as it is.
        try {
          readFlatPairs(
            path,
            (key, value) => this.loadRecord(key, value),
            (meta) => {
              const ts = Number(meta.get('timestamp'))
              if (Number.isFinite(ts)) this.timestamp = ts
              this.applyMetadata(meta)
            },
          )
        } catch (error) {
          this.clearRecords()
          throw fromSystemError(error, `cannot load ${path}`)
        }
      } else if (!writable) {
        throw new StatusError(Code.NOT_FOUND_ERROR, `no such file: ${path}`)
      }
    }
    this.opened = true
    // Like the reference, a writable open makes the file exist at once.
    if (writable && path !== '' && !existed) this.save(false)
  }

  close(): void {
    this.checkOpen()
    try {
      if (this.writable && this.path !== '') this.save(false)
    } finally {
      this.opened = false
      this.clearRecords()
    }
  }

  synchronize(hard = false): void {
    this.checkOpen()
    if (this.writable && this.path !== '') this.save(hard)
  }

  private save(hard: boolean): void {
    this.timestamp = Date.now() / 1000
    const temp = `${this.path}.tmp.${process.pid}`
    try {
      const writer = new FlatWriter(temp)
      try {
        const meta: [string, string][] = [
          ['class', this.className],
          ['num_records', String(this.count())],
          ['timestamp', this.timestamp.toFixed(6)],
          ...this.metadata(),
        ]
        writer.writeMetadata(meta.sort((a, b) => (a[0] < b[0] ? -1 : 1)))
        for (const [key, value] of this.entries()) {
          if (typeof key === 'string') writer.writeLatin1(key)
          else writer.write(key)
          if (typeof value === 'string') writer.writeLatin1(value)
          else writer.write(value)
        }
      } finally {
        writer.close(hard)
      }
      fs.renameSync(temp, this.path)
    } catch (error) {
      fs.rmSync(temp, {force: true})
      throw fromSystemError(error, `cannot write ${this.path}`)
    }
  }

  protected checkOpen(): void {
    if (!this.opened) throw new StatusError(Code.PRECONDITION_ERROR, 'not opened database')
  }

  /** The size of the file the records were last written to; 0 without one. */
  getFileSize(): number {
    this.checkOpen()
    if (this.path === '') return 0
    try {
      return fs.statSync(this.path).size
    } catch {
      return 0
    }
  }

  getFilePath(): string {
    return this.path
  }

  getTimestamp(): number {
    return this.timestamp
  }

  isWritable(): boolean {
    return this.opened && this.writable
  }

  isOpen(): boolean {
    return this.opened
  }

  shouldBeRebuilt(): boolean {
    return false
  }

  clear(): void {
    this.checkOpen()
    this.checkWritable()
    this.clearRecords()
  }

  protected baseInspect(): InspectList {
    return [
      ['class', this.className],
      ['path', this.path],
      ['timestamp', this.timestamp.toFixed(6)],
      ['num_records', String(this.count())],
    ]
  }
}
