/**
 * Where blocked calls wait: a caller waits on a named channel until another call notifies
 * it, its time runs out, or the server shuts down. Nothing polls; a waiter is a promise.
 */
export class SignalBoard {
  private readonly waiters = new Map<string, Set<() => void>>()
  private closed = false

  /** Resolves true when notified, false when the time ran out or the board closed. */
  wait(channel: string, timeoutMs: number): Promise<boolean> {
    if (this.closed || timeoutMs <= 0) return Promise.resolve(false)
    return new Promise((resolve) => {
      let set = this.waiters.get(channel)
      if (!set) {
        set = new Set()
        this.waiters.set(channel, set)
      }
      const wake = (notified: boolean) => {
        clearTimeout(timer)
        const current = this.waiters.get(channel)
        current?.delete(waiter)
        if (current?.size === 0) this.waiters.delete(channel)
        resolve(notified)
      }
      const waiter = () => wake(!this.closed)
      const timer = setTimeout(() => wake(false), timeoutMs)
      set.add(waiter)
    })
  }

  /** Wakes every caller waiting on the channel; returns how many there were. */
  notify(channel: string): number {
    const set = this.waiters.get(channel)
    if (!set) return 0
    const waiters = [...set]
    for (const waiter of waiters) waiter()
    return waiters.length
  }

  /** Wakes the caller that has waited longest on the channel; returns 1 if there was one. */
  notifyOne(channel: string): number {
    const first = this.waiters.get(channel)?.values().next().value
    if (!first) return 0
    first()
    return 1
  }

  /** Wakes everyone, for good: new waits end at once. */
  close(): void {
    this.closed = true
    for (const set of [...this.waiters.values()]) for (const waiter of [...set]) waiter()
  }

  /** True once the server is stopping: blocked calls answer with what they have. */
  get isClosed(): boolean {
    return this.closed
  }
}
