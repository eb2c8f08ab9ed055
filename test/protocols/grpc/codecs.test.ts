import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {MessageTypeDefinition} from '@grpc/proto-loader'
import * as codecs from '../../../src/protocols/grpc/generated/codecs.js'
import {ProtobufError} from '../../../src/protocols/grpc/protobuf.js'
import {LOADER_OPTIONS, packageDefinition, PROTO_PATH} from '../../../src/protocols/grpc/protocol.js'
import protobuf from 'protobufjs'
import {makeRandom} from '../../../src/perf/local.js'

// The generated codecs against protobufjs (through proto-loader, with the options kv has
// always used): every message, with random values at the edges of each type, both ways.

interface FieldDescriptor {
  name: string
  number: number
  label: string
  type: string
  typeName: string
  oneofIndex?: number
}
interface MessageDescriptor {
  name: string
  field: FieldDescriptor[]
  oneofDecl: {name: string}[]
  enumType: {name: string; value: {name: string; number: number}[]}[]
}

const definition = packageDefinition()
const protobufRoot = new protobuf.Root().loadSync(PROTO_PATH, {keepCase: true})
const descriptors = new Map<string, MessageDescriptor>()
for (const [name, entry] of Object.entries(definition)) {
  if ((entry as MessageTypeDefinition<object, object>).format === 'Protocol Buffer 3 DescriptorProto')
    descriptors.set(name, (entry as MessageTypeDefinition<object, object>).type as unknown as MessageDescriptor)
}

type Codec = codecs.Codec<object, object>
const codecOf = (name: string) => (codecs as unknown as {[name: string]: Codec})[name.replace(/^tkrzw_rpc\./, '')]

function randomMessage(name: string, next: () => number, depth = 0): {[field: string]: unknown} {
  const descriptor = descriptors.get(name)!
  const message: {[field: string]: unknown} = {}
  const pick = <T>(values: T[]): T => values[next() % values.length]
  const oneofChosen = new Set<number>()
  for (const field of descriptor.field) {
    if (next() % 4 === 0) continue
    if (field.oneofIndex !== undefined) {
      if (oneofChosen.has(field.oneofIndex)) continue
      oneofChosen.add(field.oneofIndex)
    }
    const one = (): unknown => {
      switch (field.type) {
        case 'TYPE_INT32':
          return pick([0, 1, -1, 127, 128, 2147483647, -2147483648, next() | 0])
        case 'TYPE_INT64':
          return pick(['0', '1', '-1', '4294967296', '9007199254740993', '-9223372036854775808', '9223372036854775807', String(next())])
        case 'TYPE_BOOL':
          return next() % 2 === 0
        case 'TYPE_DOUBLE':
          return pick([0, 1.5, -2.25, 1e300, next() / 7])
        case 'TYPE_STRING':
          return pick(['', 'a', 'héllo ✓', 'x'.repeat(200)])
        case 'TYPE_BYTES':
          return Buffer.from(Array.from({length: pick([0, 1, 5, 300])}, () => next() & 0xff))
        case 'TYPE_ENUM': {
          const enumName = field.typeName.split('.').pop()!
          const values = descriptor.enumType.find((entry) => entry.name === enumName)!.value
          return pick(values).name
        }
        case 'TYPE_MESSAGE':
          return depth > 3 ? {} : randomMessage(`tkrzw_rpc.${field.typeName.split('.').pop()}`, next, depth + 1)
        default:
          throw new Error(`no generator for ${field.type}`)
      }
    }
    message[field.name] = field.label === 'LABEL_REPEATED' ? Array.from({length: next() % 4}, one) : one()
  }
  return message
}

describe('the generated protobuf codecs', () => {
  it('encode and decode every message as protobufjs does', () => {
    const random = makeRandom(20261130)
    const next = () => Math.floor(random() * 0x100000000)
    let checked = 0
    for (const name of descriptors.keys()) {
      if (!name.startsWith('tkrzw_rpc.')) continue
      const codec = codecOf(name)
      assert.ok(codec, `a codec for ${name}`)
      const reference = protobufjsType(name)
      for (let round = 0; round < 200; round++) {
        const message = randomMessage(name, next)
        const ours = codec.encode(message)
        const theirs = reference.encode(message)
        const expected = reference.decode(theirs)
        assert.deepEqual(reference.decode(ours), expected, `${name} encodes ${JSON.stringify(message)}`)
        assert.deepEqual(codec.decode(theirs), expected, `${name} decodes`)
        assert.deepEqual(codec.decode(ours), expected, `${name} round-trips`)
        checked++
      }
    }
    assert.ok(checked > 10000)
  })

  it('leaves room for a frame header, and decodes a slice of a larger buffer', () => {
    const encoded = codecs.SetRequest.encode({dbm_index: 2, key: Buffer.from('k'), value: Buffer.from('v'), xt: '17'}, 5)
    const decoded = codecs.SetRequest.decode(encoded, 5, encoded.length)
    assert.deepEqual(decoded, {dbm_index: 2, key: Buffer.from('k'), value: Buffer.from('v'), overwrite: false, xt: '17'})
  })

  it('skips unknown fields and refuses truncated messages with a ProtobufError', () => {
    // Field 99 as a varint, a fixed64 and a length-delimited field, then dbm_index 3.
    const unknown = Buffer.from([0x98, 0x06, 0x05, 0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0x9a, 0x06, 2, 0xaa, 0xbb, 0x08, 0x03])
    assert.equal(codecs.CountRequest.decode(unknown).dbm_index, 3)
    const full = codecs.SetRequest.encode({dbm_index: 1, key: Buffer.from('key'), value: Buffer.from('value')})
    for (let cut = 1; cut < full.length; cut++) {
      try {
        codecs.SetRequest.decode(full.subarray(0, cut))
      } catch (error) {
        assert.ok(error instanceof ProtobufError, `cut at ${cut}: ${(error as Error).message}`)
        continue
      }
      // A cut between fields is a valid, shorter message.
    }
    assert.throws(() => codecs.SetRequest.decode(Buffer.from([0x12, 0x7f, 1])), ProtobufError)
    assert.throws(() => codecs.SetRequest.decode(Buffer.from([0x0b])), ProtobufError)
  })
})

/** protobufjs as proto-loader drives it: fromObject then encode, decode then toObject with kv's options. */
function protobufjsType(name: string): {encode(message: object): Buffer; decode(buf: Buffer): object} {
  const type = protobufRoot.lookupType(name)
  return {
    encode: (message) => Buffer.from(type.encode(type.fromObject(message)).finish()),
    decode: (buf) => type.toObject(type.decode(buf), {...LOADER_OPTIONS, longs: String, enums: String}),
  }
}
