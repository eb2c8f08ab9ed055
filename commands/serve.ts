import * as path from 'node:path'
import {Args, Flags} from '@oclif/core'
import {metricIntFlag} from '../src/cli/args.js'
import {KvCommand} from '../src/cli/base-command.js'
import {parseMetricInt} from '../src/engine/params.js'
import {isKyotoSpec, translateKyotoSpec} from '../src/protocols/kt/db-spec.js'
import {ktFrontEnd} from '../src/protocols/kt/kt-server.js'
import {memcachedFrontEnd, parseMemcachedOptions} from '../src/protocols/memcached/memcached-server.js'
import {replicationComponent} from '../src/repl/start.js'
import {runServer} from '../src/server/lifecycle.js'
import {LOG_DATE_FORMATS, LOG_LEVELS} from '../src/server/logger.js'
import {DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, grpcFrontEnd} from '../src/protocols/grpc/grpc-server.js'

export default class Serve extends KvCommand {
  static override description = `Serve databases over gRPC, as the Tkrzw-RPC service tkrzw_rpc.DBMService.

Every Tkrzw-RPC client works against it, and so do grpcurl and load-balancer health checks
(the gRPC health service and server reflection are on). Each argument is a database
configuration, path#name=value,...; the first is index 0. Without any, the server holds one
on-memory TinyDBM. A database that fails to open is logged, its calls answer
PRECONDITION_ERROR, and the server exits with status 1 when it stops.

kv serves from one event loop: record operations are microseconds of work and never wait,
blocked calls (PopFirst and CompareExchange with retry_wait) wait on promises, and rebuilds
run in slices, so no call holds up another. --threads and --async are accepted for
compatibility and change nothing.

Differences from tkrzw_server, on purpose: the default address is 127.0.0.1:1978 (give
0.0.0.0:1978 to listen on every interface); PushLast without a wtime (0) stamps the record
with the current time rather than the epoch; CompareExchangeMulti does not add an implicit
"the empty key is absent" expectation; the backup suffix of Synchronize make_backup= is
zero-padded; a negative dbm_index with retry_wait is an INVALID_ARGUMENT like any other.

Every write a reply acknowledges is in the operating system's hands before the reply leaves:
killing the server loses nothing acknowledged (Synchronize with hard is what survives a power
loss). A write that does not fit on the disk fails with SYSTEM_ERROR and changes nothing;
such failures are logged, and the server exits with status 1 when it stops.

A client that stops reading its answers gets no more of its requests served, unary or
streamed, until it reads again: at most 16 MB of answers wait per connection. A connection
that does not begin HTTP/2 within --handshake_timeout is dropped, at --max_connections the
oldest such connection makes room for a new one, and a connection without calls for
--idle_timeout is closed (gRPC clients reconnect by themselves).

With --ulog_prefix every change of every database goes to update-log files (Tkrzw's
MessageQueue format, tagged with --server_id and the database index), which replicas pull
with the Replicate call. --repl_master makes this server a replica: it applies its master's
changes to the databases of the same indexes, logs them as the master's (so that chains and
dual masters work), keeps the newest timestamp applied in --repl_ts_file, and after a broken
connection resumes from there (--repl_wait works, unlike the reference's). ChangeMaster
(kv remote changemaster) switches masters at run time on any server.

--memcached also serves one database over the memcached text protocol; --kt serves every
database over Kyoto Tycoon's HTTP TSV-RPC, REST and binary protocols (with Lua scripts from
--script, and Prometheus metrics at /metrics). Kyoto Tycoon's database specifications (:,
*, %, casket.kch#bnum=...) are taken as they are and mapped onto kv's classes.

SIGHUP reopens the log file; SIGINT, SIGTERM and SIGQUIT stop taking calls, let the ones in
flight finish (up to --shutdown_wait seconds), close the databases cleanly and end the
process; a second signal ends it at once.`
  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --address 0.0.0.0:1978 casket.tkh "queue.tkmb#key_comparator=dec"',
    '<%= config.bin %> serve --address unix:/tmp/kv.sock --log_level debug',
    '<%= config.bin %> serve --auth ssl:key=server.key,cert=server.crt,root=ca.crt casket.tkh',
    '<%= config.bin %> serve --daemon --pid_file /var/run/kv.pid --log_file /var/log/kv.log /data/casket.tkh',
    '<%= config.bin %> serve --server_id 1 --ulog_prefix /data/casket-ulog /data/casket.tkh',
    '<%= config.bin %> serve --memcached 11211 "/data/cache.tkh#expiration=true"',
    '<%= config.bin %> serve --kt 1978 --address 127.0.0.1:1979 "/data/casket.tkh#expiration=true"',
    '<%= config.bin %> serve --address 127.0.0.1:1979 --server_id 2 --ulog_prefix /data2/casket-ulog --repl_master 127.0.0.1:1978 --repl_ts_file /data2/casket.ts /data2/casket.tkh',
  ]
  static override strict = false
  static override args = {
    databases: Args.string({description: 'database configurations (path#name=value,...)'}),
  }
  static override flags = {
    address: Flags.string({description: 'where to listen: host:port, [v6]:port or unix:/path', default: '127.0.0.1:1978', env: 'KV_ADDRESS'}),
    auth: Flags.string({description: 'mutual TLS: ssl:key=FILE,cert=FILE,root=FILE'}),
    threads: Flags.integer({description: 'accepted for compatibility; kv serves from one event loop', default: 1, min: 1}),
    async: Flags.boolean({description: 'accepted for compatibility; every call is served asynchronously'}),
    log_file: Flags.string({description: 'file to append the log to (default: standard output)'}),
    log_level: Flags.string({description: 'lowest level logged; debug logs every call', options: [...LOG_LEVELS], default: 'info'}),
    log_date: Flags.string({description: 'date format of log lines', options: [...LOG_DATE_FORMATS], default: 'simple'}),
    log_td: Flags.integer({description: 'time difference of log dates from UTC in seconds (default: local time)'}),
    server_id: Flags.integer({description: 'the ID of this server (at least 1)', default: 1, min: 1}),
    pid_file: Flags.string({description: 'file to write the process ID to'}),
    daemon: Flags.boolean({description: 'run in the background, detached from the terminal'}),
    shutdown_wait: Flags.integer({description: 'seconds to let calls in flight finish when stopping', default: 60, min: 0}),
    read_only: Flags.boolean({description: 'open every database read-only'}),
    max_connections: Flags.integer({
      description:
        'connections held at once; beyond it, the oldest still in its handshake makes room, else the new one is refused (default: the open-file limit less 64)',
      min: 1,
    }),
    handshake_timeout: Flags.integer({
      description: 'seconds a new connection may take to start speaking HTTP/2 (and TLS) before it is dropped; 0 for no limit',
      default: DEFAULT_HANDSHAKE_TIMEOUT,
      min: 0,
    }),
    ulog_prefix: Flags.string({description: 'log every change to update-log files PREFIX.0000000000 ... (what replicas pull)'}),
    ulog_max_file_size: metricIntFlag({description: 'the size at which a new update-log file is started (default 1Gi)', min: 1}),
    repl_master: Flags.string({description: 'replicate from this master (host:port); ChangeMaster changes it at run time'}),
    repl_ts_file: Flags.string({description: 'the file keeping the newest master timestamp applied: where replication resumes after a restart'}),
    repl_ts_from_dbm: Flags.boolean({description: "without a timestamp file, start replicating from the oldest database's own timestamp"}),
    repl_ts_skew: Flags.integer({description: 'milliseconds added to the starting timestamp; negative replays a little (changes are idempotent)', default: 0}),
    kt: Flags.string({
      description: "also serve Kyoto Tycoon's protocols at [host:]port (127.0.0.1 when no host): HTTP TSV-RPC under /rpc/, REST, and the binary protocol",
    }),
    script: Flags.string({description: 'a Lua script whose global functions play_script calls on the --kt port (SIGUSR1 reloads it)'}),
    script_timeout: Flags.integer({description: 'seconds one script call may run before it is stopped', default: 10, min: 1}),
    script_memory: metricIntFlag({description: 'bytes the script may hold (default 256Mi)', min: 1}),
    memcached: Flags.string({description: 'also serve the memcached text protocol at [host:]port (127.0.0.1 when no host)'}),
    memcached_index: Flags.integer({description: 'the database the memcached protocol serves', default: 0, min: 0}),
    memcached_options: Flags.string({
      description:
        "Kyoto Tycoon's options, comma-separated: read_only (r) refuses writes, queue (q) is its message-queue mode, kt_exptime reads exptimes above 2^24 s as epoch times",
    }),
    memcached_queue_wait: Flags.integer({description: 'seconds a get waits for a message in the queue mode', default: 10, min: 0}),
    sweep_interval: Flags.integer({description: 'seconds between sweeps of expired records, in databases opened with expiration=true', default: 10, min: 1}),
    repl_wait: Flags.integer({description: 'seconds the master waits without a change before it sends a heartbeat', default: 1, min: 1}),
    idle_timeout: Flags.integer({
      description: 'seconds a connection may stay without calls before it is closed (clients reconnect by themselves); 0 for no limit',
      default: DEFAULT_IDLE_TIMEOUT,
      min: 0,
    }),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Serve)
    const grpc = grpcFrontEnd({
      address: flags.address,
      auth: flags.auth,
      maxConnections: flags.max_connections,
      handshakeTimeout: flags.handshake_timeout,
      idleTimeout: flags.idle_timeout,
    })
    const options = {
      // Kyoto Tycoon's database specifications (casket.kch#bnum=..., :, *, %) are translated.
      configs: (argv as string[]).map((arg) => (isKyotoSpec(arg) ? translateKyotoSpec(arg) : arg)),
      address: flags.address,
      auth: flags.auth,
      logFile: flags.log_file ?? '',
      logLevel: flags.log_level as (typeof LOG_LEVELS)[number],
      logDate: flags.log_date as (typeof LOG_DATE_FORMATS)[number],
      logTd: flags.log_td,
      serverId: flags.server_id,
      pidFile: flags.pid_file,
      daemon: flags.daemon,
      shutdownWait: flags.shutdown_wait,
      readOnly: flags.read_only,
      version: this.config.version,
      maxConnections: flags.max_connections,
      handshakeTimeout: flags.handshake_timeout,
      idleTimeout: flags.idle_timeout,
      ulog: flags.ulog_prefix ? {prefix: flags.ulog_prefix, maxFileSize: parseMetricInt(flags.ulog_max_file_size ?? '1Gi')} : undefined,
      sweepSeconds: flags.sweep_interval,
      componentArgs: [
        ...replicationArgs(flags),
        '--sweep_interval',
        String(flags.sweep_interval),
        ...(flags.kt === undefined ? [] : ['--kt', flags.kt]),
        ...(flags.script === undefined
          ? []
          : ['--script', path.resolve(flags.script), '--script_timeout', String(flags.script_timeout), '--script_memory', flags.script_memory ?? '256Mi']),
        ...(flags.memcached === undefined
          ? []
          : [
              '--memcached',
              flags.memcached,
              '--memcached_index',
              String(flags.memcached_index),
              '--memcached_options',
              flags.memcached_options ?? '',
              '--memcached_queue_wait',
              String(flags.memcached_queue_wait),
            ]),
      ],
    }
    const replication = replicationComponent({
      master: flags.repl_master,
      tsFile: flags.repl_ts_file ? path.resolve(flags.repl_ts_file) : undefined,
      tsFromDbm: flags.repl_ts_from_dbm,
      tsSkew: flags.repl_ts_skew,
      waitSeconds: flags.repl_wait,
    })
    const frontEnds = [grpc]
    if (flags.script !== undefined && flags.kt === undefined) this.error("--script needs --kt: scripts are called over Kyoto Tycoon's protocols")
    if (flags.kt !== undefined) {
      frontEnds.push(
        ktFrontEnd({
          address: flags.kt,
          idleSeconds: flags.idle_timeout,
          scriptPath: flags.script === undefined ? undefined : path.resolve(flags.script),
          scriptTimeoutMs: flags.script_timeout * 1000,
          scriptMemoryBytes: parseMetricInt(flags.script_memory ?? '256Mi'),
        }),
      )
    }
    if (flags.memcached !== undefined) {
      const kt = parseMemcachedOptions(flags.memcached_options ?? '')
      frontEnds.push(memcachedFrontEnd({address: flags.memcached, index: flags.memcached_index, queueWaitSeconds: flags.memcached_queue_wait, ...kt}))
    }
    const status = await runServer(options, frontEnds, [replication])
    // End now: a connection whose client stopped reading can keep the event loop alive
    // long after the databases are closed, and the shutdown promised to end within
    // --shutdown_wait.
    process.exit(status)
  }
}

/** The replication flags again, for a daemon's own command line (paths made absolute: a daemon runs from /). */
function replicationArgs(flags: {repl_master?: string; repl_ts_file?: string; repl_ts_from_dbm: boolean; repl_ts_skew: number; repl_wait: number}): string[] {
  const args = ['--repl_ts_skew', String(flags.repl_ts_skew), '--repl_wait', String(flags.repl_wait)]
  if (flags.repl_master) args.push('--repl_master', flags.repl_master)
  if (flags.repl_ts_file) args.push('--repl_ts_file', path.resolve(flags.repl_ts_file))
  if (flags.repl_ts_from_dbm) args.push('--repl_ts_from_dbm')
  return args
}
