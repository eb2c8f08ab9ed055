import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, it} from 'node:test'

// The source tree, read as TypeScript (the tests run from dist/test, two levels down).
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/**
 * Which layers a layer may import from, as the design draws them: commands -> cli ->
 * (perf, client, repl, protocols -> server) -> engine. A layer is the longest prefix listed.
 */
const ALLOWED: {[layer: string]: string[]} = {
  // Network addresses: beside the engine, for every layer above it.
  'src/net': ['src/engine'],
  'src/engine': [],
  'src/server': ['src/net', 'src/engine'],
  'src/protocols/grpc': ['src/server', 'src/net', 'src/engine'],
  'src/protocols/memcached': ['src/server', 'src/net', 'src/engine'],
  'src/protocols/kt': ['src/server', 'src/net', 'src/engine'],
  'src/client': ['src/protocols/grpc', 'src/net', 'src/engine'],
  'src/perf': ['src/client', 'src/net', 'src/engine'],
  // A replica is a client of its master inside a server.
  'src/repl': ['src/client', 'src/server', 'src/engine'],
  'src/cli': ['src/perf', 'src/client', 'src/repl', 'src/protocols/grpc', 'src/server', 'src/net', 'src/engine'],
  // The library's entry: what a program that embeds kv uses.
  'src/index.ts': ['src/client', 'src/protocols/grpc', 'src/server', 'src/engine'],
  commands: [
    'src/cli',
    'src/perf',
    'src/client',
    'src/repl',
    'src/protocols/grpc',
    'src/protocols/memcached',
    'src/protocols/kt',
    'src/server',
    'src/net',
    'src/engine',
  ],
}

function sourceFiles(dir: string): string[] {
  const found: string[] = []
  for (const entry of fs.readdirSync(path.join(ROOT, dir), {withFileTypes: true})) {
    const rel = `${dir}/${entry.name}`
    if (entry.isDirectory()) found.push(...sourceFiles(rel))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(rel)
  }
  return found
}

/** Every relative import of a file (type-only ones too: they are a dependency all the same), as repository paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
  const found: string[] = []
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), match[1])).replace(/\.js$/, '.ts')
    found.push(target)
  }
  return found
}

function layerOf(file: string): string | undefined {
  return Object.keys(ALLOWED)
    .filter((layer) => file === layer || file.startsWith(`${layer}/`))
    .sort((a, b) => b.length - a.length)[0]
}

const FILES = [...sourceFiles('src'), ...sourceFiles('commands')]
const GRAPH = new Map(FILES.map((file) => [file, importsOf(file).filter((target) => FILES.includes(target))]))

/** The strongly connected components with more than one file (or a file importing itself): Tarjan's algorithm. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (node: string) => {
    index.set(node, counter)
    low.set(node, counter)
    counter++
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort())
    }
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return found
}

describe('the architecture', () => {
  it('finds the source files and their imports', () => {
    assert.ok(FILES.length > 50, `only ${FILES.length} files found under ${ROOT}`)
    assert.ok(GRAPH.get('src/engine/poly.ts')?.includes('src/engine/dbm.ts'))
  })

  it('has no import cycle in src/ or commands/', () => {
    assert.deepEqual(cycles(GRAPH), [])
  })

  it('finds a cycle when there is one', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ])
    assert.deepEqual(cycles(graph), [['a', 'b', 'c']])
  })

  it('imports only downwards: commands, cli, perf/client/protocols, server, engine', () => {
    const wrong: string[] = []
    for (const [file, targets] of GRAPH) {
      const from = layerOf(file)
      assert.ok(from, `${file} is in no layer of the design`)
      for (const target of targets) {
        const to = layerOf(target)!
        if (to !== from && !ALLOWED[from].includes(to)) wrong.push(`${file} -> ${target}`)
      }
    }
    assert.deepEqual(wrong, [])
  })
})
