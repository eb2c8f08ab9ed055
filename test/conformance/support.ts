import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after} from 'node:test'
import {availableClasses, type ClassInfo} from '../../src/engine/classes.js'
import type {DBM} from '../../src/engine/dbm.js'
import {parseParams} from '../../src/engine/params.js'
import {openDBM} from '../../src/engine/poly.js'
import {Code, StatusError} from '../../src/engine/status.js'

/**
 * One configuration of one class that the conformance topics run against. Topic files
 * pick the targets a topic applies to by what the class table says of the class.
 */
export interface ConformanceTarget {
  name: string
  info: ClassInfo
  ordered: boolean
  /** Number of random operations checked against a Map model. */
  randomOps: number
  /** A fresh, open, writable database (on-memory classes without a file). */
  make: () => DBM
  /** A fresh, open, writable database with a file, and how to open that file again. */
  makeWithFile: () => {dbm: DBM; reopen: (writable: boolean) => DBM}
  /** A database filled by `fill`, then closed and opened again read-only. */
  readOnly: (fill: (dbm: DBM) => void) => DBM
}

/** Settings worth running the contract under, beyond the defaults, by class. */
const VARIANTS: {[cls: string]: [label: string, params: string][]} = {
  hash: [
    ['in place', 'num_buckets=1000'],
    ['appending', 'num_buckets=1000,update_mode=appending'],
    ['in place, 7 buckets', 'num_buckets=7'],
    ['appending, crc-32, lz4', 'num_buckets=300,update_mode=appending,record_crc_mode=crc32,record_comp_mode=lz4'],
    ['in place, crc-8, zlib, unaligned', 'num_buckets=300,record_crc_mode=crc8,record_comp_mode=zlib,align_pow=0,offset_width=5'],
    ['in place, crc-16, zstd', 'num_buckets=300,record_crc_mode=crc16,record_comp_mode=zstd,align_pow=5'],
    ['appending, lzma', 'num_buckets=300,update_mode=appending,record_comp_mode=lzma'],
    // Records that may expire: without expiry times given, the contract holds unchanged.
    ['with expiration', 'num_buckets=1000,expiration=true'],
  ],
  // Small pages and few branches, so that a few hundred records split and merge pages at every level.
  tree: [
    ['small pages', 'num_buckets=1000,max_page_size=256,max_branches=4'],
    ['defaults', ''],
    ['two cached pages, written at every change', 'num_buckets=500,max_page_size=128,max_branches=3,max_cached_pages=2,page_update_mode=write'],
    ['appending, crc-32, zstd', 'num_buckets=300,max_page_size=300,max_branches=5,update_mode=appending,record_crc_mode=crc32,record_comp_mode=zstd'],
    ['small pages, with expiration', 'num_buckets=1000,max_page_size=256,max_branches=4,expiration=true'],
  ],
  // A small sort memory, so that the queued updates are spilled to sorted runs and merged.
  skip: [
    ['', ''],
    ['runs of 4 KiB, step 2', 'sort_mem_size=4096,step_unit=2,max_level=20'],
    ['offset width 6, step 7', 'offset_width=6,step_unit=7,max_level=5'],
    ['with expiration', 'expiration=true'],
  ],
  tiny: [
    ['', ''],
    ['with expiration', 'expiration=true'],
  ],
  baby: [
    ['', ''],
    ['with expiration', 'expiration=true'],
  ],
}

// One temporary directory per test file, removed when the file's tests end.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-conformance-'))
after(() => fs.rmSync(dir, {recursive: true, force: true}))
let serial = 0

function newPath(extension: string): string {
  return path.join(dir, `db-${serial++}.${extension}`)
}

function target(info: ClassInfo, label: string, paramText: string): ConformanceTarget {
  const params = (): Map<string, string> => new Map([...parseParams(paramText), ['dbm', info.name]])
  const makeWithFile = () => {
    const file = newPath(info.extensions[0])
    return {
      dbm: openDBM(file, params(), {writable: true, truncate: true}),
      reopen: (writable: boolean) => openDBM(file, params(), {writable}),
    }
  }
  return {
    name: label === '' ? info.name : `${info.name} ${label}`,
    info,
    ordered: info.ordered,
    // A tree keeps its pages in memory between writes, so it affords the in-memory count.
    randomOps: info.storage === 'file' && info.name !== 'tree' ? 20000 : 100000,
    make: () => (info.storage === 'file' ? makeWithFile().dbm : openDBM('', params())),
    makeWithFile,
    readOnly: (fill) => {
      const {dbm, reopen} = makeWithFile()
      fill(dbm)
      dbm.close()
      return reopen(false)
    },
  }
}

/**
 * Every configuration of every class this build opens whose updates are seen at once, or
 * those `applies` keeps. Classes whose updates wait for a synchronize (the skip list) have
 * their own topic (deferred.test.ts); a topic that holds for them too passes `deferred`.
 */
export function targets(applies: (info: ClassInfo) => boolean = (info) => info.visibleBeforeSync): ConformanceTarget[] {
  const found: ConformanceTarget[] = []
  for (const info of availableClasses()) {
    if (!applies(info)) continue
    const variants = VARIANTS[info.name] ?? [['', '']]
    for (const [label, params] of variants) found.push(target(info, label, params))
    const base = variants[0][1]
    found.push(target(info, `${variants[0][0]} in 3 shards`.trim(), `${base}${base ? ',' : ''}num_shards=3`))
  }
  return found
}

/** Runs a check on a fresh database of the target and closes it afterwards. */
export function withDBOf(target: ConformanceTarget): (fn: (dbm: DBM) => void) => () => void {
  return (fn) => () => {
    const dbm = target.make()
    try {
      fn(dbm)
    } finally {
      if (dbm.isOpen()) dbm.close()
    }
  }
}

/** Every class, those whose updates wait for a synchronize included. */
export const anyClass = (): boolean => true

/** Only the classes whose updates wait for a synchronize. */
export const deferred = (info: ClassInfo): boolean => !info.visibleBeforeSync

export const b = (text: string): Buffer => Buffer.from(text, 'latin1')

export function rejects(code: Code, fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof StatusError, `expected a StatusError, got ${String(error)}`)
    assert.equal(Code[error.code], Code[code])
    return true
  })
}

export function keysOf(dbm: DBM): string[] {
  return [...dbm.records()].map(([key]) => key.toString('latin1'))
}

/** Every record as latin1 text, in iteration order. */
export function contentsOf(dbm: DBM): Map<string, string> {
  return new Map([...dbm.records()].map(([key, value]) => [key.toString('latin1'), value.toString('latin1')]))
}
