-- Append a batch of events to one job's stream and update its snapshot, atomically.
--
-- Why Lua: seq numbers come from one INCR per event, the answer grows by the token deltas only (never
-- resent by the client), and "exactly one terminal event, last" is enforced by the server whichever
-- worker process writes.
--
-- The running answer lives in a string (APPEND: O(1) per write). The snapshot's `answer` is a copy
-- refreshed together with `last_seq` (so the pair is always consistent: a late reader starts from it
-- and applies entries with seq > last_seq) when the unrefreshed tail has grown as large as the copy
-- (geometric: amortised O(1) per byte), and on every non-token event (stage, reset, terminal).
--
-- KEYS[1] events stream, KEYS[2] snapshot hash, KEYS[3] seq counter, KEYS[4] answer string
-- ARGV[1] now_ms, ARGV[2] ttl after the job ends, ARGV[3] safety ttl while running,
-- ARGV[4] traceparent ('' when tracing is off), ARGV[5] writer id, ARGV[6] batch number,
-- then 4 values per event: type, a, b, c
--   stage: stage, status, intent | token: node, delta, '' | reset: '', '', ''
--   reset?: '', '', '' (a reset only if answer text exists, else nothing: no seq is used)
--   needs_input/error: data_json, '', '' | done: data_json (without "answer"), intent, ''
-- Returns {last_seq, code, resets}: code 0 written, 1 batch already applied (client retry), 2 job finished;
-- resets: how many conditional resets became `reset` entries.
local snap = KEYS[2]
local state = redis.call('HMGET', snap, 'status', 'writer', 'batch', 'answer_len')
if state[1] == 'done' or state[1] == 'error' then
  return {tonumber(redis.call('GET', KEYS[3]) or '0'), 2}
end
if state[2] == ARGV[5] and tonumber(state[3] or '0') >= tonumber(ARGV[6]) then
  return {tonumber(redis.call('GET', KEYS[3]) or '0'), 1}
end
local now = ARGV[1]
local tp = ARGV[4]
local seq = 0
local status = 'running'
local intent = nil
local refresh = false
local resets = 0
local pending = {}
local function append_pending()
  if #pending > 0 then
    redis.call('APPEND', KEYS[4], table.concat(pending))
    pending = {}
  end
end
local function write(t, a, b, c)
  seq = redis.call('INCR', KEYS[3])
  local f = {'seq', tostring(seq), 'type', t, 'ts', now}
  if t == 'token' then
    f[#f + 1] = 'node'; f[#f + 1] = a; f[#f + 1] = 'delta'; f[#f + 1] = b
    pending[#pending + 1] = b
  else
    refresh = true
    append_pending()
    if t == 'stage' then
      f[#f + 1] = 'stage'; f[#f + 1] = a; f[#f + 1] = 'status'; f[#f + 1] = b
      if c ~= '' then f[#f + 1] = 'intent'; f[#f + 1] = c; intent = c end
    elseif t == 'reset' then
      redis.call('SET', KEYS[4], '')
    elseif t == 'done' then
      local answer = redis.call('GET', KEYS[4]) or ''
      local data = '{"answer":' .. cjson.encode(answer)
      if a ~= '{}' then data = data .. ',' .. string.sub(a, 2) else data = data .. '}' end
      f[#f + 1] = 'data'; f[#f + 1] = data
      if b ~= '' then intent = b end
      status = 'done'
    else
      f[#f + 1] = 'data'; f[#f + 1] = a
      if t == 'error' then status = 'error' end
    end
  end
  if tp ~= '' then f[#f + 1] = 'traceparent'; f[#f + 1] = tp end
  redis.call('XADD', KEYS[1], '*', unpack(f))
end
for i = 7, #ARGV, 4 do
  if status ~= 'running' then break end
  local t = ARGV[i]
  if t == 'reset?' then
    append_pending()
    if redis.call('STRLEN', KEYS[4]) > 0 then write('reset', '', '', ''); resets = resets + 1 end
  else
    write(t, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  end
end
append_pending()
if seq == 0 then seq = tonumber(redis.call('GET', KEYS[3]) or '0') end
local h = {'status', status, 'head_seq', tostring(seq), 'updated_ms', now, 'writer', ARGV[5], 'batch', ARGV[6]}
if intent then h[#h + 1] = 'intent'; h[#h + 1] = intent end
local total = redis.call('STRLEN', KEYS[4])
local copied = tonumber(state[4] or '0')
if refresh or total - copied >= math.max(copied, 256) then
  h[#h + 1] = 'answer'; h[#h + 1] = redis.call('GET', KEYS[4]) or ''
  h[#h + 1] = 'answer_len'; h[#h + 1] = tostring(total)
  h[#h + 1] = 'last_seq'; h[#h + 1] = tostring(seq)
end
redis.call('HSET', snap, unpack(h))
local ttl = ARGV[3]
if status ~= 'running' then ttl = ARGV[2] end
for k = 1, 4 do redis.call('EXPIRE', KEYS[k], ttl) end
return {seq, 0, resets}
