import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import type {ProtoGrpcType} from './generated/tkrzw_rpc.js'
import {DBMService_METHODS} from './generated/codecs.js'

/**
 * The service definition, loaded from the project's .proto at run time. The options match
 * the ones the typed interfaces in generated/ were made with: field names as in the proto,
 * int64 as decimal strings, enums by name, defaults for absent fields, oneofs named.
 */
export const PROTO_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../src/protocols/grpc/tkrzw_rpc.proto')

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
}

let definition: protoLoader.PackageDefinition | undefined
let loaded: ProtoGrpcType | undefined

export function packageDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS)
  return definition
}

export function protocol(): ProtoGrpcType {
  loaded ??= grpc.loadPackageDefinition(packageDefinition()) as unknown as ProtoGrpcType
  return loaded
}

export const SERVICE_NAME = 'tkrzw_rpc.DBMService'

/**
 * The DBMService as a grpc-js service definition, on the generated codecs (no reflection
 * per call), with an encoder that leaves room for the frame header in front of an answer.
 */
export function dbmServiceDefinition(): grpc.ServiceDefinition {
  type AnyCodec = {decode(buf: Buffer): unknown; encode(message: unknown, prefix?: number): Buffer}
  const methods: {[name: string]: object} = {}
  for (const [name, method] of Object.entries(DBMService_METHODS)) {
    const request = method.request as unknown as AnyCodec
    const response = method.response as unknown as AnyCodec
    methods[name] = {
      path: method.path,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      requestSerialize: (message: unknown) => request.encode(message),
      requestDeserialize: (buf: Buffer) => request.decode(buf),
      responseSerialize: (message: unknown) => response.encode(message),
      responseDeserialize: (buf: Buffer) => response.decode(buf),
      responseEncode: (message: unknown, prefix: number) => response.encode(message, prefix),
      originalName: name,
    }
  }
  return methods as grpc.ServiceDefinition
}
