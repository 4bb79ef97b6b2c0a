-- Session serialisation: one running job per session, the others wait in FIFO order.
-- KEYS[1] active job id (string with a lease), KEYS[2] waiting jobs (list of JSON kwargs)
-- admit:   ARGV = 'admit', job_id, kwargs_json, lease_ms, queue_ttl_s
--          returns {run_now (0/1), promoted_kwargs_json or ''}
-- release: ARGV = 'release', job_id, '', lease_ms, queue_ttl_s
--          returns the kwargs JSON of the job that now owns the session, or ''
local op, job, payload, lease, qttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local active = redis.call('GET', KEYS[1])

local function promote()
  local head = redis.call('LPOP', KEYS[2])
  if not head then
    redis.call('DEL', KEYS[1])
    return nil, nil
  end
  local head_id = cjson.decode(head)['job_id']
  redis.call('SET', KEYS[1], head_id, 'PX', lease)
  return head, head_id
end

if op == 'release' then
  if active ~= job then return '' end
  local head = promote()
  return head or ''
end

if active == job then
  redis.call('PEXPIRE', KEYS[1], lease)
  return {1, ''}
end
local queued = redis.call('LPOS', KEYS[2], payload)
if active then
  if not queued then redis.call('RPUSH', KEYS[2], payload) end
  redis.call('EXPIRE', KEYS[2], qttl)
  return {0, ''}
end
-- The session is idle (or its lease expired): the oldest waiting job goes first.
if redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('SET', KEYS[1], job, 'PX', lease)
  return {1, ''}
end
if not queued then redis.call('RPUSH', KEYS[2], payload) end
redis.call('EXPIRE', KEYS[2], qttl)
local head, head_id = promote()
if head_id == job then return {1, ''} end
return {0, head}
