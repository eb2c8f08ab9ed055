import type * as net from 'node:net'

/** Runs `work` with the socket corked: the answers it writes leave together, in one write. */
export function corked(socket: net.Socket, work: () => void): void {
  socket.cork()
  try {
    work()
  } finally {
    socket.uncork()
  }
}
