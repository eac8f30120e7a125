import { createHash } from 'node:crypto';

export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Admission: check every subject's every limit, and only if all pass, charge all — one script, so
 * it runs atomically with respect to every other client (no other command runs in between).
 *
 * KEYS, 4 per subject (i = 0…n−1):
 *   4i+1 current minute window (hash: r = requests, t = tokens)
 *   4i+2 previous minute window (same shape)
 *   4i+3 day budget (string, micro-dollars)
 *   4i+4 month budget (string, micro-dollars)
 * ARGV:
 *   1 weight numerator: ms of the previous window still inside the last 60 s (60000 − elapsed)
 *   2 tokens to charge   3 micro-dollars to charge
 *   4 minute window TTL ms   5 day TTL ms   6 month TTL ms
 *   6+4i+1 … 6+4i+4: the subject's rpm, tpm, day micros, month micros (−1 = no limit)
 * Returns {ok, then per subject: fail mask, rc, rp, tc, tp, day, month}; the counters are those
 * read (on a denial) or those after charging (on admission). Fail mask bits: 1 rpm, 2 tpm, 4 day,
 * 8 month. The comparisons are written exactly as `failMask` in windows.ts.
 *
 * Only counters of limits the subject has are read or written; every write refreshes the key's
 * TTL, so a key lives at least its TTL past its last charge (reconcile keeps the TTL as it is).
 */
export const ADMIT = script(`
-- Increments are passed to Redis as the original ARGV strings (a Lua number could be formatted
-- with an exponent); comparisons use numbers.
local n = #KEYS / 4
local w = tonumber(ARGV[1]) / 60000
local tokens = tonumber(ARGV[2])
local micros = tonumber(ARGV[3])
local out = {1}
local limits = {}
for i = 0, n - 1 do
  local a = 6 + 4 * i
  local rpm, tpm = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local dayMax, monthMax = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  limits[i] = {rpm, tpm, dayMax, monthMax}
  local rc, rp, tc, tp, d, m = 0, 0, 0, 0, 0, 0
  if rpm >= 0 or tpm >= 0 then
    local cur = redis.call('HMGET', KEYS[4 * i + 1], 'r', 't')
    local prev = redis.call('HMGET', KEYS[4 * i + 2], 'r', 't')
    rc, tc = tonumber(cur[1]) or 0, tonumber(cur[2]) or 0
    rp, tp = tonumber(prev[1]) or 0, tonumber(prev[2]) or 0
  end
  if dayMax >= 0 then d = tonumber(redis.call('GET', KEYS[4 * i + 3])) or 0 end
  if monthMax >= 0 then m = tonumber(redis.call('GET', KEYS[4 * i + 4])) or 0 end
  local fail = 0
  if rpm >= 0 and rc + rp * w + 1 > rpm then fail = fail + 1 end
  if tpm >= 0 and (tokens > tpm or tc + tp * w + tokens > tpm) then fail = fail + 2 end
  if dayMax >= 0 and d + micros > dayMax then fail = fail + 4 end
  if monthMax >= 0 and m + micros > monthMax then fail = fail + 8 end
  if fail > 0 then out[1] = 0 end
  local o = 2 + 7 * i
  out[o], out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6] = fail, rc, rp, tc, tp, d, m
end
if out[1] == 0 then return out end
for i = 0, n - 1 do
  local rpm, tpm, dayMax, monthMax = limits[i][1], limits[i][2], limits[i][3], limits[i][4]
  local o = 2 + 7 * i
  local minute = KEYS[4 * i + 1]
  local touched = false
  if rpm >= 0 then
    out[o + 1] = redis.call('HINCRBY', minute, 'r', 1)
    touched = true
  end
  if tpm >= 0 and tokens > 0 then
    out[o + 3] = redis.call('HINCRBY', minute, 't', ARGV[2])
    touched = true
  end
  if touched then redis.call('PEXPIRE', minute, ARGV[4]) end
  if dayMax >= 0 and micros > 0 then
    out[o + 5] = redis.call('INCRBY', KEYS[4 * i + 3], ARGV[3])
    redis.call('PEXPIRE', KEYS[4 * i + 3], ARGV[5])
  end
  if monthMax >= 0 and micros > 0 then
    out[o + 6] = redis.call('INCRBY', KEYS[4 * i + 4], ARGV[3])
    redis.call('PEXPIRE', KEYS[4 * i + 4], ARGV[6])
  end
end
return out
`);

/**
 * Reconcile: add each delta to its counter, only if the counter still exists (a window that has
 * expired is not resurrected, and never without a TTL), and never below zero. INCRBY/HINCRBY keep
 * the key's TTL.
 *
 * KEYS[i]: the counter; ARGV[2i−1]: the hash field ('' for a plain counter); ARGV[2i]: the delta.
 * Returns how many counters were adjusted.
 */
export const RECONCILE = script(`
local adjusted = 0
for i = 1, #KEYS do
  local key, field, delta = KEYS[i], ARGV[2 * i - 1], ARGV[2 * i]
  if redis.call('EXISTS', key) == 1 then
    local v
    if field == '' then
      v = redis.call('INCRBY', key, delta)
      if v < 0 then redis.call('INCRBY', key, -v) end
    else
      v = redis.call('HINCRBY', key, field, delta)
      if v < 0 then redis.call('HINCRBY', key, field, -v) end
    end
    adjusted = adjusted + 1
  end
end
return adjusted
`);
