// The article's k6 scenario (section 8.2) against `eco2 gateway`: ramp to 10 virtual users, hold 50, ramp
// down; each sends a chat of the article's intent mix, reads its SSE stream to the end, checks `done`, and
// thinks a second. Run by bench/load_k6.sh; alone: k6 run -e BASE_URL=http://127.0.0.1:8000 bench/k6/chat.js
//   SCALE   stage length factor (1 = the article's 7 minutes)     API_KEY  when the gateway needs one
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Trend } from 'k6/metrics';

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8000';
const SCALE = parseFloat(__ENV.SCALE || '1');
const seconds = (s) => `${Math.max(1, Math.round(s * SCALE))}s`;

export const options = {
  stages: [
    { duration: seconds(60), target: 10 },   // ramp up
    { duration: seconds(300), target: 50 },  // sustain
    { duration: seconds(60), target: 0 },    // ramp down
  ],
  thresholds: { checks: ['rate>0.99'] },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

// Enqueue -> the stream's first token, and enqueue -> `done`, from the entries' server timestamps.
const firstToken = new Trend('eco2_first_token', true);
const answerDone = new Trend('eco2_answer_done', true);

const INTENTS = ['waste', 'character', 'bulk_waste', 'general'];
const MESSAGES = {
  waste: '페트병 어떻게 버려?',
  character: '이코 소개해줘',
  bulk_waste: '소파 버리는 방법 알려줘',
  general: '안녕하세요',
};

function headers(extra) {
  const h = Object.assign({ 'Content-Type': 'application/json' }, extra || {});
  if (__ENV.API_KEY) { h.Authorization = `Bearer ${__ENV.API_KEY}`; }
  return h;
}

function parseEvents(body) {
  const out = [];
  for (const block of (body || '').split('\n\n')) {
    let type = null;
    let data = null;
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) { type = line.slice(7); }
      if (line.startsWith('data: ')) { data = line.slice(6); }
    }
    if (type && data) { out.push({ type, fields: JSON.parse(data) }); }
  }
  return out;
}

export default function () {
  const intent = INTENTS[Math.floor(Math.random() * INTENTS.length)];
  const payload = JSON.stringify({ message: MESSAGES[intent], session_id: `session-${__VU}-${__ITER}` });
  const sent = Date.now();
  const res = http.post(`${BASE}/v1/chats`, payload, { headers: headers(), tags: { intent, name: 'POST /v1/chats' } });
  const accepted = check(res, {
    'status is 202': (r) => r.status === 202,
    'job_id returned': (r) => r.json('job_id') !== undefined,
  });
  if (!accepted) { sleep(1); return; }
  const stream = http.get(`${BASE}${res.json('events_url')}`, {
    headers: headers(), timeout: '120s', tags: { intent, name: 'GET /v1/chats/{id}/events' },
  });
  const events = parseEvents(stream.body);
  const last = events.length ? events[events.length - 1] : null;
  const done = check(stream, {
    'stream is SSE': (r) => (r.headers['Content-Type'] || '').startsWith('text/event-stream'),
    'ended with done': () => last !== null && last.type === 'done',
  });
  if (done) {
    const token = events.find((e) => e.type === 'token');
    const chat = res.json('job_id');  // pairs the two points of one chat in the JSON output
    if (token) { firstToken.add(parseInt(token.fields.ts, 10) - sent, { intent, chat }); }
    answerDone.add(parseInt(last.fields.ts, 10) - sent, { intent, chat });
  }
  sleep(1);
}
