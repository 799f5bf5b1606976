// Lua scripts of the Redis backend. Each runs atomically on the server, which is what makes upsert
// (payload + indexes), consume, compare-and-set, revocation and collection atomic across processes.
import { createHash } from 'node:crypto';

/**
 * Layout, all under the configured prefix:
 *  - `m:<model>:<id>`  hash: p (payload JSON), e (expiresAt, epoch ms), c (consumed, epoch s), m, i, u, k, g;
 *  - `u:<model>:<uid>` and `c:<model>:<userCode>` strings holding the id; `g:<model>:<grantId>` set of ids;
 *  - `r:<kind>:<id>`   hash: v (value JSON), n (version), e (expiresAt);
 *  - `x`               sorted set of expiring keys (without prefix) scored by expiresAt, for collectExpired.
 * Keys built inside scripts share the prefix; on Redis Cluster give the prefix a hash tag (`{baton}:`).
 */
const DROP_MODEL = `
local function dropModel(prefix, model, id, zset)
  local key = prefix .. 'm:' .. model .. ':' .. id
  local r = redis.call('HMGET', key, 'u', 'k', 'g')
  if r[1] and redis.call('GET', prefix .. 'u:' .. model .. ':' .. r[1]) == id then redis.call('DEL', prefix .. 'u:' .. model .. ':' .. r[1]) end
  if r[2] and redis.call('GET', prefix .. 'c:' .. model .. ':' .. r[2]) == id then redis.call('DEL', prefix .. 'c:' .. model .. ':' .. r[2]) end
  if r[3] then redis.call('SREM', prefix .. 'g:' .. model .. ':' .. r[3], id) end
  redis.call('ZREM', zset, 'm:' .. model .. ':' .. id)
  return redis.call('DEL', key)
end
`;

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
  readonly keys: number;
}

function lua(keys: number, source: string): LuaScript {
  return { source, keys, sha: createHash('sha1').update(source).digest('hex') };
}

/** KEYS: model key, zset. ARGV: prefix, model, id, payload, expiresAt|'', ttl ms|'', consumed|'', uid|'', userCode|'', grantId|''. */
export const UPSERT = lua(2, `${DROP_MODEL}
local key, zset, prefix, model, id = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
dropModel(prefix, model, id, zset)
local fields = { 'p', ARGV[4], 'm', model, 'i', id }
local names = { [5] = 'e', [7] = 'c', [8] = 'u', [9] = 'k', [10] = 'g' }
for i = 5, 10 do
  if names[i] and ARGV[i] ~= '' then table.insert(fields, names[i]); table.insert(fields, ARGV[i]) end
end
redis.call('HSET', key, unpack(fields))
local ttl = tonumber(ARGV[6])
if ttl then
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZADD', zset, ARGV[5], 'm:' .. model .. ':' .. id)
end
local function index(name, value)
  if value == '' then return end
  local k = prefix .. name .. ':' .. model .. ':' .. value
  redis.call('SET', k, id)
  if ttl then redis.call('PEXPIRE', k, ttl) end
end
index('u', ARGV[8])
index('c', ARGV[9])
if ARGV[10] ~= '' then
  -- The grant set lives at least as long as its longest-lived member.
  local g = prefix .. 'g:' .. model .. ':' .. ARGV[10]
  local existed = redis.call('EXISTS', g)
  redis.call('SADD', g, id)
  if not ttl then redis.call('PERSIST', g)
  elseif existed == 0 then redis.call('PEXPIRE', g, ttl)
  else
    local current = redis.call('PTTL', g)
    if current >= 0 and current < ttl then redis.call('PEXPIRE', g, ttl) end
  end
end
return 1`);

/** KEYS: index key. ARGV: prefix, model, indexed field (u|k), value. Returns [payload, expiresAt, consumed] or nil. */
export const FIND_BY = lua(1, `
local id = redis.call('GET', KEYS[1])
if not id then return false end
local r = redis.call('HMGET', ARGV[1] .. 'm:' .. ARGV[2] .. ':' .. id, 'p', 'e', 'c', ARGV[3])
if not r[1] or r[4] ~= ARGV[4] then return false end
return { r[1], r[2], r[3] }`);

/** KEYS: model key. ARGV: now (ms), consumed (s). 1 when this call consumed a live, unconsumed instance. */
export const CONSUME = lua(1, `
local r = redis.call('HMGET', KEYS[1], 'p', 'e', 'c')
if not r[1] or r[3] then return 0 end
if r[2] and tonumber(r[2]) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'c', ARGV[2])
return 1`);

