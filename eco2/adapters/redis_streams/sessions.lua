-- Session serialisation: one running job per session, the others wait and run in arrival order.
-- KEYS[1] active job id (a string with a lease), KEYS[2] order (list of job ids, oldest first),
-- KEYS[3] payloads (hash: job id -> kwargs JSON of a job that reached admission and waits),
-- KEYS[4] arrivals (hash: job id -> server ms when it was first seen)
-- ARGV: op, job_id, kwargs_json ('' unless admit), lease_ms, ttl_s
--   arrived: the consumer received the job's message (called in the order messages leave the queue)
--   admit:   returns {run_now (0/1), promoted_kwargs_json or ''}
--   release: returns the kwargs JSON of the job that now holds the session, or ''
--   forget:  the job will never run (it had ended already): drop it; returns a job to start, as release
-- A job registered by its arrival that has not reached admission within lease_ms is given up on (its
-- message was lost), so it cannot hold the jobs behind it forever.
local op, job, payload, lease, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function touch()
  for i = 2, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
end

local function register(id)
  if not redis.call('LPOS', KEYS[2], id) then
    redis.call('RPUSH', KEYS[2], id)
    redis.call('HSET', KEYS[4], id, now)
  end
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
    redis.call('HDEL', KEYS[4], first)
  end
end

local function activate(id)
  redis.call('LREM', KEYS[2], 1, id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('SET', KEYS[1], id, 'PX', lease)
end

if op == 'forget' then
  redis.call('LREM', KEYS[2], 0, job)
  redis.call('HDEL', KEYS[3], job)
  redis.call('HDEL', KEYS[4], job)
  if redis.call('GET', KEYS[1]) then return '' end
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
    activate(job)
    return {1, ''}
  end
  redis.call('HSET', KEYS[3], job, payload)
  if kwargs then
    activate(first)  -- waiting behind a holder whose lease expired: it goes first, in its own message
    return {0, kwargs}
  end
  return {0, ''}
end
redis.call('HSET', KEYS[3], job, payload)
return {0, ''}
