import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import type {ProtoGrpcType} from './generated/tkrzw_rpc.js'

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
