// The service layer against the real server: login, re-login under concurrent 401s, an appeal
// through a 503 and a cut connection, the rating flow, a consultation answered, retried and
// changed, the subscription consent reported, and the live queue with a lost socket.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, http, TEMPLATES } = require('./server.js');
const { startProxy } = require('./proxy.js');
const { phone, catalog, publish, liveSession, next, addDays } = require('./helpers.js');
const { appealForm } = require('../utils/api.js');
const { createLive } = require('../utils/live.js');
const subscribe = require('../utils/subscribe.js');
const { createConsultApi } = require('../utils/consult.js');
const { newKey } = require('../utils/util.js');

let srv;
let h;
test.before(async () => {
  srv = await startServer();
  h = http(srv.base);
});
test.after(async () => {
  if (srv) await srv.stop();
});

const logins = (wx) => wx.calls.request.filter((r) => r.url.endsWith('/auth/wechat-login')).length;
// One live session for the file (the rota allows one a day).
let liveP = null;
const live = () => {
  liveP = liveP || liveSession(h, srv.date);
  return liveP;
};
const refreshes = (wx) => wx.calls.request.filter((r) => r.url.endsWith('/auth/refresh')).length;

test('logs in once through wx.login and reuses the token', async () => {
  const p = phone(srv.base);
  const me = await p.api.me();
  assert.equal(me.role, 'resident');
  await p.api.me();
  await p.api.myAppeals();
  assert.equal(p.wx.calls.login, 1);
  assert.equal(logins(p.wx), 1);
  const bearers = new Set(p.wx.calls.request.filter((r) => r.header.authorization).map((r) => r.header.authorization));
  assert.equal(bearers.size, 1, 'one access token for every call');
});

test('concurrent 401s after a revoked login cause exactly one re-login', async () => {
  const p = phone(srv.base);
  await p.api.me();
  // The login is revoked elsewhere (logout): access token and refresh token both die.
  const r = await h.post('/api/v1/auth/logout', p.client.token(), { refresh_token: p.wx.getStorageSync('minxin.refresh_token') });
  assert.equal(r.status, 204);
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map(() => p.api.me()));
  results.forEach((me) => assert.equal(me.role, 'resident'));
  assert.equal(p.wx.calls.login, 2, 'one wx.login for the first login, one for all six 401s');
  assert.equal(logins(p.wx), 2);
  assert.equal(refreshes(p.wx), 1, 'the dead refresh token is tried once');
});

test('concurrent 401s with a live refresh token cause exactly one refresh and no wx.login', async () => {
  const p = phone(srv.base);
  await p.api.me();
  p.wx.setStorageSync('minxin.access_token', 'eyJhbGciOiJIUzI1NiJ9.e30.broken');
  await Promise.all([1, 2, 3, 4, 5].map(() => p.api.me()));
  assert.equal(p.wx.calls.login, 1);
  assert.equal(refreshes(p.wx), 1);
  // The refreshed token is the one used from now on.
  await p.api.me();
  assert.equal(refreshes(p.wx), 1);
});

test('an appeal submitted through a 503 and a cut connection is made exactly once', async () => {
  const proxy = await startProxy(srv.base);
  try {
    const p = phone(proxy.base);
    const { category, village } = await catalog(h);
    const isAppeal = (req) => req.method === 'POST' && req.url === '/api/v1/appeals';
    proxy.fail(isAppeal, '503');
    proxy.fail(isAppeal, 'cut');
    const form = appealForm(p.api);
    const title = `村口水管破裂${Date.now()}`;
    const appeal = await form.submit({ title, content: '石门村村口的水管破了三天，全村停水。', category_id: category.id, village_id: village.id });
    assert.equal(appeal.title, title);
    const posts = proxy.seen.filter((s) => s.method === 'POST' && s.url === '/api/v1/appeals');
    assert.deepEqual(posts.map((s) => s.action), ['503', 'cut', 'pass']);
    assert.equal(new Set(posts.map((s) => s.key)).size, 1, 'one idempotency key for the open form');
    const mine = await p.api.myAppeals();
    assert.equal(mine.items.filter((a) => a.title === title).length, 1, 'exactly one appeal');
    // Tapping submit again on the same form makes nothing new either.
    assert.equal((await form.submit({ title })).id, appeal.id);
  } finally {
    await proxy.close();
  }
});

