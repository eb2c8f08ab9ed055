/**
 * The crash tests' workload. Operation i adds key i, overwrites key i-3 every 7th time (with
 * a value of another size, so that in-place records move) and removes key i-5 every 10th.
 * After operation n, keys below n-5 are never touched again.
 */
export interface CrashOp {
  key: string
  /** undefined: remove. */
  value?: string
}

export function crashWorkload(i: number): CrashOp[] {
  const ops: CrashOp[] = [{key: `k${i}`, value: `v${i}-${'x'.repeat(i % 50)}`}]
  if (i % 7 === 0 && i > 3) ops.push({key: `k${i - 3}`, value: `w${i}-${'y'.repeat((i * 7) % 120)}`})
  if (i % 10 === 0 && i > 5) ops.push({key: `k${i - 5}`})
  return ops
}

/** The records after operations 1..n. */
export function crashModel(n: number): Map<string, string> {
  const model = new Map<string, string>()
  for (let i = 1; i <= n; i++) {
    for (const op of crashWorkload(i)) {
      if (op.value === undefined) model.delete(op.key)
      else model.set(op.key, op.value)
    }
  }
  return model
}

/** Keys operation n and later may still touch. */
export const CRASH_REACH = 5
