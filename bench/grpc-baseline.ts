// A plain grpc-js loop: the same calls kv perf makes, with nothing around them, to check
// that kv perf's own overhead is small. Usage: node dist/bench/grpc-baseline.js ADDRESS ITER [set|get|echo]
import * as grpc from '@grpc/grpc-js'
import {protocol} from '../src/protocols/grpc/protocol.js'

export async function plainLoop(address: string, iterations: number, method: 'set' | 'get' | 'echo'): Promise<number> {
  const Client = protocol().tkrzw_rpc.DBMService
  const client = new Client(address, grpc.credentials.createInsecure())
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())))
  const value = Buffer.alloc(8, 0x78)
  const started = performance.now()
  for (let i = 0; i < iterations; i++) {
    const key = Buffer.from(String(i).padStart(8, '0'))
    await new Promise<void>((resolve, reject) => {
      const done = (error: grpc.ServiceError | null) => (error ? reject(error) : resolve())
      if (method === 'set') client.Set({dbm_index: 0, key, value, overwrite: true}, done)
      else if (method === 'get') client.Get({dbm_index: 0, key}, done)
      else client.Echo({message: key.toString()}, done)
    })
  }
  const qps = iterations / ((performance.now() - started) / 1000)
  client.close()
  return qps
}

if (process.argv[1]?.endsWith('grpc-baseline.js')) {
  const [address, iterations, method] = process.argv.slice(2)
  const qps = await plainLoop(address, Number(iterations ?? 10000), (method ?? 'set') as 'set' | 'get' | 'echo')
  process.stdout.write(`${method ?? 'set'}: qps=${Math.round(qps)}\n`)
}
