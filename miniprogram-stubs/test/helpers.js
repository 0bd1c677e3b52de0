// What several test files do: a mini-program client for one WeChat user, and the staff side of
// the closed loop and the live room done over plain HTTP.
const { createWx } = require('./wx-shim.js');
const { createClient } = require('../utils/request.js');
const { createApi } = require('../utils/api.js');

let users = 0;

// A phone of a new resident (or of `who`), talking to `base`.
function phone(base, who, opts) {
  users += 1;
  const wx = createWx(who || `r${process.pid}x${users}`, opts);
  const client = createClient(Object.assign({ wx, apiBase: base, backoffMs: 50, timeoutMs: 5000 }, opts));
  return { wx, client, api: createApi(client) };
}

async function catalog(h) {
  const cats = (await h.get('/api/v1/categories')).body;
  const villages = (await h.get('/api/v1/villages')).body;
  return { category: cats[0], village: villages[0] };
}

// Staff take an appeal from submitted to a published public reply.
async function publish(h, appealId, reply) {
  const office = (await h.login('office')).access_token;
  const handler = await h.login('handler');
  let v = (await h.get(`/api/v1/appeals/${appealId}`, office)).body.version;
  const act = async (token, body) => {
    const r = await h.post(`/api/v1/appeals/${appealId}/actions`, token, Object.assign({ version: v }, body));
    if (r.status !== 200) throw new Error(`${body.action}: ${r.status} ${JSON.stringify(r.body)}`);
    v = r.body.version;
    return r.body;
  };
  await act(office, { action: 'accept', urgency: 'general' });
  await act(office, { action: 'assign', lead_department_id: handler.user.department_id, assisting_department_ids: [] });
  await act(handler.access_token, { action: 'sign' });
  await act(handler.access_token, { action: 'reply', public_reply: reply });
  return act(office, { action: 'approve_reply' });
}

function addDays(date, n) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// A published session today, started by the demo leader: residents can take tickets.
async function liveSession(h, date) {
  const admin = (await h.login('admin')).access_token;
  const rota = await h.post('/api/v1/rotas', admin, { range_start: date, range_end: addDays(date, 1), accept_missing_holidays: true });
  if (rota.status !== 201) throw new Error(`rota: ${rota.status} ${JSON.stringify(rota.body)}`);
  const pub = await h.post(`/api/v1/rotas/${rota.body.id}/publish`, admin, {});
  if (pub.status !== 200) throw new Error(`publish: ${pub.status} ${JSON.stringify(pub.body)}`);
  const session = pub.body.sessions[0];
  const leader = (await h.login('leader')).access_token;
  const started = await h.post(`/api/v1/live-sessions/${session.id}/start`, leader, {});
  if (started.status !== 200) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
  return { id: session.id, leader, admin };
}

// Resolves with the first message of `type` on `live` that satisfies `pred`.
function next(live, type, pred, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${type} within ${ms || 10000} ms`)), ms || 10000);
    live.on(type, (d) => {
      if (!pred || pred(d)) {
        clearTimeout(t);
        resolve(d);
      }
    });
  });
}

module.exports = { phone, catalog, publish, liveSession, next, addDays };
