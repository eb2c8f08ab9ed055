import * as fs from 'node:fs'
import * as nodePath from 'node:path'
import {DBM, copyFileInSlices, nextTurn, type InspectList, type OpenOptions} from '../dbm.js'
import {FileLock} from '../io/file-lock.js'
import {FlatWriter, readFlatPairs} from '../io/flat.js'
import {Code, StatusError, fromSystemError} from '../status.js'

/** How long a sliced save writes before it lets other work run. */
const SAVE_SLICE_MS = 10

/**
 * What the on-memory classes share: an optional file in FlatRecord format, read whole at
 * open and written whole (to a temporary file, then renamed) at synchronize and close.
 * The file is locked while the database is open, as Tkrzw locks it: one writer, or readers.
 */
export abstract class MemoryDBM extends DBM {
  protected path = ''
  protected writable = false
  protected opened = false
  protected timestamp = Date.now() / 1000
  private lock: FileLock | undefined
  /** Counts saves: a sliced save that finds it changed was overtaken by a newer one. */
  private saveGeneration = 0
  /** How the newest save ended (or will): what an overtaken sliced save answers with. */
  private latestSave: Promise<SaveOutcome> = Promise.resolve({hard: false})

  /** Stores a loaded record without any eviction or bookkeeping beyond the class's own. */
  protected abstract loadRecord(key: Buffer, value: Buffer): void
  /** Every record, as bytes or latin1 strings (one character per byte), in iteration order. */
  protected abstract entries(): Iterable<[Buffer | string, Buffer | string]>
  /** Every record as it is now, in iteration order, unchanged by writes made while it is read. */
  protected abstract snapshotEntries(): Iterable<[Buffer | string, Buffer | string]>
  /** Class-specific metadata written in the file's metadata record. */
  protected abstract metadata(): [string, string][]
  protected abstract clearRecords(): void
  /** Takes tuning the file recorded, for settings not given at open. Called before records load. */
  protected applyMetadata(_meta: Map<string, string>): void {}

  protected openImpl(path: string, writable: boolean, options: OpenOptions = {}): void {
    if (this.opened) throw new StatusError(Code.PRECONDITION_ERROR, 'opened database')
    if (path === '') {
      this.path = path
      this.writable = writable
      this.opened = true
      return
    }
    const existed = fs.existsSync(path)
    if (!existed && !writable) throw new StatusError(Code.NOT_FOUND_ERROR, `no such file: ${path}`)
    const lock = FileLock.acquire(path, options.noLock ? 'none' : writable ? 'exclusive' : 'shared', writable)
    try {
      // An empty file is one a writer created and was stopped before it wrote anything.
      if (existed && !options.truncate && fs.statSync(path).size > 0) this.load(path)
      if (writable) removeStaleExports(path)
      this.path = path
      this.writable = writable
      this.lock = lock
      this.opened = true
      // Like the reference, a writable open makes the file exist at once, in its format.
      if (writable && !existed) this.save(false)
    } catch (error) {
      this.opened = false
      this.lock = undefined
      lock.release()
      this.clearRecords()
      if (!existed) fs.rmSync(path, {force: true})
      throw error
    }
  }