/** KEYS: zset. ARGV: prefix, model, id. */
export const DESTROY = lua(1, `${DROP_MODEL}
dropModel(ARGV[1], ARGV[2], ARGV[3], KEYS[1])
return 1`);

/** KEYS: grant set, zset. ARGV: prefix, model, grantId. */
export const REVOKE = lua(2, `${DROP_MODEL}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('HGET', ARGV[1] .. 'm:' .. ARGV[2] .. ':' .. id, 'g') == ARGV[3] then dropModel(ARGV[1], ARGV[2], id, KEYS[2]) end
end
redis.call('DEL', KEYS[1])
return 1`);

/** KEYS: record key, zset. ARGV: now, expectedVersion|'', value, expiresAt|'', ttl ms|'', zset member. 1 when written. */
export const PUT_RECORD = lua(2, `
local r = redis.call('HMGET', KEYS[1], 'n', 'e')
local version = 0
if r[1] and not (r[2] and tonumber(r[2]) <= tonumber(ARGV[1])) then version = tonumber(r[1]) end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= version then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'n', version + 1)
local ttl = tonumber(ARGV[5])
if ttl then
  redis.call('HSET', KEYS[1], 'e', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6])
else
  redis.call('ZREM', KEYS[2], ARGV[6])
end
return 1`);

/**
 * KEYS: zset. ARGV: prefix, now, batch. Deletes up to `batch` entries expired by the caller's clock;
 * prunes index entries whose key Redis already dropped (native TTL). Returns [deleted, examined].
 */
export const COLLECT = lua(1, `${DROP_MODEL}
local prefix, now = ARGV[1], tonumber(ARGV[2])
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local deleted = 0
for _, member in ipairs(members) do
  local r = redis.call('HMGET', prefix .. member, 'e', 'm', 'i')
  if r[1] and tonumber(r[1]) <= now then
    if r[2] then deleted = deleted + dropModel(prefix, r[2], r[3], KEYS[1])
    else deleted = deleted + redis.call('DEL', prefix .. member); redis.call('ZREM', KEYS[1], member) end
  elseif r[1] then redis.call('ZADD', KEYS[1], r[1], member)
  else redis.call('ZREM', KEYS[1], member) end
end
return { deleted, #members }`);

/**
 * KEYS: source model key, target model key, zset. ARGV: prefix, model, from, to, payload, now (ms),
 * TTL margin (ms), uid|'', userCode|'', grantId|''. Moves a live instance to an id nothing is stored
 * under, keeping expiry and consumed state, with indexes from the new payload. 1 when moved.
 */
export const REKEY = lua(3, `${DROP_MODEL}
local prefix, model, from, to = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local r = redis.call('HMGET', KEYS[1], 'p', 'e', 'c')
if not r[1] then return 0 end
if r[2] and tonumber(r[2]) <= tonumber(ARGV[6]) then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
dropModel(prefix, model, from, KEYS[3])
local fields = { 'p', ARGV[5], 'm', model, 'i', to }
if r[2] then table.insert(fields, 'e'); table.insert(fields, r[2]) end
if r[3] then table.insert(fields, 'c'); table.insert(fields, r[3]) end
local names = { [8] = 'u', [9] = 'k', [10] = 'g' }
for i = 8, 10 do
  if ARGV[i] ~= '' then table.insert(fields, names[i]); table.insert(fields, ARGV[i]) end
end
redis.call('HSET', KEYS[2], unpack(fields))
local ttl = nil
if r[2] then
  ttl = math.max(1, tonumber(r[2]) - tonumber(ARGV[6])) + tonumber(ARGV[7])
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('ZADD', KEYS[3], r[2], 'm:' .. model .. ':' .. to)
end
local function index(name, value)
  if value == '' then return end
  local k = prefix .. name .. ':' .. model .. ':' .. value
  redis.call('SET', k, to)
  if ttl then redis.call('PEXPIRE', k, ttl) end
end
index('u', ARGV[8])
index('c', ARGV[9])
if ARGV[10] ~= '' then
  local g = prefix .. 'g:' .. model .. ':' .. ARGV[10]
  local existed = redis.call('EXISTS', g)
  redis.call('SADD', g, to)
  if not ttl then redis.call('PERSIST', g)
  elseif existed == 0 then redis.call('PEXPIRE', g, ttl)
  else
    local current = redis.call('PTTL', g)
    if current >= 0 and current < ttl then redis.call('PEXPIRE', g, ttl) end
  end
end
return 1`);
