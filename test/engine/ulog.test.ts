import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {Code, StatusError} from '../../src/engine/status.js'
import {removeOldLogFiles} from '../../src/engine/ulog/files.js'
import {listLogFiles, logFileName, readLogHeader} from '../../src/engine/ulog/format.js'
import {MessageQueue} from '../../src/engine/ulog/message-queue.js'
import {LogReader} from '../../src/engine/ulog/reader.js'
import {decodeChange, encodeChange} from '../../src/engine/ulog/update-log.js'
import {tempDir} from '../helpers/cli.js'

const {dir, cleanup} = tempDir()
after(cleanup)

const set = (key: string, value: string) => ({op: 'set' as const, key: Buffer.from(key), value: Buffer.from(value)})

/** Writes one change as a writer of its own would (open, write, close), like one run of a write command. */
function writeOnce(prefix: string, timestamp: number, payload: Buffer, maxFileSize: number): void {
  const queue = MessageQueue.open(prefix, {maxFileSize})
  queue.write(timestamp, payload)
  queue.close()
}

function readAll(prefix: string, minTimestamp = 0): [number, string][] {
  const reader = new LogReader(prefix, minTimestamp)
  const out: [number, string][] = []
  for (let message = reader.next(); message; message = reader.next()) out.push([message.timestamp, message.payload.toString('hex')])
  reader.close()
  return out
}

