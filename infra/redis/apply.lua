-- Apply a batch of read-model operations atomically (consumers/read_models/ops.py).
-- ARGV[1]: the key prefix; ARGV[2]: a JSON array of operations. Returns the operations applied.
-- Keys are built here from the prefix (not passed as KEYS): a single Redis, not a cluster.
local prefix = ARGV[1]
local ops = cjson.decode(ARGV[2])
local NULL = cjson.null
local RANK = {stat = 0, urgent = 1, routine = 2}
local RANK_SPAN = 1e13  -- keys.RANK_SPAN

-- Set each field whose stored version is older than the one given for it.
local function put(key, fields, values, versions)
  local doc, stamps_key = prefix .. key, prefix .. '_v:' .. key
  local known = redis.call('HMGET', stamps_key, unpack(fields))
  local sets, dels, stamps = {}, {}, {}
  for j, field in ipairs(fields) do
    local version = versions[j]
    if not known[j] or tonumber(known[j]) < version then
      stamps[#stamps + 1] = field
      stamps[#stamps + 1] = version
      if values[j] == NULL then
        dels[#dels + 1] = field
      else
        sets[#sets + 1] = field
        sets[#sets + 1] = values[j]
      end
    end
  end
  if #sets > 0 then redis.call('HSET', doc, unpack(sets)) end
  if #dels > 0 then redis.call('HDEL', doc, unpack(dels)) end
  if #stamps > 0 then redis.call('HSET', stamps_key, unpack(stamps)) end
end

-- ["h", key, field, value, version, ...]: each field with its own version
local function put_fields(op)
  local fields, values, versions = {}, {}, {}
  for i = 3, #op, 3 do
    fields[#fields + 1], values[#values + 1], versions[#versions + 1] = op[i], op[i + 1], op[i + 2]
  end
  put(op[2], fields, values, versions)
end

-- ["H", key, version, field, value, ...]: all fields of one version (most writes): the same
-- as put, without building the per-field tables first.
local function put_version(op)
  local key, version = op[2], op[3]
  local doc, stamps_key = prefix .. key, prefix .. '_v:' .. key
  local fields = {}
  for i = 4, #op, 2 do fields[#fields + 1] = op[i] end
  local known = redis.call('HMGET', stamps_key, unpack(fields))
  local sets, dels, stamps = {}, {}, {}
  for j = 1, #fields do
    if not known[j] or tonumber(known[j]) < version then
      local field, value = op[2 + 2 * j], op[3 + 2 * j]
      stamps[#stamps + 1] = field
      stamps[#stamps + 1] = version
      if value == NULL then
        dels[#dels + 1] = field
      else
        sets[#sets + 1] = field
        sets[#sets + 1] = value
      end
    end
  end
  if #sets > 0 then redis.call('HSET', doc, unpack(sets)) end
  if #dels > 0 then redis.call('HDEL', doc, unpack(dels)) end
  if #stamps > 0 then redis.call('HSET', stamps_key, unpack(stamps)) end
end

-- fields "<group>.<id>.<attr>" of a hash, as {id = {attr = value}}; plain fields in `plain`
local function grouped(key, group)
  local flat = redis.call('HGETALL', prefix .. key)
  local plain, members = {}, {}
  local pattern = '^' .. group .. '%.([^.]+)%.([%w_]+)$'
  for i = 1, #flat, 2 do
    local id, attr = string.match(flat[i], pattern)
    if id then
      members[id] = members[id] or {}
      members[id][attr] = flat[i + 1]
    else
      plain[flat[i]] = flat[i + 1]
    end
  end
  return plain, members
end

-- A sample waits on its bench's queue while routed and not resulted for every test on it.
local function bench(key, sample_id)
  local doc = prefix .. key
  local f = redis.call('HMGET', doc, 'organization_id', 'status', 'bench', 'priority',
    'received_ms', 'loinc_codes')
  local org, status, name, priority, received, codes = f[1], f[2], f[3], f[4], f[5], f[6]
  if not org or not name then return end
  local queue = prefix .. 'worklist:' .. org .. ':bench:' .. name
  local waiting = status == 'routed' and received and codes
  if waiting then
    waiting = false
    for _, code in ipairs(cjson.decode(codes)) do
      if redis.call('HEXISTS', doc, 'result.' .. code) == 0 then
        waiting = true
        break
      end
    end
  end
  if waiting then
    redis.call('ZADD', queue, (RANK[priority] or 3) * RANK_SPAN + tonumber(received), sample_id)
  else
    redis.call('ZREM', queue, sample_id)
  end
end

-- A result is on the criticals worklist while one of its episodes is open or escalated.
local function criticals(key, result_id)
  local plain, episodes = grouped(key, 'critical')
  if not plain.organization_id then return end
  local list = prefix .. 'worklist:' .. plain.organization_id .. ':criticals'
  local first = nil
  for _, e in pairs(episodes) do
    if (e.status == 'open' or e.status == 'escalated') and e.detected_ms then
      local at = tonumber(e.detected_ms)
      if not first or at < first then first = at end
    end
  end
  if first then
    redis.call('ZADD', list, first, result_id)
  else
    redis.call('ZREM', list, result_id)
  end
end

-- A rejected sample needs a new tube until a later one of its specimen is collected for the
-- order, or the order is cancelled or completed.
local function recollections(key)
  local plain, samples = grouped(key, 'sample')
  if not plain.organization_id then return end
  local list = prefix .. 'worklist:' .. plain.organization_id .. ':recollections'
  local closed = plain.status == 'cancelled' or plain.status == 'completed'
  for id, s in pairs(samples) do
    local wanted = not closed and s.status == 'rejected' and s.recollection_required == 'true'
      and s.rejected_ms ~= nil
    if wanted then
      local drawn = tonumber(s.collected_ms or '0')
      for other, o in pairs(samples) do
        if other ~= id and o.specimen_type == s.specimen_type
            and tonumber(o.collected_ms or '0') > drawn then
          wanted = false
          break
        end
      end
    end
    if wanted then
      redis.call('ZADD', list, s.rejected_ms, id)
    else
      redis.call('ZREM', list, id)
    end
  end
end

-- Scripts are atomic but not transactional: refuse a bad batch before writing anything.
local KINDS = {h = true, H = true, s = true, bench = true, crit = true, recoll = true}
for i, op in ipairs(ops) do
  if type(op) ~= 'table' or not KINDS[op[1]] then
    return redis.error_reply('read-model operation ' .. i .. ' is unknown: ' .. tostring(op[1]))
  end
end

for _, op in ipairs(ops) do
  local kind = op[1]
  if kind == 'H' then
    put_version(op)
  elseif kind == 'h' then
    put_fields(op)
  elseif kind == 's' then  -- ["s", key, field, value, ...]: facts, the same from any event
    redis.call('HSET', prefix .. op[2], unpack(op, 3))
  elseif kind == 'bench' then
    bench(op[2], op[3])
  elseif kind == 'crit' then
    criticals(op[2], op[3])
  else
    recollections(op[2])
  end
end
return #ops
