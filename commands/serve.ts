import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../src/cli/base-command.js'
import {runServer} from '../src/rpc/server/run.js'
import {LOG_DATE_FORMATS, LOG_LEVELS} from '../src/rpc/server/logger.js'

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

SIGHUP reopens the log file; SIGINT, SIGTERM and SIGQUIT stop taking calls, let the ones in
flight finish (up to --shutdown_wait seconds) and close the databases cleanly.`
  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --address 0.0.0.0:1978 casket.tkh "queue.tkmb#key_comparator=dec"',
    '<%= config.bin %> serve --address unix:/tmp/kv.sock --log_level debug',
    '<%= config.bin %> serve --auth ssl:key=server.key,cert=server.crt,root=ca.crt casket.tkh',
    '<%= config.bin %> serve --daemon --pid_file /var/run/kv.pid --log_file /var/log/kv.log /data/casket.tkh',
  ]
  static override strict = false
  static override args = {
    databases: Args.string({description: 'database configurations (path#name=value,...)'}),
  }
  static override flags = {
    address: Flags.string({description: 'where to listen: host:port, [v6]:port or unix:/path', default: '127.0.0.1:1978'}),
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
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Serve)
    const status = await runServer({
      configs: argv as string[],
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
    })
    process.exitCode = status
  }
}
