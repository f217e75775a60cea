-- Runs an Argo CD health script the way Argo CD does (util/lua in argo-cd, on gopher-lua):
-- a fresh state with only the base and table libraries and a reduced `os`, no `string` library
-- (so no string methods either), the resource in the global `obj`, and the chunk's return value
-- taken as the health: a table with `status` and optionally `message`.
--   lua5.x argocd-sandbox.lua SCRIPT < OBJECT     (OBJECT: a Lua table constructor)
-- Prints "status\0message\0" on success; exits 1 with the error on stderr otherwise.
-- Works on Lua 5.1 and 5.4 (gopher-lua is Lua 5.1).
local scriptPath = arg[1]
local f = assert(io.open(scriptPath, "r"))
local source = f:read("*a")
f:close()
local objSource = io.read("*a")

local function loadIn(src, name, env)
  if setfenv then -- Lua 5.1
    local chunk, err = loadstring(src, name)
    if chunk then setfenv(chunk, env) end
    return chunk, err
  end
  return load(src, name, "t", env)
end

local obj = assert(loadIn("return " .. objSource, "=object", {}))()

local env = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  print = print, rawequal = rawequal, rawget = rawget, rawset = rawset, select = select,
  setmetatable = setmetatable, getmetatable = getmetatable, tonumber = tonumber,
  tostring = tostring, type = type, unpack = unpack or table.unpack, xpcall = xpcall,
  table = { concat = table.concat, insert = table.insert, remove = table.remove, sort = table.sort },
  os = { time = os.time, date = os.date, clock = os.clock },
  obj = obj,
}
env._G = env

local chunk, err = loadIn(source, "@" .. scriptPath, env)
if not chunk then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
-- no string methods inside the sandbox
local stringMeta = getmetatable("")
local stringIndex = stringMeta.__index
stringMeta.__index = nil
local ok, hs = pcall(chunk)
stringMeta.__index = stringIndex
if not ok then
  io.stderr:write(tostring(hs), "\n")
  os.exit(1)
end
if type(hs) ~= "table" then
  io.stderr:write("the script returned a ", type(hs), ", not a table\n")
  os.exit(1)
end
io.write(tostring(hs.status), "\0", hs.message == nil and "" or tostring(hs.message), "\0")