test('a resubmission of the same form after every retry was lost makes no second appeal', async () => {
  const proxy = await startProxy(srv.base);
  try {
    const p = phone(proxy.base);
    await p.api.me();
    const { category, village } = await catalog(h);
    const isAppeal = (req) => req.method === 'POST' && req.url === '/api/v1/appeals';
    // The first attempt and its three retries all reach the server; every answer is lost.
    for (let i = 0; i < 4; i++) proxy.fail(isAppeal, 'cut');
    const form = appealForm(p.api);
    const title = `电费多收${Date.now()}`;
    const draft = { title, content: '这个月电费比上月多了一倍。', category_id: category.id, village_id: village.id };
    await assert.rejects(form.submit(draft), (e) => e.network === true);
    assert.equal(p.wx.calls.toasts.length, 1, 'the user is told once');
    // The user taps submit again on the same form.
    const appeal = await form.submit(draft);
    assert.equal(appeal.title, title);
    const keys = new Set(proxy.seen.filter((s) => s.url === '/api/v1/appeals').map((s) => s.key));
    assert.equal(keys.size, 1);
    const mine = await p.api.myAppeals();
    assert.equal(mine.items.filter((a) => a.title === title).length, 1, 'exactly one appeal');
    // A new form (another appeal) gets a new key.
    form.reset();
    assert.ok(!keys.has(form.key()));
  } finally {
    await proxy.close();
  }
});

test('a POST without an idempotency key is not retried after a cut connection', async () => {
  const proxy = await startProxy(srv.base);
  try {
    const p = phone(proxy.base);
    await p.api.me();
    const { category, village } = await catalog(h);
    proxy.fail((req) => req.url === '/api/v1/appeals/similar', 'cut');
    await assert.rejects(p.api.similar({ title: '水管', content: '水管破了', category_id: category.id, village_id: village.id }), (e) => e.network === true);
    assert.equal(proxy.seen.filter((s) => s.url === '/api/v1/appeals/similar').length, 1);
  } finally {
    await proxy.close();
  }
});

test('no call hangs past its deadline', async () => {
  const net = require('node:net');
  // A server that accepts connections and never answers.
  const mute = net.createServer(() => {});
  await new Promise((r) => mute.listen(0, '127.0.0.1', r));
  const p = phone(`http://127.0.0.1:${mute.address().port}`, undefined, { timeoutMs: 300, deadlineMs: 1200 });
  const t0 = Date.now();
  await assert.rejects(p.api.board({}), (e) => e.network === true);
  const took = Date.now() - t0;
  assert.ok(took < 2500, `gave up after ${took} ms`);
  assert.ok(p.wx.calls.toasts.length === 1, 'one error toast');
  mute.close();
});

test('the rating flow: a published reply is rated and the loop closes', async () => {
  const p = phone(srv.base);
  const { category, village } = await catalog(h);
  const form = appealForm(p.api);
  const appeal = await form.submit({ title: '通村路塌方', content: '白岩村通村路塌方，联系电话13812345678。', category_id: category.id, village_id: village.id });
  await publish(h, appeal.id, '已安排施工队抢修，预计三天内通车。');
  const loaded = await p.api.appeal(appeal.id);
  assert.equal(loaded.state, 'published');
  assert.ok(loaded.allowed_actions.includes('rate'), JSON.stringify(loaded.allowed_actions));
  const rated = await p.api.rate(loaded, 'satisfied', true, '修得很快');
  assert.equal(rated.state, 'closed');
  assert.equal(rated.rating, 'satisfied');
  const board = await p.api.board({ q: '塌方' });
  const item = board.items.find((i) => i.id === appeal.id);
  assert.ok(item, 'on the public board');
  assert.ok(item.content.includes('138****5678'), item.content);
  assert.ok(!item.content.includes('13812345678'));
  assert.equal(item.reply, '已安排施工队抢修，预计三天内通车。');
});

const T_REPLY = TEMPLATES.appeal_replied;
const T_LIVE = TEMPLATES.live_session_changed;
const available = (subs) => Object.fromEntries(subs.items.map((i) => [i.template_id, i.available]));