  /**
   * Loads the file into the live structure. That is safe: on failure the object stays
   * closed, and a database that never opened never writes, so a damaged file stays as it is.
   */
  private load(path: string): void {
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
      throw fromSystemError(error, `cannot load ${path}`)
    }
  }

  protected closeImpl(): void {
    try {
      if (this.writable && this.path !== '') this.save(false)
    } finally {
      this.opened = false
      this.clearRecords()
      this.lock?.release()
      this.lock = undefined
    }
  }

  protected synchronizeImpl(hard = false): void {
    if (this.writable && this.path !== '') this.save(hard)
  }

  /**
   * Writes every record to `<path>.tmp.export`, locked from the start, and renames it over
   * the file: the file is whole at every moment, and its lock passes to the new one.
   */
  private save(hard: boolean): void {
    this.saveGeneration++
    const {writer, tempLock} = this.beginSave(this.count())
    try {
      for (const [key, value] of this.entries()) writeRecord(writer, key, value)
      writer.close(hard)
      this.endSave(tempLock)
    } catch (error) {
      this.abandonSave(writer, tempLock)
      const failure = fromSystemError(error, `cannot write ${this.path}`)
      this.latestSave = Promise.resolve({error: failure, hard})
      throw failure
    }
    this.latestSave = Promise.resolve({hard})
  }

  /**
   * The same save without stalling the event loop: the records are snapshot at once (the
   * save is of the moment of the call), then written in slices while the database takes
   * other calls. A save that comes meanwhile (another one, or the close's) holds a newer
   * state: this one then stops and answers as that one does, synchronized to the device
   * if it was asked to be.
   */
  protected override async synchronizeInSlicesImpl(hard: boolean): Promise<void> {
    if (!this.writable || this.path === '') return
    const outcome = this.saveInSlices(hard)
    this.latestSave = outcome
    const {error} = await outcome
    if (error !== undefined) throw error
  }

  private async saveInSlices(hard: boolean): Promise<SaveOutcome> {
    const generation = ++this.saveGeneration
    let started: {writer: FlatWriter; tempLock: FileLock}
    try {
      started = this.beginSave(this.count())
    } catch (error) {
      return {error, hard}
    }
    const {writer, tempLock} = started
    // Taken in the same turn as the count above, once nothing can fail before it is read.
    const records = this.snapshotEntries()
    const overtaken = () => generation !== this.saveGeneration
    try {
      let deadline = performance.now() + SAVE_SLICE_MS
      let written = 0
      for (const [key, value] of records) {
        writeRecord(writer, key, value)
        if ((++written & 1023) === 0 && performance.now() > deadline) {
          await nextTurn()
          if (overtaken()) break
          deadline = performance.now() + SAVE_SLICE_MS
        }
      }
      if (!overtaken()) await writer.closeAsync(hard)
      if (!overtaken()) {
        this.endSave(tempLock)
        return {hard}
      }
    } catch (error) {
      if (!overtaken()) {
        this.abandonSave(writer, tempLock)
        return {error: fromSystemError(error, `cannot write ${this.path}`), hard}
      }
    }
    // The temporary file's name belongs to the newer save now: only let go of this one's.
    writer.abandon()
    tempLock.release()
    return this.outcomeOfNewer(hard)
  }

  /** What an overtaken save answers: the newer save's outcome, made hard if this one was to be. */
  private async outcomeOfNewer(hard: boolean): Promise<SaveOutcome> {
    const newer = await this.latestSave
    if (newer.error !== undefined || !hard || newer.hard) return newer
    try {
      const handle = await fs.promises.open(this.path, 'r')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
    } catch (error) {
      return {error: fromSystemError(error, `cannot synchronize ${this.path}`), hard}
    }
    return {hard: true}
  }

  /** Starts writing a save to the temporary file: metadata first. */
  private beginSave(numRecords: number): {writer: FlatWriter; tempLock: FileLock} {
    this.timestamp = Date.now() / 1000
    const temp = exportPath(this.path)
    let tempLock: FileLock | undefined
    try {
      fs.rmSync(temp, {force: true})
      tempLock = FileLock.acquire(temp, 'exclusive', true)
      const writer = new FlatWriter(temp)
      const meta: [string, string][] = [
        ['class', this.className],
        ['num_records', String(numRecords)],
        ['timestamp', this.timestamp.toFixed(6)],
        ...this.metadata(),
      ]
      writer.writeMetadata(meta.sort((a, b) => (a[0] < b[0] ? -1 : 1)))
      return {writer, tempLock}
    } catch (error) {
      tempLock?.release()
      fs.rmSync(temp, {force: true})
      throw fromSystemError(error, `cannot write ${this.path}`)
    }
  }

  private abandonSave(writer: FlatWriter, tempLock: FileLock): void {
    writer.abandon()
    tempLock.release()
    fs.rmSync(exportPath(this.path), {force: true})
  }

  /** The saved file takes the database's name, and its lock passes along. */
  private endSave(tempLock: FileLock): void {
    try {
      fs.renameSync(exportPath(this.path), this.path)
    } catch (error) {
      tempLock.release()
      fs.rmSync(exportPath(this.path), {force: true})
      throw fromSystemError(error, `cannot write ${this.path}`)
    }
    this.lock?.release()
    this.lock = tempLock
  }

  /** A backup: a sliced save, then a sliced copy of the file it wrote. */
  protected override async copyFileDataInSlicesImpl(dest: string, hard: boolean): Promise<void> {
    if (this.writable) await this.synchronizeInSlices(hard)
    await copyFileInSlices(this.path, dest, hard)
  }

  /** The size of the file the records were last written to; 0 without one. */
  protected getFileSizeImpl(): number {
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

  protected shouldBeRebuiltImpl(): boolean {
    return false
  }

  protected clearImpl(): void {
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

/** How a save ended: its error if it failed, and whether it reached the device. */
interface SaveOutcome {
  error?: unknown
  hard: boolean
}

function writeRecord(writer: FlatWriter, key: Buffer | string, value: Buffer | string): void {
  if (typeof key === 'string') writer.writeLatin1(key)
  else writer.write(key)
  if (typeof value === 'string') writer.writeLatin1(value)
  else writer.write(value)
}

function exportPath(path: string): string {
  return `${path}.tmp.export`
}

/**
 * Removes what an interrupted save left beside the file: `<path>.tmp.export`, and the
 * `<path>.tmp.<pid>` files of earlier versions. Only the lock's holder writes them, so
 * while the lock is held, any that exist are leftovers.
 */
function removeStaleExports(path: string): void {
  const dir = nodePath.dirname(path)
  const prefix = `${nodePath.basename(path)}.tmp.`
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const rest = name.slice(prefix.length)
    if (rest === 'export' || /^\d+$/.test(rest)) fs.rmSync(nodePath.join(dir, name), {force: true})
  }
}
