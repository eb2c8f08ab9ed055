import * as net from 'node:net'

/**
 * A TCP port on 127.0.0.1 that nothing listens on now, below `limit`: for starting a program
 * that cannot pick its own port and refuses high ones (Kyoto Tycoon's take none above 32767).
 * Ports from 20000 up are tried at random, so that runs side by side rarely meet.
 */
export async function freePortBelow(limit: number): Promise<number> {
  const low = Math.min(20000, limit >> 1)
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (limit - low))
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer()
      probe.once('error', () => resolve(false))
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
    })
    if (free) return port
  }
  throw new Error(`no free port below ${limit}`)
}
