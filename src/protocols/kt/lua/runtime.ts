import {LuaFactory, type LuaEngine} from 'wasmoon'

/**
 * A Lua 5.4 virtual machine (wasmoon: the reference interpreter compiled to WebAssembly) for
 * Kyoto Tycoon's scripts. Values cross between JavaScript and Lua through Lua's own C API,
 * so that strings stay byte strings both ways (wasmoon's conversions would read them as
 * UTF-8). Every call into the script has a deadline, checked every thousand instructions,
 * and the whole state a memory limit enforced by its allocator: a runaway script ends with
 * an error, not with the server.
 */
export type LuaValue = undefined | null | boolean | number | bigint | Buffer | string | LuaTable | LuaValue[]

/** A Lua table read from or written to the script: its pairs, keys as byte strings or numbers. */
export class LuaTable {
  constructor(readonly entries: [Buffer | number, LuaValue][] = []) {}

  /** The values under 1, 2, 3, ... in order. */
  array(): LuaValue[] {
    return this.entries
      .filter((entry): entry is [number, LuaValue] => typeof entry[0] === 'number')
      .sort((a, b) => a[0] - b[0])
      .map((entry) => entry[1])
  }
}

/** A native function: its arguments as JavaScript values, its results likewise. */
export type NativeFunction = (...args: LuaValue[]) => LuaValue | LuaValue[]

const LUA_TNIL = 0
const LUA_TBOOLEAN = 1
const LUA_TNUMBER = 3
const LUA_TSTRING = 4
const LUA_TTABLE = 5
const LUA_MASKCOUNT = 8
const LUA_MULTRET = -1
/** How often the deadline is checked, in VM instructions. */
const HOOK_INSTRUCTIONS = 1000
/** How deep tables are read or written (a cycle stops here). */
const MAX_DEPTH = 16

export class ScriptError extends Error {}

export interface RuntimeOptions {
  /** Milliseconds a call may run. */
  timeoutMs: number
  /** Bytes the state may allocate. */
  memoryBytes: number
}

type Module = LuaEngine['global']['lua']['module'] & {HEAPU8: Uint8Array; HEAPU32: Uint32Array; _malloc(size: number): number; _free(pointer: number): void}

export class LuaRuntime {
  private deadline = 0
  private readonly lengthPointer: number
  private readonly functionPointers: number[] = []
  private hookPointer = 0
  private closed = false

  private constructor(
    private readonly engine: LuaEngine,
    private readonly options: RuntimeOptions,
  ) {
    this.lengthPointer = this.module._malloc(8)
  }

  static async create(options: RuntimeOptions): Promise<LuaRuntime> {
    const engine = await new LuaFactory().createEngine({traceAllocations: true, openStandardLibs: true, injectObjects: false, enableProxy: false})
    engine.global.setMemoryMax(options.memoryBytes)
    const runtime = new LuaRuntime(engine, options)
    runtime.installHook()
    return runtime
  }

  private get lua() {
    return this.engine.global.lua
  }

  private get module(): Module {
    return this.engine.global.lua.module as Module
  }

  private get state(): number {
    return this.engine.global.address
  }

  /** The deadline check: past it, the running code raises an error. */
  private installHook(): void {
    this.hookPointer = this.module.addFunction((state: number) => {
      if (Date.now() > this.deadline) {
        this.pushBytes(state, Buffer.from(`the script ran longer than ${this.options.timeoutMs} ms`))
        this.lua.lua_error(state)
      }
    }, 'vii')
    this.lua.lua_sethook(this.state, this.hookPointer, LUA_MASKCOUNT, HOOK_INSTRUCTIONS)
  }

  // ---- values across the boundary ----

  private pushBytes(state: number, bytes: Buffer): void {
    const module = this.module
    const pointer = module._malloc(bytes.length || 1)
    if (!pointer) throw new ScriptError('not enough memory')
    module.HEAPU8.set(bytes, pointer)
    this.lua.lua_pushlstring(state, pointer, bytes.length)
    module._free(pointer)
  }

  private readBytes(state: number, index: number): Buffer {
    const module = this.module
    const pointer = (module as unknown as {_lua_tolstring(L: number, i: number, len: number): number})._lua_tolstring(state, index, this.lengthPointer)
    if (!pointer) return Buffer.alloc(0)
    const length = module.HEAPU32[this.lengthPointer >> 2]
    return Buffer.from(module.HEAPU8.subarray(pointer, pointer + length))
  }

