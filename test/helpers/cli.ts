import {spawn, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const BIN = path.join(ROOT, 'bin', 'run.js')

export interface RunResult {
  status: number
  stdout: string
  stderr: string
}

/** Runs the kv executable as a user would, without a terminal. */
export function kv(args: string[], input?: string): RunResult {
  const result = spawnSync(BIN, args, {input, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})
  return {status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr}
}

/** Runs kv in the background: for commands that wait for something the test does meanwhile. */
export function kvAsync(args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(BIN, args, {env: {...process.env, NO_COLOR: '1'}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('exit', (code) => resolve({status: code ?? -1, stdout, stderr}))
  })
}

/** The command that runs kv, for shell lines in tests. */
// The executable itself, so that its interpreter line (with Node.js's flags) applies.
export const KV_COMMAND = JSON.stringify(BIN)

/** Runs a bash line with pipefail, `kv` standing for the kv executable. */
export function shell(line: string, timeoutMs = 60_000): RunResult {
  const result = spawnSync('bash', ['-c', `set -o pipefail; kv() { ${KV_COMMAND} "$@"; }; ${line}`], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: {...process.env, NO_COLOR: '1'},
  })
  return {status: result.error ? -1 : (result.status ?? -1), stdout: result.stdout ?? '', stderr: result.stderr ?? ''}
}

/** Runs any program; status -1 when it could not start. */
export function run(program: string, args: string[]): RunResult {
  const result = spawnSync(program, args, {encoding: 'utf8'})
  return {status: result.error ? -1 : (result.status ?? -1), stdout: result.stdout ?? '', stderr: result.stderr ?? ''}
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): {dir: string; cleanup: () => void} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-test-'))
  return {dir, cleanup: () => fs.rmSync(dir, {recursive: true, force: true})}
}

/** Whether an outside program is installed; tests that need it skip with a reason. */
export function hasProgram(name: string): boolean {
  return run('sh', ['-c', `command -v ${name}`]).status === 0
}
