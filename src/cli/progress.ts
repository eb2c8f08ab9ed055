import {colorOn} from './color.js'

/**
 * A progress line on stderr for long runs, drawn only on a terminal and at most ten
 * times a second, so pipes and logs stay clean.
 */
export class Progress {
  private count = 0
  private ticks = 0
  private lastDraw = 0
  private readonly started = performance.now()
  private readonly active: boolean

  constructor(
    private readonly label: string,
    private readonly total = 0,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    /** What is counted, when not records: "bytes". */
    private readonly unit = '',
  ) {
    this.active = stream.isTTY === true && !process.env.CI
  }

  tick(n = 1): void {
    this.count += n
    if (!this.active || (++this.ticks & 0x3ff) !== 0) return
    const now = Date.now()
    if (now - this.lastDraw < 100) return
    this.lastDraw = now
    this.draw()
  }

  /** Sets how far along the work is, when it is known as a total so far rather than counted. */
  at(count: number): void {
    this.count = count
    if (!this.active) return
    const now = Date.now()
    if (now - this.lastDraw < 100) return
    this.lastDraw = now
    this.draw()
  }

  /** Whether the line is drawn at all (on a terminal, outside CI). */
  get shown(): boolean {
    return this.active
  }

  private draw(): void {
    let line = `${this.label}: ${this.count.toLocaleString('en-US')}`
    if (this.total > 0) {
      const ratio = Math.min(1, this.count / this.total)
      const width = 30
      const filled = Math.round(ratio * width)
      line += ` / ${this.total.toLocaleString('en-US')}${this.unit ? ` ${this.unit}` : ''} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0)}%`
    }
    const seconds = (performance.now() - this.started) / 1000
    if (seconds > 0) line += ` ${Math.round(this.count / seconds).toLocaleString('en-US')}${this.unit ? ` ${this.unit}` : ''}/s`
    this.stream.write(`\r\x1b[K${line}`)
  }

  done(): void {
    if (this.active && this.lastDraw > 0) this.stream.write('\r\x1b[K')
  }
}

/**
 * Runs work whose length nobody knows (a rebuild on a server, a wait for a queue) under a
 * spinner on stderr, shown only on a terminal; in pipes, logs and CI nothing is drawn.
 */
export async function withSpinner<T>(text: string, work: () => Promise<T>, stream: NodeJS.WriteStream = process.stderr): Promise<T> {
  const enabled = stream.isTTY === true && !process.env.CI
  if (!enabled) return work()
  // Loaded only when a spinner is drawn: it costs every command that merely might show one 40 ms.
  const {default: ora} = await import('ora')
  const spinner = ora({text, stream, color: colorOn(stream) ? 'cyan' : false, discardStdin: false}).start()
  try {
    const result = await work()
    spinner.stop()
    return result
  } catch (error) {
    spinner.stop()
    throw error
  }
}