  push(state: number, value: LuaValue, depth = 0): void {
    const lua = this.lua
    if (value === undefined || value === null) lua.lua_pushnil(state)
    else if (typeof value === 'boolean') lua.lua_pushboolean(state, value ? 1 : 0)
    else if (typeof value === 'bigint') lua.lua_pushinteger(state, value)
    else if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) lua.lua_pushinteger(state, BigInt(value))
      else lua.lua_pushnumber(state, value)
    } else if (typeof value === 'string') this.pushBytes(state, Buffer.from(value, 'latin1'))
    else if (Buffer.isBuffer(value)) this.pushBytes(state, value)
    else if (depth > MAX_DEPTH) lua.lua_pushnil(state)
    else if (Array.isArray(value)) {
      lua.lua_createtable(state, value.length, 0)
      value.forEach((item, i) => {
        this.push(state, item, depth + 1)
        lua.lua_rawseti(state, -2, BigInt(i + 1))
      })
    } else {
      lua.lua_createtable(state, 0, value.entries.length)
      for (const [key, item] of value.entries) {
        this.push(state, key, depth + 1)
        this.push(state, item, depth + 1)
        lua.lua_rawset(state, -3)
      }
    }
  }

  read(state: number, index: number, depth = 0): LuaValue {
    const lua = this.lua
    switch (lua.lua_type(state, index)) {
      case LUA_TNIL:
        return undefined
      case LUA_TBOOLEAN:
        return lua.lua_toboolean(state, index) !== 0
      case LUA_TNUMBER:
        return lua.lua_isinteger(state, index) ? Number(lua.lua_tointegerx(state, index, null)) : lua.lua_tonumberx(state, index, null)
      case LUA_TSTRING:
        return this.readBytes(state, index)
      case LUA_TTABLE: {
        if (depth > MAX_DEPTH) return undefined
        const table = new LuaTable()
        const at = lua.lua_absindex(state, index)
        lua.lua_pushnil(state)
        while (lua.lua_next(state, at) !== 0) {
          // The key is read from a copy: converting it in place would confuse lua_next.
          lua.lua_pushvalue(state, -2)
          const key = this.read(state, -1, depth + 1)
          lua.lua_settop(state, -2)
          const value = this.read(state, -1, depth + 1)
          lua.lua_settop(state, -2)
          if (typeof key === 'number' || Buffer.isBuffer(key)) table.entries.push([key, value])
        }
        return table
      }
      default:
        // Functions, userdata and threads do not cross.
        return undefined
    }
  }

  /**
   * Defines a global function backed by JavaScript. A JavaScript exception becomes a Lua
   * error with its message, which the script can catch with pcall.
   */
  defineFunction(name: string, native: NativeFunction): void {
    const pointer = this.module.addFunction((state: number) => {
      let results: LuaValue[]
      try {
        const count = this.lua.lua_gettop(state)
        const args: LuaValue[] = []
        for (let i = 1; i <= count; i++) args.push(this.read(state, i))
        const result = native(...args)
        results = Array.isArray(result) && !(result instanceof LuaTable) ? result : [result]
        for (const value of results) this.push(state, value)
      } catch (error) {
        this.pushBytes(state, Buffer.from((error as Error).message))
        return this.lua.lua_error(state)
      }
      return results.length
    }, 'ii')
    this.functionPointers.push(pointer)
    this.lua.lua_pushcclosure(this.state, pointer, 0)
    this.lua.lua_setglobal(this.state, name)
  }

  /** Sets a global variable. */
  setGlobal(name: string, value: LuaValue): void {
    this.push(this.state, value)
    this.lua.lua_setglobal(this.state, name)
  }

  /** Runs a chunk of Lua (a script file, the library's prelude) under the time limit. */
  run(source: Buffer, chunkName: string): void {
    const module = this.module
    const state = this.state
    const top = this.lua.lua_gettop(state)
    const pointer = module._malloc(source.length || 1)
    module.HEAPU8.set(source, pointer)
    const namePointer = module._malloc(chunkName.length + 2)
    module.HEAPU8.set(Buffer.from(`=${chunkName}\0`, 'latin1'), namePointer)
    const loaded = this.lua.luaL_loadbufferx(state, pointer, source.length, namePointer, null)
    module._free(pointer)
    module._free(namePointer)
    if (loaded !== 0) {
      const message = this.readBytes(state, -1).toString()
      this.lua.lua_settop(state, top)
      throw new ScriptError(message)
    }
    this.deadline = Date.now() + this.options.timeoutMs
    const status = this.lua.lua_pcallk(state, 0, 0, 0, 0, null)
    if (status !== 0) {
      const message = this.readBytes(state, -1).toString()
      this.lua.lua_settop(state, top)
      throw new ScriptError(message)
    }
    this.lua.lua_settop(state, top)
  }

  /** Calls a global function with arguments; its results, or a ScriptError with the message it raised. */
  call(name: string, args: LuaValue[]): LuaValue[] {
    if (this.closed) throw new ScriptError('the script is closed')
    const state = this.state
    const lua = this.lua
    const top = lua.lua_gettop(state)
    lua.lua_getglobal(state, name)
    for (const arg of args) this.push(state, arg)
    this.deadline = Date.now() + this.options.timeoutMs
    const status = lua.lua_pcallk(state, args.length, LUA_MULTRET, 0, 0, null)
    if (status !== 0) {
      const message = this.readBytes(state, -1).toString()
      lua.lua_settop(state, top)
      throw new ScriptError(message)
    }
    const results: LuaValue[] = []
    for (let i = top + 1; i <= lua.lua_gettop(state); i++) results.push(this.read(state, i))
    lua.lua_settop(state, top)
    return results
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.module._free(this.lengthPointer)
    this.engine.global.close()
  }
}