test('consent is asked synchronously in the tap, before the submission starts, then reported', async () => {
  const p = phone(srv.base, undefined, { consent: { [T_REPLY]: 'accept' } });
  const { category, village } = await catalog(h);
  const form = appealForm(p.api);
  const order = [];
  p.wx.inTap = true;
  const { asked, result } = subscribe.askThen(p.wx, [T_REPLY, T_LIVE], () => {
    order.push('submit');
    return form.submit({ title: '低保咨询', content: '想问低保怎么申请。', category_id: category.id, village_id: village.id });
  });
  p.wx.inTap = false;
  assert.deepEqual(p.wx.calls.subscribe, [{ tmplIds: [T_REPLY, T_LIVE], sync: true }]);
  assert.deepEqual(order, ['submit']);
  const res = await asked;
  assert.deepEqual(subscribe.accepted(res, [T_REPLY, T_LIVE]), [T_REPLY]);
  const reported = await subscribe.report(p.client, res, [T_REPLY, T_LIVE]);
  assert.deepEqual(available(reported), { [T_REPLY]: 1, [T_LIVE]: 0 });
  await result;
});

test('the subscription consent is reported to the server, one message per accept', async () => {
  const p = phone(srv.base, undefined, { consent: { [T_REPLY]: 'accept', [T_LIVE]: 'reject' } });
  await p.api.me();
  // Nothing reported yet: the server knows its templates and that none may be sent.
  const before = await subscribe.status(p.client);
  assert.deepEqual(available(before), { [T_REPLY]: 0, [T_LIVE]: 0 });
  assert.deepEqual(before.items.map((i) => i.kind).sort(), ['appeal_replied', 'live_session_changed']);
  for (let i = 0; i < 2; i += 1) {
    const { asked, result } = subscribe.askThen(p.wx, [T_REPLY, T_LIVE], () => null);
    await result;
    await subscribe.report(p.client, await asked, [T_REPLY, T_LIVE]);
  }
  const seen = await subscribe.status(p.client);
  assert.deepEqual(available(seen), { [T_REPLY]: 2, [T_LIVE]: 0 }, 'each accept is one message; a reject none');
  // Nothing asked, nothing sent.
  assert.equal(await subscribe.report(p.client, {}, []), null);
});

