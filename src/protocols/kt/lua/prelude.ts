/**
 * The Lua side of Kyoto Tycoon's `kt` environment: the module table, its constants, the
 * Error and DB classes, and the utility functions that are plain Lua. It runs once in each
 * new state before the user's script, over the natives the runtime defines (`__kv_*`, which
 * it hides afterwards).
 */
export const PRELUDE = String.raw`
local native_db, native_log, native_util, native_cursor = __kv_db, __kv_log, __kv_util, __kv_cursor
__kv_db, __kv_log, __kv_util, __kv_cursor = nil, nil, nil, nil

-- The sandbox: no files, no processes, no ending the server. (The state's files would be a
-- virtual file system in memory anyway; os.exit would end the server.)
io = nil
package = nil
require = nil
dofile = nil
loadfile = nil
debug = nil
os = {time = os.time, clock = os.clock, date = os.date, difftime = os.difftime}

-- Lua 5.1 names the reference's scripts use.
unpack = unpack or table.unpack
loadstring = loadstring or load
table.getn = table.getn or function(t) return #t end
math.mod = math.mod or math.fmod
string.gfind = string.gfind or string.gmatch

local kt = {}
__kyototycoon__ = kt
_G.kt = kt

kt.RVSUCCESS, kt.RVENOIMPL, kt.RVEINVALID, kt.RVELOGIC, kt.RVEINTERNAL = 0, 1, 2, 3, 4
kt.VERSION = __kv_version
__kv_version = nil
kt.thid = 0

-- Error -------------------------------------------------------------------------------
local Error = {SUCCESS = 0, NOIMPL = 1, INVALID = 2, NOREPOS = 3, NOPERM = 4, BROKEN = 5, DUPREC = 6, NOREC = 7, LOGIC = 8, SYSTEM = 9, MISC = 15}
local error_names = {[0] = 'success', [1] = 'not implemented', [2] = 'invalid operation', [3] = 'no repository', [4] = 'no permission',
  [5] = 'broken file', [6] = 'record duplication', [7] = 'no record', [8] = 'logical inconsistency', [9] = 'system error', [15] = 'miscellaneous error'}
Error.__index = Error
function Error.new(code, message)
  return setmetatable({code_ = code or 0, message_ = message or error_names[code or 0] or ''}, Error)
end
function Error:code() return self.code_ end
function Error:name() return error_names[self.code_] or 'unknown' end
function Error:message() return self.message_ end
function Error:set(code, message) self.code_, self.message_ = code, message end
Error.__tostring = function(self) return self:name() .. ': ' .. self:message() end
kt.Error = Error

-- DB ----------------------------------------------------------------------------------
local DB = {OREADER = 1, OWRITER = 2, OCREATE = 4, OTRUNCATE = 8, OAUTOTRAN = 16, OAUTOSYNC = 32, ONOLOCK = 64, OTRYLOCK = 128, ONOREPAIR = 256,
  MSET = 0, MADD = 1, MREPLACE = 2, MAPPEND = 3, XNOLOCK = 1, XNOCOMP = 256}
local methods = {}

-- A native call's packed answer (true and the results, or false, a code and a message): the
-- results, or false after noting the error on the owner (and on the database behind it).
local function results_of(owner, result, database)
  if result[1] then
    owner.error_ = Error.new(0, 'no error')
    return table.unpack(result, 2, result.n)
  end
  owner.error_ = Error.new(result[2], result[3])
  if database then database.error_ = owner.error_ end
  return false
end

local function call(db, op, ...) return results_of(db, table.pack(native_db(op, db.index_, ...))) end

function methods:error() return self.error_ end
function methods:set(key, value, xt) return call(self, 'set', key, value, xt) end
function methods:add(key, value, xt) return call(self, 'add', key, value, xt) end
function methods:replace(key, value, xt) return call(self, 'replace', key, value, xt) end
function methods:append(key, value, xt) return call(self, 'append', key, value, xt) end
function methods:increment(key, num, orig, xt)
  local result = call(self, 'increment', key, num or 0, orig or 0, xt)
  if result == false then return nil end
  return result
end
function methods:increment_double(key, num, orig, xt)
  local result = call(self, 'increment_double', key, num or 0, orig or 0, xt)
  if result == false then return nil end
  return result
end
function methods:cas(key, oval, nval, xt) return call(self, 'cas', key, oval, nval, xt) end
function methods:remove(key) return call(self, 'remove', key) end
function methods:get(key)
  local value, xt = call(self, 'get', key)
  if value == false then return nil end
  return value, xt
end
function methods:check(key)
  local size = call(self, 'check', key)
  if size == false then return -1 end
  return size
end
function methods:seize(key)
  local value, xt = call(self, 'seize', key)
  if value == false then return nil end
  return value, xt
end
function methods:set_bulk(recs, xt) local n = call(self, 'set_bulk', recs, xt) if n == false then return -1 end return n end
function methods:remove_bulk(keys) local n = call(self, 'remove_bulk', keys) if n == false then return -1 end return n end
function methods:get_bulk(keys) local t = call(self, 'get_bulk', keys) if t == false then return nil end return t end
function methods:clear() return call(self, 'clear') end
function methods:count() local n = call(self, 'count') if n == false then return -1 end return n end
function methods:size() local n = call(self, 'size') if n == false then return -1 end return n end
function methods:path() local p = call(self, 'path') if p == false then return nil end return p end
function methods:status() local t = call(self, 'status') if t == false then return nil end return t end
function methods:synchronize() return call(self, 'synchronize') end
function methods:match_prefix(prefix, max) local t = call(self, 'match_prefix', prefix, max or -1) if t == false then return nil end return t end
function methods:match_regex(regex, max) local t = call(self, 'match_regex', regex, max or -1) if t == false then return nil end return t end
function methods:match_similar(origin, range, utf, max)
  local t = call(self, 'match_similar', origin, range or 1, utf and true or false, max or -1)
  if t == false then return nil end
  return t
end
function methods:__tostring() return tostring(self:path()) .. ': ' .. tostring(self:count()) .. ': ' .. tostring(self:size()) end

-- Visitor ------------------------------------------------------------------------------
local Visitor = {NOP = setmetatable({}, {__tostring = function() return 'NOP' end}), REMOVE = setmetatable({}, {__tostring = function() return 'REMOVE' end})}
Visitor.__index = Visitor
function Visitor.new() return setmetatable({}, Visitor) end
function Visitor:visit_full(key, value, xt) return Visitor.NOP end
function Visitor:visit_empty(key) return Visitor.NOP end
kt.Visitor = Visitor

-- Runs a visitor (a function or a Visitor) on a record, and applies what it returns: a new
-- value (with an optional xt; without one the record keeps its time), NOP or REMOVE.
local function visit_record(db, key, visitor, writable)
  local value, xt = db:get(key)
  local result, newxt
  if type(visitor) == 'function' then
    result, newxt = visitor(key, value, xt)
  elseif value ~= nil then
    if visitor.visit_before then visitor:visit_before() end
    result, newxt = visitor:visit_full(key, value, xt)
  else
    result, newxt = visitor:visit_empty(key)
  end
  if writable == false or result == nil or result == Visitor.NOP then return true end
  if result == Visitor.REMOVE then
    if value ~= nil then return db:remove(key) end
    return true
  end
  if newxt == nil and xt ~= nil then newxt = -xt end
  return db:set(key, tostring(result), newxt)
end

function methods:accept(key, visitor, writable)
  local done = visit_record(self, key, visitor, writable)
  if type(visitor) == 'table' and visitor.visit_after then visitor:visit_after() end
  return done ~= false
end

function methods:accept_bulk(keys, visitor, writable)
  for _, key in ipairs(keys) do
    if visit_record(self, key, visitor, writable) == false then return false end
  end
  if type(visitor) == 'table' and visitor.visit_after then visitor:visit_after() end
  return true
end

-- Cursor -------------------------------------------------------------------------------
local Cursor = {}
Cursor.__index = Cursor
local function cursor_call(cur, op, ...) return results_of(cur, table.pack(native_cursor(op, cur.id_, ...)), cur.db_) end
function Cursor:jump(key) return cursor_call(self, 'jump', key) ~= false end
function Cursor:jump_back(key) return cursor_call(self, 'jump_back', key) ~= false end
function Cursor:step() return cursor_call(self, 'step') ~= false end
function Cursor:step_back() return cursor_call(self, 'step_back') ~= false end
function Cursor:get_key(step) local k = cursor_call(self, 'get_key', step and true or false) if k == false then return nil end return k end
function Cursor:get_value(step) local v = cursor_call(self, 'get_value', step and true or false) if v == false then return nil end return v end
function Cursor:get(step)
  local key, value, xt = cursor_call(self, 'get', step and true or false)
  if key == false then return nil end
  return key, value, xt
end
function Cursor:seize()
  local key, value, xt = cursor_call(self, 'seize')
  if key == false then return nil end
  return key, value, xt
end
function Cursor:set_value(value, xt, step) return cursor_call(self, 'set_value', value, xt, step and true or false) ~= false end
function Cursor:remove() return cursor_call(self, 'remove') ~= false end
function Cursor:disable() cursor_call(self, 'close') end
function Cursor:db() return self.db_ end
function Cursor:error() return self.error_ end
function Cursor:accept(visitor, writable, step)
  local key, value, xt = self:get(false)
  if key == nil then return false end
  local result, newxt
  if type(visitor) == 'function' then result, newxt = visitor(key, value, xt) else result, newxt = visitor:visit_full(key, value, xt) end
  if writable ~= false and result ~= nil and result ~= Visitor.NOP then
    if result == Visitor.REMOVE then return self:remove() end
    if newxt == nil and xt ~= nil then newxt = -xt end
    if not self:set_value(tostring(result), newxt, false) then return false end
  end
  if step then self:step() end
  return true
end
Cursor.__call = function(self) return self:get(true) end
Cursor.__tostring = function(self) return 'Cursor: ' .. tostring(self:get_key()) end
kt.Cursor = Cursor

function methods:cursor()
  local ok, id = native_cursor('open', self.index_)
  if not ok then return nil end
  return setmetatable({id_ = id, db_ = self, error_ = Error.new(0, 'no error')}, Cursor)
end
function methods:cursor_process(proc)
  local cur = self:cursor()
  local ok = proc(cur)
  cur:disable()
  return ok ~= false
end
function methods:pairs()
  local cur = self:cursor()
  cur:jump()
  return function()
    local key, value = cur:get(true)
    if key == nil then cur:disable() return nil end
    return key, value
  end
end
function methods:iterate(visitor, writable)
  local cur = self:cursor()
  if not cur:jump() then cur:disable() return true end
  while true do
    local key = cur:get_key()
    if key == nil then break end
    if not cur:accept(visitor, writable, true) then break end
  end
  cur:disable()
  return true
end
-- Merges the records of other databases into this one, each with its expiry time:
-- MSET overwrites, MADD keeps what is there, MREPLACE only overwrites, MAPPEND appends.
function methods:merge(srcary, mode)
  mode = mode or DB.MSET
  for _, src in ipairs(srcary or {}) do
    local cur = src:cursor()
    if cur == nil then return false end
    cur:jump()
    while true do
      local key, value, xt = cur:get(true)
      if key == nil then break end
      local keep = xt and -xt or nil
      local done
      if mode == DB.MADD then
        done = self:add(key, value, keep) or self:error():code() == Error.DUPREC
      elseif mode == DB.MREPLACE then
        done = self:replace(key, value, keep) or self:error():code() == Error.NOREC
      elseif mode == DB.MAPPEND then
        done = self:append(key, value, keep)
      else
        done = self:set(key, value, keep)
      end
      if not done then cur:disable() return false end
    end
    cur:disable()
  end
  self.error_ = Error.new(Error.SUCCESS, 'no error')
  return true
end
-- Runs a file processor (an object with process(path, count, size), or such a function)
-- while nothing else runs: one event loop serves every call, so the call is exclusive.
function methods:occupy(writable, proc)
  if proc == nil then return true end
  local ok
  if type(proc) == 'function' then ok = proc(self:path(), self:count(), self:size()) else ok = proc:process(self:path(), self:count(), self:size()) end
  if ok == false then
    self.error_ = Error.new(Error.LOGIC, 'processing failed')
    return false
  end
  return true
end
-- What kv does not do from a script: each fails with NOIMPL and says what to use instead.
local function not_here(message)
  return function(self) self.error_ = Error.new(Error.NOIMPL, message) return false end
end
methods.copy = not_here('copying blocks the server: use kv remote sync make_backup=SUFFIX')
methods.dump_snapshot = not_here('snapshots are not supported: use kv remote sync make_backup=SUFFIX')
methods.load_snapshot = not_here('snapshots are not supported: load records with kv dbm import')
methods.begin_transaction = not_here('transactions are not supported')
methods.end_transaction = not_here('transactions are not supported')
methods.transaction = not_here('transactions are not supported')
-- MapReduce over every record: map(key, value, emit) emits pairs, reduce(key, iter) sees each key's values.
function methods:mapreduce(map, reduce)
  local buckets, keys = {}, {}
  for key, value in self:pairs() do
    local ok = map(key, value, function(k, v)
      k, v = tostring(k), tostring(v)
      if buckets[k] == nil then buckets[k] = {} keys[#keys + 1] = k end
      table.insert(buckets[k], v)
      return true
    end)
    if ok == false then return false end
  end
  table.sort(keys)
  for _, key in ipairs(keys) do
    local values, i = buckets[key], 0
    local ok = reduce(key, function() i = i + 1 return values[i] end)
    if ok == false then return false end
  end
  return true
end

DB.__index = function(self, key)
  local method = methods[key] or DB[key]
  if method ~= nil then return method end
  -- db[key] reads a record.
  if type(key) == 'string' then return (self:get(key)) end
  return nil
end
-- db[key] = value writes one, db[key] = nil removes it.
DB.__newindex = function(self, key, value)
  if value == nil then self:remove(key) else self:set(key, value) end
end
DB.__tostring = methods.__tostring
kt.DB = DB

local function open_db(index)
  return setmetatable({index_ = index, error_ = Error.new(0, 'no error')}, DB)
end

kt.dbs = {}
for i, name in ipairs(__kv_databases) do
  local db = open_db(i - 1)
  kt.dbs[i] = db
  kt.dbs[name] = db
end
__kv_databases = nil
kt.db = kt.dbs[1]

-- utilities ---------------------------------------------------------------------------
local kinds = {debug = true, info = true, system = true, error = true}
function kt.log(kind, message)
  if not kinds[kind] then kind = 'info' end
  native_log(kind, tostring(message))
end

function kt.atoi(text)
  local sign, digits = string.match(tostring(text), '^%s*([-+]?)(%d*)')
  local n = tonumber(digits) or 0
  if sign == '-' then n = -n end
  return math.tointeger(n) or n
end

function kt.atof(text)
  return tonumber(string.match(tostring(text), '^%s*([-+]?%d*%.?%d*[eE]?[-+]?%d*)')) or 0
end

local units = {k = 1024, m = 1024 ^ 2, g = 1024 ^ 3, t = 1024 ^ 4, p = 1024 ^ 5, e = 1024 ^ 6}
function kt.atoix(text)
  local number, unit = string.match(tostring(text), '^%s*([-+]?%d*%.?%d*)%s*(%a?)')
  local n = (tonumber(number) or 0) * (units[string.lower(unit or '')] or 1)
  return math.tointeger(math.floor(n)) or n
end

function kt.time() return native_util('time') end
function kt.sleep(seconds) return native_util('sleep', seconds) end
function kt.hash_fnv(text) return native_util('hash_fnv', text) end
function kt.hash_murmur(text) return native_util('hash_murmur', text) end
function kt.levdist(a, b, utf) return native_util('levdist', a, b, utf and true or false) end
function kt.codec(mode, text) return native_util('codec', mode, text) end
function kt.regex(text, pattern, alt) return native_util('regex', text, pattern, alt) end

function kt.split(text, delims)
  local out = {}
  text = tostring(text)
  if delims == nil or delims == '' then
    for field in string.gmatch(text .. '\0', '([^%z]*)%z') do out[#out + 1] = field end
    return out
  end
  local set = {}
  for i = 1, #delims do set[string.sub(delims, i, i)] = true end
  local start = 1
  for i = 1, #text do
    if set[string.sub(text, i, i)] then
      out[#out + 1] = string.sub(text, start, i - 1)
      start = i + 1
    end
  end
  out[#out + 1] = string.sub(text, start)
  return out
end

local MASK = 0xffffffff
function kt.bit(mode, num, aux)
  num = math.tointeger(num) or math.floor(num)
  aux = math.tointeger(aux or 0) or math.floor(aux)
  num = num & MASK
  aux = aux & MASK
  if mode == 'and' then return num & aux
  elseif mode == 'or' then return num | aux
  elseif mode == 'xor' then return num ~ aux
  elseif mode == 'not' then return (~num) & MASK
  elseif mode == 'left' then return (num << aux) & MASK
  elseif mode == 'right' then return (num >> aux) & MASK
  end
  return 0
end

function kt.strstr(text, pattern, alt)
  local found = string.find(text, pattern, 1, true)
  if alt == nil then return found ~= nil end
  local out, start = {}, 1
  while true do
    local i, j = string.find(text, pattern, start, true)
    if i == nil or pattern == '' then break end
    out[#out + 1] = string.sub(text, start, i - 1)
    out[#out + 1] = alt
    start = j + 1
  end
  out[#out + 1] = string.sub(text, start)
  return table.concat(out)
end

function kt.strfwm(text, pattern) return string.sub(text, 1, #pattern) == pattern end
function kt.strbwm(text, pattern) return pattern == '' or string.sub(text, -#pattern) == pattern end

-- pack and unpack: c C s S i I l L f d in the machine's order (little-endian), n N M in
-- network order, w as BER; each optionally followed by a count or '*' for the rest.
local pack_codes = {c = {'<I1', 1, '<i1'}, C = {'<I1', 1, '<I1'}, s = {'<I2', 2, '<i2'}, S = {'<I2', 2, '<I2'},
  i = {'<I4', 4, '<i4'}, I = {'<I4', 4, '<I4'}, l = {'<i8', 8, '<i8'}, L = {'<i8', 8, '<i8'},
  n = {'>I2', 2, '>I2'}, N = {'>I4', 4, '>I4'}, M = {'>i8', 8, '>i8'}, f = {'<f', 4, '<f'}, d = {'<d', 8, '<d'}}

local function each_conversion(format, visit)
  for code, count in string.gmatch(format, '([cCsSiIlLfdnNMw])(%*?%d*)') do
    local times = 1
    if count == '*' then times = math.huge elseif count ~= '' then times = tonumber(count) end
    if not visit(code, times) then return end
  end
end

local function ber(n)
  n = math.tointeger(n) or math.floor(n)
  if n < 0 then n = 0 end
  local bytes = {string.char(n & 0x7f)}
  n = n >> 7
  while n > 0 do
    table.insert(bytes, 1, string.char((n & 0x7f) | 0x80))
    n = n >> 7
  end
  return table.concat(bytes)
end

function kt.pack(format, ary, ...)
  local values = {}
  if type(ary) == 'table' then for _, v in ipairs(ary) do values[#values + 1] = v end else values[#values + 1] = ary end
  for _, v in ipairs({...}) do values[#values + 1] = v end
  local out, at = {}, 1
  each_conversion(format, function(code, times)
    local i = 0
    while i < times and at <= #values do
      local v = tonumber(values[at]) or 0
      at, i = at + 1, i + 1
      local spec = pack_codes[code]
      if code == 'w' then out[#out + 1] = ber(v)
      elseif code == 'f' or code == 'd' then out[#out + 1] = string.pack(spec[1], v)
      else
        local n = math.tointeger(v) or math.tointeger(math.floor(v)) or 0
        if spec[2] < 8 then n = n & ((1 << (spec[2] * 8)) - 1) end
        out[#out + 1] = string.pack(spec[1], n)
      end
    end
    return at <= #values
  end)
  return table.concat(out)
end

function kt.unpack(format, str)
  local out, pos = {}, 1
  each_conversion(format, function(code, times)
    local i = 0
    while i < times and pos <= #str do
      i = i + 1
      if code == 'w' then
        local n = 0
        repeat
          local byte = string.byte(str, pos)
          pos = pos + 1
          n = (n << 7) | (byte & 0x7f)
        until byte < 0x80 or pos > #str
        out[#out + 1] = n
      else
        local spec = pack_codes[code]
        if pos + spec[2] - 1 > #str then return false end
        local v
        v, pos = string.unpack(spec[3], str, pos)
        out[#out + 1] = v
      end
    end
    return pos <= #str
  end)
  return out
end

function kt.arraydump(array) return native_util('arraydump', array) end
function kt.arrayload(text) return native_util('arrayload', text) end
function kt.mapdump(map) return native_util('mapdump', map) end
function kt.mapload(text) return native_util('mapload', text) end

-- The entry the server calls: a global function with the input and a table for the output.
function __kv_play(name, inmap)
  local procedure = _G[name]
  if type(procedure) ~= 'function' then return nil end
  local outmap = {}
  local rv = procedure(inmap, outmap)
  return rv, outmap
end
`
