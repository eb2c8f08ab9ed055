const gate = new Int32Array(new SharedArrayBuffer(4))

/**
 * Waits without returning to the event loop: for code that is synchronous by design (a
 * lock wait in a command, a retried write to a busy pipe, a benchmark's pause).
 */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(gate, 0, 0, ms)
}
