/**
 * A progress line on stderr for long runs, drawn only on a terminal and at most ten
 * times a second, so pipes and logs stay clean.
 */
export class Progress {
  private count = 0
  private lastDraw = 0
  private readonly active: boolean

  constructor(
    private readonly label: string,
    private readonly total = 0,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.active = stream.isTTY === true && !process.env.CI
  }

  tick(n = 1): void {
    this.count += n
    if (!this.active || (this.count & 0x3ff) !== 0) return
    const now = Date.now()
    if (now - this.lastDraw < 100) return
    this.lastDraw = now
    this.draw()
  }

  private draw(): void {
    let line = `${this.label}: ${this.count.toLocaleString('en-US')}`
    if (this.total > 0) {
      const ratio = Math.min(1, this.count / this.total)
      const width = 30
      const filled = Math.round(ratio * width)
      line += ` / ${this.total.toLocaleString('en-US')} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0)}%`
    }
    this.stream.write(`\r\x1b[K${line}`)
  }

  done(): void {
    if (this.active && this.lastDraw > 0) this.stream.write('\r\x1b[K')
  }
}