test('a consultation answered once, retried under its key, changed before closing', async () => {
  const admin = (await h.login('admin')).access_token;
  const me = (await h.get('/api/v1/me', (await h.login('handler')).access_token)).body;
  const created = await h.post('/api/v1/consultations', admin, {
    title: '村道硬化意见征集', body: '请大家说说最需要硬化的路段。\n\n截止后公布采纳情况。', department_id: me.department_id,
    // Times relative to the server's clock (today 10:05 in Asia/Shanghai), not the test's.
    opens_at: `${srv.date}T00:00:00+08:00`, closes_at: `${addDays(srv.date, 7)}T12:00:00+08:00`,
    results_public: true,
    questions: [
      { kind: 'single_choice', prompt: '最需要硬化的路段', options: ['石门村段', '白岩村段'] },
      { kind: 'free_text', prompt: '其他建议', required: false },
    ],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const published = await h.post(`/api/v1/consultations/${created.body.id}/publish`, admin, {});
  assert.equal(published.status, 200, JSON.stringify(published.body));
  const p = phone(srv.base);
  const consult = createConsultApi(p.client);
  const listed = await consult.list();
  assert.ok(listed.some((c) => c.id === created.body.id && c.phase === 'open'), JSON.stringify(listed));
  const c = await consult.get(created.body.id);
  assert.equal(c.my_opinion, null);
  const [q1, q2] = c.questions;
  assert.deepEqual(q1.options, ['石门村段', '白岩村段']);
  const key = newKey();
  const answers = { [q1.id]: { choices: [1] }, [q2.id]: { text: '石门村段下雨天泥泞，学生上学不便。' } };
  const first = await consult.respond(c.id, answers, key);
  const again = await consult.respond(c.id, answers, key);
  assert.equal(again.my_opinion.response_id, first.my_opinion.response_id);
  assert.equal(again.my_opinion.version, 1, 'a retried submission adds no version');
  assert.equal(again.respondents, 1);
  const replayed = p.wx.calls.request.filter((r) => r.url.endsWith(`/consultations/${c.id}/responses`));
  assert.equal(replayed.length, 2);
  assert.equal(replayed[0].header['idempotency-key'], replayed[1].header['idempotency-key']);
  // A wrong answer is refused at its question.
  await assert.rejects(consult.respond(c.id, { [q1.id]: { choices: [3] } }, newKey()),
    (e) => e.status === 422 && e.field === `answers.${q1.id}`);
  // Changed before closing: the latest counts, still one opinion.
  const changed = await consult.respond(c.id, { [q1.id]: { choices: [2] } }, newKey());
  assert.equal(changed.my_opinion.version, 2);
  assert.deepEqual(changed.my_opinion.answers[q1.id].choices, [2]);
  assert.equal(changed.respondents, 1);
  const mine = await consult.mine();
  const ours = mine.filter((m) => m.consultation.id === c.id);
  assert.equal(ours.length, 1);
  assert.deepEqual(ours[0].opinion.answers[q1.id].choices, [2]);
  const results = await consult.results(c.id);
  assert.equal(results.respondents, 1);
  // Closed: no more changes.
  assert.equal((await h.post(`/api/v1/consultations/${c.id}/close`, admin, {})).status, 200);
  await assert.rejects(consult.respond(c.id, { [q1.id]: { choices: [1] } }, newKey()),
    (e) => e.status === 409 && e.code === 'consultation_closed');
});

test('live room: join, positions, a lost socket resumed with the place kept', async (t) => {
  const session = await live();
  const a = phone(srv.base);
  const b = phone(srv.base);
  const la = createLive(a.api, session.id, { backoffMs: 100 }).start();
  const lb = createLive(b.api, session.id, { backoffMs: 100 }).start();
  t.after(() => {
    la.stop();
    lb.stop();
  });
  la.join('通村路塌方');
  const pa = await next(la, 'position', (d) => d.position === 1);
  assert.equal(pa.ahead, 0);
  lb.join('低保申请');
  const pb = await next(lb, 'position', (d) => d.position === 2);
  assert.equal(pb.ahead, 1);
  assert.ok(lb.resumeToken(), 'the welcome gave a resume token');

  // The network drops without a close frame; the wrapper reconnects with its resume token.
  const welcomed = next(lb, 'welcome', (d) => d.resumed === true, 15000);
  const repositioned = next(lb, 'position', (d) => d.position === 2, 15000);
  lb.task().drop();
  const w = await welcomed;
  assert.equal(w.resumed, true);
  assert.equal((await repositioned).ahead, 1, 'the place is kept');
  const url = lb.task().url;
  assert.match(url, /[?&]resume=/);
  assert.match(url, /[?&]last_seq=\d+/);
  assert.equal(b.wx.calls.sockets.length, 2, 'one new socket, not several');

  // Outgoing envelopes are numbered from 1 on each connection and acknowledge the server's.
  const sent = [];
  const ws = lb.task().ws;
  const orig = ws.send.bind(ws);
  ws.send = (d, cb) => {
    sent.push(JSON.parse(d));
    orig(d, cb);
  };
  lb.leave();
  await next(lb, 'event', (e) => e.event === 'left');
  assert.equal(sent[0].v, 1);
  assert.equal(sent[0].type, 'leave');
  assert.ok(sent[0].seq >= 1 && sent[0].ack >= 1, JSON.stringify(sent[0]));
});

test('live room: a 4008 "too slow" close reconnects at once with resume', async (t) => {
  const { id } = await live();
  const c = phone(srv.base);
  const lc = createLive(c.api, id, { backoffMs: 5000 }).start();
  t.after(() => lc.stop());
  lc.join();
  const first = await next(lc, 'position');
  // The server closes a slow client with 4008; here the close arrives as WeChat reports it.
  const welcomed = next(lc, 'welcome', (d) => d.resumed === true, 3000);
  const again = next(lc, 'position', (d) => d.position === first.position, 3000);
  lc.task().ws.emit('close', 4008, Buffer.from('too slow'));
  lc.task().ws.terminate();
  await welcomed;
  await again;
});

test('live room: the network coming back, or the page shown again, reconnects at once', async (t) => {
  const { id } = await live();
  const c = phone(srv.base);
  // A long backoff: only the network event or onShow can bring it back within the test's wait.
  const lc = createLive(c.api, id, { backoffMs: 20000, backoffCapMs: 20000 }).start();
  t.after(() => lc.stop());
  lc.join();
  const first = await next(lc, 'position');
  let welcomed = next(lc, 'welcome', (d) => d.resumed === true, 3000);
  lc.task().drop();
  await next(lc, 'close');
  c.wx.emitNetwork(true);
  await welcomed;
  await next(lc, 'position', (d) => d.position === first.position, 3000).catch(() => null);
  welcomed = next(lc, 'welcome', (d) => d.resumed === true, 3000);
  lc.task().drop();
  await next(lc, 'close');
  lc.onShow();
  await welcomed;
  assert.equal(c.wx.calls.sockets.length, 3);
});
