-- Session serialisation: one running job per session, the others wait and run in arrival order.
-- KEYS[1] active job id (a string with a lease), KEYS[2] order (list of job ids, oldest first),
-- KEYS[3] payloads (hash: job id -> kwargs JSON of a job that reached admission and waits),
-- KEYS[4] arrivals (hash: job id -> server ms when it was first seen),
-- KEYS[5] seqs (hash: job id -> its session_seq, for jobs that carry one), KEYS[6] the highest seq admitted
-- ARGV: op, job_id, kwargs_json ('' unless admit), lease_ms, ttl_s, seq ('' if none), hold ('1' or '0')
--   arrived: the consumer received the job's message (called in the order messages leave the queue); a
--            job with a seq takes its place by seq, before every recorded job with a higher one
--   admit:   returns {run_now (0/1, or 2: held, see below), promoted_kwargs_json or '', ids ahead...}
--   release: returns the kwargs JSON of the job that now holds the session, or ''
--   forget:  the job will never run (it had ended already): drop it; returns a job to start, as release
-- A job registered by its arrival that has not reached admission within lease_ms is given up on (its
-- message was lost), so it cannot hold the jobs behind it forever.
-- Held: with hold, a job that would run now although the last admitted seq is not its seq - 1 is not
-- admitted (nothing stored): its predecessor's message may be an instant from arriving on another worker.
local op, job, payload, lease, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local seq, hold = tonumber(ARGV[6]), ARGV[7] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function touch()
  for i = 2, 6 do redis.call('EXPIRE', KEYS[i], ttl) end
end

local function seq_of(id)
  return tonumber(redis.call('HGET', KEYS[5], id) or '')
end

local function register(id)
  if redis.call('LPOS', KEYS[2], id) then return end
  redis.call('HSET', KEYS[4], id, now)
  if seq then
    redis.call('HSET', KEYS[5], id, seq)
    for _, other in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
      local other_seq = seq_of(other)
      if other_seq and other_seq > seq then
        redis.call('LINSERT', KEYS[2], 'BEFORE', other, id)
        return
      end
    end
  end
  redis.call('RPUSH', KEYS[2], id)
end

-- A numbered job that leaves the order (it ran, will never run, or was given up on) moves the session's
-- last seq on, so the next number is not held waiting for it.
local function passed(id)
  local id_seq = seq_of(id)
  if id_seq and id_seq > (tonumber(redis.call('GET', KEYS[6]) or '0')) then
    redis.call('SET', KEYS[6], id_seq, 'EX', ttl)
  end
end

local function drop(id)
  passed(id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
end

-- The first job in arrival order, with its kwargs if it has reached admission.
local function head()
  while true do
    local first = redis.call('LINDEX', KEYS[2], 0)
    if not first then return nil, nil end
    local kwargs = redis.call('HGET', KEYS[3], first)
    if kwargs then return first, kwargs end
    local at = tonumber(redis.call('HGET', KEYS[4], first) or '0')
    if now - at < lease then return first, nil end
    redis.call('LPOP', KEYS[2])
    drop(first)
  end
end

local function activate(id)
  redis.call('LREM', KEYS[2], 1, id)
  drop(id)
  redis.call('SET', KEYS[1], id, 'PX', lease)
end

if op == 'forget' then
  redis.call('LREM', KEYS[2], 0, job)
  drop(job)
  local holder = redis.call('GET', KEYS[1])
  if holder == job then
    redis.call('DEL', KEYS[1])  -- it was handed the session (promoted) but will never run: pass it on
  elseif holder then
    return ''
  end
  local first, kwargs = head()
  if kwargs then
    activate(first)
    return kwargs
  end
  return ''
end

if op == 'arrived' then
  if redis.call('GET', KEYS[1]) ~= job then register(job) end
  touch()
  return 1
end

local active = redis.call('GET', KEYS[1])
if op == 'release' then
  if active ~= job then return '' end
  redis.call('DEL', KEYS[1])
  local first, kwargs = head()
  touch()
  if kwargs then
    activate(first)
    return kwargs
  end
  return ''  -- idle; a job that arrived but is not admitted yet runs when its admission comes
end

-- The jobs before this one: the holder first, then those earlier in the order (for `interrupt`).
local function ahead(holder)
  local out = {}
  if holder then out[1] = holder end
  for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
    if id == job then break end
    if id ~= holder then out[#out + 1] = id end
  end
  return out
end

-- admit
if active == job then
  redis.call('PEXPIRE', KEYS[1], lease)
  return {1, ''}
end
register(job)
touch()
if not active then
  local first, kwargs = head()
  if first == job then
    if seq and hold and seq > (tonumber(redis.call('GET', KEYS[6]) or '0')) + 1 then
      return {2, ''}
    end
    activate(job)
    return {1, ''}
  end
  redis.call('HSET', KEYS[3], job, payload)
  if kwargs then
    activate(first)  -- waiting behind a holder whose lease expired: it goes first, in its own message
    return {0, kwargs, unpack(ahead(first))}
  end
  return {0, '', unpack(ahead(nil))}
end
redis.call('HSET', KEYS[3], job, payload)
return {0, '', unpack(ahead(active))}
