import * as fs from 'node:fs'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export const LOG_DATE_FORMATS = ['simple', 'simple_micro', 'w3cdtf', 'w3cdtf_micro', 'rfc1123', 'epoch', 'epoch_micro'] as const
export type LogDateFormat = (typeof LOG_DATE_FORMATS)[number]

export interface LoggerOptions {
  /** A file to append to; '' or '-' (or /dev/stdout) for standard output. */
  file: string
  level: LogLevel
  dateFormat: LogDateFormat
  /** Offset from UTC in seconds for the dates; undefined for the local time zone. */
  timeDifference?: number
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** The date of a log line in one of the reference server's formats. */
export function formatLogDate(micros: number, format: LogDateFormat, timeDifference?: number): string {
  if (format === 'epoch') return (micros / 1e6).toFixed(0)
  if (format === 'epoch_micro') return (micros / 1e6).toFixed(6)
  const millis = Math.floor(micros / 1000)
  const offset = timeDifference ?? -new Date(millis).getTimezoneOffset() * 60
  // A Date shifted by the offset, read through its UTC fields, gives the local fields.
  const d = new Date(millis + offset * 1000)
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  const fraction = pad(micros % 1_000_000, 6)
  const sign = offset < 0 ? '-' : '+'
  const abs = Math.abs(offset)
  const zoneHours = pad(Math.floor(abs / 3600))
  const zoneMinutes = pad(Math.floor((abs % 3600) / 60))
  switch (format) {
    case 'simple':
      return `${date.replaceAll('-', '/')} ${time}`
    case 'simple_micro':
      return `${date.replaceAll('-', '/')} ${time}.${fraction}`
    case 'w3cdtf':
      return `${date}T${time}${offset === 0 ? 'Z' : `${sign}${zoneHours}:${zoneMinutes}`}`
    case 'w3cdtf_micro':
      return `${date}T${time}.${fraction}${offset === 0 ? 'Z' : `${sign}${zoneHours}:${zoneMinutes}`}`
    case 'rfc1123':
      return `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${time} ${offset === 0 ? 'GMT' : `${sign}${zoneHours}${zoneMinutes}`}`
  }
}

/**
 * The server's log: one line per event, `DATE [LEVEL] message`, appended to a file that
 * can be reopened (SIGHUP) after a log rotator moved it.
 */
export class Logger {
  private fd: number
  private readonly threshold: number

  constructor(private readonly options: LoggerOptions) {
    this.threshold = LOG_LEVELS.indexOf(options.level)
    this.fd = this.openFile()
  }

  private toStdout(): boolean {
    return ['', '-', '/dev/stdout'].includes(this.options.file)
  }

  private openFile(): number {
    if (this.toStdout()) return 1
    return fs.openSync(this.options.file, 'a', 0o644)
  }

  /** Closes and reopens the file, so that a rotated log starts afresh. */
  reopen(): void {
    if (this.toStdout()) return
    const old = this.fd
    this.fd = this.openFile()
    fs.closeSync(old)
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.threshold
  }

  log(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return
    const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000)
    const line = `${formatLogDate(micros, this.options.dateFormat, this.options.timeDifference)} [${level.toUpperCase()}] ${message}\n`
    try {
      fs.writeSync(this.fd, line)
    } catch {
      // A log that cannot be written must not take the server down.
    }
  }

  debug(message: string): void {
    this.log('debug', message)
  }
  info(message: string): void {
    this.log('info', message)
  }
  warn(message: string): void {
    this.log('warn', message)
  }
  error(message: string): void {
    this.log('error', message)
  }

  close(): void {
    if (!this.toStdout()) fs.closeSync(this.fd)
  }
}