describe('update-log files', () => {
  it("writes Tkrzw's bytes: header, records, checksums, raised timestamps, rotation before a write", () => {
    const prefix = path.join(dir, 'bytes', 'log')
    fs.mkdirSync(path.dirname(prefix))
    // The same five writes, each by a writer of its own, give the reference tool these two files byte for byte.
    writeOnce(prefix, 1000, encodeChange(set('k1', 'v1'), 0, 0), 80)
    writeOnce(prefix, 2000, encodeChange(set('k2', 'v2'), 300, 5), 80)
    writeOnce(prefix, 1500, encodeChange(set('k3', 'v3'), 0, 0), 80)
    writeOnce(prefix, 2500, encodeChange({op: 'remove', key: Buffer.from('k1')}, 0, 0), 80)
    writeOnce(prefix, 2600, encodeChange({op: 'clear'}, 0, 0), 80)
    const hex = (lines: string[]): string => lines.join('').replace(/ /g, '')
    assert.equal(
      fs.readFileSync(logFileName(prefix, 0)).toString('hex'),
      hex([
        '546b 727a 774d 5158 0a05 0000 0000 0000',
        '0000 0000 07d0 0000 0000 0060 0000 0005',
        'ff00 0000 0003 e800 0000 09a1 0000 0202',
        '6b31 7631 ebff 0000 0000 07d0 0000 000a',
        'a182 2c05 0202 6b32 7632 92ff 0000 0000',
        '07d0 0000 0009 a100 0002 026b 3376 33db',
      ]),
    )
    assert.equal(
      fs.readFileSync(logFileName(prefix, 1)).toString('hex'),
      hex([
        '546b 727a 774d 5158 0a08 0000 0000 0001',
        '0000 0000 0a28 0000 0000 0041 0000 0008',
        'ff00 0000 0009 c400 0000 06a2 0000 026b',
        '3122 ff00 0000 000a 2800 0000 03a3 0000',
        'dd',
      ]),
    )
    assert.deepEqual(
      readAll(prefix).map(([timestamp, payload]) => [timestamp, decodeChange(Buffer.from(payload, 'hex')).op]),
      [
        [1000, 'set'],
        [2000, 'set'],
        [2000, 'set'],
        [2500, 'remove'],
        [2600, 'clear'],
      ],
    )
    // From a timestamp on: files whose newest record is older are passed over.
    assert.deepEqual(
      readAll(prefix, 2500).map(([timestamp]) => timestamp),
      [2500, 2600],
    )
  })

  it('decodes what it encodes, and refuses payloads that are not changes', () => {
    const key = Buffer.alloc(300, 7)
    for (const change of [set('', ''), {op: 'set' as const, key, value: Buffer.alloc(70000, 1)}, {op: 'remove' as const, key}, {op: 'clear' as const}]) {
      const decoded = decodeChange(encodeChange(change, 123456, 77))
      assert.deepEqual({...decoded}, {...change, serverId: 123456, dbmIndex: 77})
    }
    for (const bad of ['a1', 'a100', 'a10000', 'a1000002026b31', 'a2000003', 'b00000', 'a1ff']) {
      assert.throws(
        () => decodeChange(Buffer.from(bad, 'hex')),
        (error: StatusError) => error.code === Code.BROKEN_DATA_ERROR,
        bad,
      )
    }
  })

  it('takes up a log a killed writer left: whole records kept, zeros cut, a damaged tail refused or left behind', () => {
    const prefix = path.join(dir, 'tail')
    const queue = MessageQueue.open(prefix)
    for (let i = 0; i < 5; i++) queue.write(100 + i, encodeChange(set(`k${i}`, 'v'), 1, 0))
    // Killed: the header still says the size of its creation.
    const file = logFileName(prefix, 0)
    const killed = fs.readFileSync(file)
    queue.close()
    fs.writeFileSync(file, Buffer.concat([killed, Buffer.alloc(3000)]))
    const reopened = MessageQueue.open(prefix)
    assert.equal(reopened.size, killed.length)
    assert.equal(reopened.timestamp, 104)
    reopened.close()
    assert.equal(readAll(prefix).length, 5)

    fs.appendFileSync(file, 'JUNKJUNK')
    assert.throws(
      () => MessageQueue.open(prefix),
      (error: StatusError) => error.code === Code.BROKEN_DATA_ERROR && /damaged record at offset/.test(error.message),
    )
    assert.throws(() => readAll(prefix), /damaged record/)
    const server = MessageQueue.open(prefix, {startAfterDamage: true})
    assert.match(server.damagedTail ?? '', /tail\.0000000000: a damaged record at offset \d+/)
    assert.equal(server.fileId, 1)
    server.write(200, encodeChange(set('after', 'damage'), 1, 0))
    server.close()
    assert.ok(fs.readFileSync(file).toString('latin1').endsWith('JUNKJUNK'), 'the damaged file is left as it was')
  })

  it('rotates at the size limit; a reader crosses files, skips removed ones, and waits for writes without polling', async () => {
    const prefix = path.join(dir, 'rotate')
    const queue = MessageQueue.open(prefix, {maxFileSize: 200})
    for (let i = 0; i < 40; i++) queue.write(1000 + i, encodeChange(set(`key${i}`, 'value'), 1, 0))
    assert.ok(listLogFiles(prefix).length > 5)
    const reader = new LogReader(prefix, 1010, queue)
    let count = 0
    while (reader.next()) count++
    assert.equal(count, 30)
    // Nothing more: a bounded wait ends empty; a write wakes a waiting reader at once.
    assert.equal(await reader.read(0.05), undefined)
    const waiting = reader.read(-1)
    setTimeout(() => queue.write(5000, encodeChange({op: 'clear'}, 1, 0)), 20)
    assert.equal((await waiting)?.timestamp, 5000)
    const closing = reader.read(-1)
    queue.close()
    await assert.rejects(closing, (error: StatusError) => error.code === Code.CANCELED_ERROR)
    reader.close()

    // Pruning: old files go, the newest stays; a reader from the start goes on with what is left.
    const removed = removeOldLogFiles(prefix, 1030, true)
    assert.ok(removed.length > 0)
    const left = readAll(prefix)
    assert.ok(left[0][0] >= 1020 && left.at(-1)![0] === 5000, JSON.stringify(left.map(([timestamp]) => timestamp)))
    assert.equal(readLogHeader(listLogFiles(prefix).at(-1)!.path).timestamp, 5000)
  })

  it('never removes the file a writer holds, and keeps timestamps from going back', () => {
    const prefix = path.join(dir, 'held')
    const queue = MessageQueue.open(prefix)
    queue.write(1, encodeChange({op: 'clear'}, 0, 0))
    assert.deepEqual(removeOldLogFiles(prefix, Date.now() + 1e9, false), [])
    queue.write(0, encodeChange({op: 'clear'}, 0, 0))
    queue.updateTimestamp(50)
    queue.write(10, encodeChange({op: 'clear'}, 0, 0))
    queue.close()
    assert.deepEqual(
      readAll(prefix).map(([timestamp]) => timestamp),
      [1, 1, 50],
    )
    const again = MessageQueue.open(prefix)
    assert.throws(() => again.write(2 ** 48, Buffer.from('a30000', 'hex')), /out-of-range timestamp/)
    again.close()
  })
})
