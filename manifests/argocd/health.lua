-- Argo CD health check for the netform.io kinds: Provider, VlanPool, Network, Cluster, Host and
-- VnicAttachment. Argo CD runs it with the object in the global `obj` and uses the table it
-- returns ({status = ..., message = ...}). Written for Argo CD's sandbox: Lua 5.1 syntax (gopher-lua)
-- and only the base and table libraries (no `string` functions or methods).
--
--   being deleted and Stalled=True              Degraded     (a deletion that needs the user)
--   status.observedGeneration != generation     Progressing  (the controller has not seen the spec)
--   Stalled=True                                Degraded     (its message, or Synced's)
--   being deleted                               Progressing
--   Synced=False reason AwaitingApproval        Suspended    (changes held until approved: status.pendingPlan)
--   no status yet                               Progressing  "Waiting for the controller"
--   Ready=True for the current generation       Healthy
--   otherwise                                   Progressing  (Ready's message)
-- The conditions are netform's (src/api/conditions.ts): Ready, Synced, Reconciling, Stalled.

local function findCondition(conditions, conditionType)
  if type(conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(conditions) do
    if type(c) == "table" and c.type == conditionType then
      return c
    end
  end
  return nil
end

-- The condition's message, else its reason, else nil.
local function describe(c)
  if c == nil then
    return nil
  end
  if type(c.message) == "string" and c.message ~= "" then
    return c.message
  end
  if type(c.reason) == "string" and c.reason ~= "" then
    return c.reason
  end
  return nil
end

local function firstOf(a, b, fallback)
  if a ~= nil then
    return a
  end
  if b ~= nil then
    return b
  end
  return fallback
end

local hs = {}
local metadata = obj.metadata or {}
local status = obj.status
local conditions = nil
if type(status) == "table" then
  conditions = status.conditions
end

local ready = findCondition(conditions, "Ready")
local synced = findCondition(conditions, "Synced")
local stalled = findCondition(conditions, "Stalled")
local isStalled = stalled ~= nil and stalled.status == "True"
local deleting = metadata.deletionTimestamp ~= nil and metadata.deletionTimestamp ~= ""

local generation = metadata.generation
local observed = nil
if type(status) == "table" then
  observed = status.observedGeneration
end
local stale = generation ~= nil and observed ~= nil and observed ~= generation

if deleting and isStalled then
  hs.status = "Degraded"
  hs.message = "Deletion stalled: " .. firstOf(describe(stalled), describe(synced), "see the Synced condition")
  return hs
end

if stale then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. tostring(generation) ..
    " (last observed: " .. tostring(observed) .. ")"
  return hs
end

if isStalled then
  hs.status = "Degraded"
  hs.message = firstOf(describe(stalled), describe(synced), "Stalled")
  return hs
end

if deleting then
  hs.status = "Progressing"
  hs.message = "Being deleted"
  local why = describe(ready)
  if why ~= nil then
    hs.message = hs.message .. ": " .. why
  end
  return hs
end

if synced ~= nil and synced.status == "False" and synced.reason == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = firstOf(describe(synced), nil, "Awaiting approval")
  return hs
end

if type(status) ~= "table" or conditions == nil or ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller"
  return hs
end

if ready.status == "True" then
  if observed ~= nil and observed == generation then
    hs.status = "Healthy"
    hs.message = firstOf(describe(ready), nil, "Ready")
  else
    hs.status = "Progressing"
    hs.message = "Waiting for the controller to report status.observedGeneration"
  end
  return hs
end

hs.status = "Progressing"
hs.message = firstOf(describe(ready), describe(synced), "Waiting for the controller")
return hs
