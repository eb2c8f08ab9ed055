import {Code, StatusError} from '../../engine/status.js'

/**
 * Kyoto Tycoon's database specifications (`casket.kch#bnum=1000000#opts=c`, `:`, `*#capsiz=1g`)
 * as kv configurations, so that a ktserver command line starts kv. Kyoto Tycoon's databases
 * keep expiry times unless `ktopts=p` says otherwise, and so do the translations.
 *
 * Special paths: `-` prototype hash (StdHashDBM), `+` prototype tree (StdTreeDBM), `:` stash
 * (TinyDBM), `*` cache hash (CacheDBM), `%` cache tree (BabyDBM). Extensions: `.kch` file
 * hash (HashDBM), `.kct` file tree (TreeDBM); the file keeps its name, but holds kv's format.
 * Parameters that change only speed and have no kv counterpart are accepted and dropped (the
 * list says which); one that changes what is stored or how, and has no counterpart, is
 * refused with its name.
 */
const SPECIAL_CLASSES: {[path: string]: string} = {'-': 'stdhash', '+': 'stdtree', ':': 'tiny', '*': 'cache', '%': 'baby'}
const FILE_CLASSES: {[extension: string]: string} = {'.kch': 'hash', '.kct': 'tree'}
const KYOTO_EXTENSIONS = /\.(kch|kct|kcd|kcf|kcx|kcm)$/i

/** Tuning knobs of Kyoto Cabinet that only change speed (memory map size, defragmentation, ...): accepted, no effect. */
const SPEED_ONLY = new Set(['msiz', 'dfunit', 'fpow', 'pccap', 'log', 'logkinds', 'logpx', 'mtrg'])

const UNITS: {[suffix: string]: number} = {k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50}

/** A number as Kyoto Cabinet reads one: digits with an optional binary unit (k, m, g, t, p: 1k = 1024). */
export function kyotoNumber(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([kmgtp]?)b?$/i.exec(text.trim())
  if (!match) return undefined
  return Math.floor(Number(match[1]) * (UNITS[match[2].toLowerCase()] ?? 1))
}

/**
 * The special path Kyoto Tycoon gives the kind of an on-memory kv configuration
 * (`#dbm=baby,...` is `%`), if it has one.
 */
export function kyotoSpecialOf(config: string): string | undefined {
  const dbmClass = /(?:^|[#,])dbm=([a-z]+)/i.exec(config)?.[1]?.toLowerCase()
  return Object.keys(SPECIAL_CLASSES).find((special) => SPECIAL_CLASSES[special] === dbmClass)
}

/** Whether a database argument is written the Kyoto Tycoon way. */
export function isKyotoSpec(spec: string): boolean {
  const path = spec.split('#')[0]
  return Object.hasOwn(SPECIAL_CLASSES, path) || KYOTO_EXTENSIONS.test(path)
}

function refuse(message: string): never {
  throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `Kyoto Tycoon database "${message}`)
}

/** The kv configuration of a Kyoto Tycoon database specification. */
export function translateKyotoSpec(spec: string): string {
  const [path, ...paramTexts] = spec.split('#')
  const extension = /\.[^./]*$/.exec(path)?.[0].toLowerCase() ?? ''
  const dbmClass = SPECIAL_CLASSES[path] ?? FILE_CLASSES[extension]
  if (!dbmClass) refuse(`${spec}": directory databases (.kcd, .kcf) and text or plant databases have no kv class; use .kch or .kct`)
  const params: [string, string][] = [['dbm', dbmClass]]
  let expiration = true
  for (const text of paramTexts) {
    if (text === '') continue
    const equals = text.indexOf('=')
    const name = (equals < 0 ? text : text.slice(0, equals)).toLowerCase()
    const value = equals < 0 ? '' : text.slice(equals + 1)
    const metric = (): string => {
      const number = kyotoNumber(value)
      return number === undefined ? refuse(`${spec}": ${name}=${value} is not a number`) : String(number)
    }
    switch (name) {
      case 'type':
        break
      case 'bnum':
        if (dbmClass === 'hash' || dbmClass === 'tree' || dbmClass === 'tiny' || dbmClass === 'stdhash') params.push(['num_buckets', metric()])
        break
      case 'apow':
        if (dbmClass === 'hash' || dbmClass === 'tree') params.push(['align_pow', metric()])
        break
      case 'psiz':
        if (dbmClass === 'tree') params.push(['max_page_size', metric()])
        break
      case 'capcnt':
        if (dbmClass !== 'cache') refuse(`${spec}": capcnt needs a cache hash database (*); kv evicts only from CacheDBM`)
        params.push(['cap_rec_num', metric()])
        break
      case 'capsiz':
        if (dbmClass !== 'cache') refuse(`${spec}": capsiz needs a cache hash database (*); kv evicts only from CacheDBM`)
        params.push(['cap_mem_size', metric()])
        break
      case 'opts':
        for (const option of value.toLowerCase()) {
          // s: 32-bit offsets (kv's 4-byte default); l: linear chains (a speed choice); c: compression.
          if (option === 'c') params.push(['record_comp_mode', 'zlib'])
          else if (option === 's') params.push(['offset_width', '4'])
          else if (option !== 'l') refuse(`${spec}": unknown option letter "${option}" in opts`)
        }
        break
      case 'zcomp':
        if (value === 'zlib' || value === 'def' || value === 'gz') params.push(['record_comp_mode', 'zlib'])
        else if (value === 'lzma' || value === 'xz') params.push(['record_comp_mode', 'lzma'])
        else refuse(`${spec}": zcomp=${value} has no kv codec (zlib, lzma; kv also has zstd and lz4 by its own names)`)
        break
      case 'rcomp':
        if (dbmClass !== 'tree' && dbmClass !== 'baby') refuse(`${spec}": rcomp needs an ordered database`)
        if (value === 'lex' || value === 'lexical') params.push(['key_comparator', 'lexical'])
        else if (value === 'dec' || value === 'decimal') params.push(['key_comparator', 'decimal'])
        else refuse(`${spec}": rcomp=${value} has no kv comparator (lex, dec)`)
        break
      case 'ktopts':
        if (value.toLowerCase().includes('p')) expiration = false
        break
      case 'ktcapcnt':
      case 'ktcapsiz':
        refuse(`${spec}": ${name} (random eviction at a capacity) has no kv counterpart; use a cache database (*) with capcnt or capsiz`)
        break
      case 'zkey':
        refuse(`${spec}": zkey (encryption) has no kv counterpart`)
        break
      default:
        if (!SPEED_ONLY.has(name)) refuse(`${spec}": unknown parameter "${name}"`)
    }
  }
  if (expiration) params.push(['expiration', 'true'])
  const filePath = Object.hasOwn(SPECIAL_CLASSES, path) ? '' : path
  return `${filePath}#${params.map(([name, value]) => `${name}=${value}`).join(',')}`
}
