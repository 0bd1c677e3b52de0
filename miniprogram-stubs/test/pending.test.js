// End-to-end tests for the parts of the client whose server side is being built in other
// branches: consultations (issue 9) and the subscription-consent report (issue 10). They are
// skipped, with the reason shown, until those land; then remove `skip` (and adjust the assumed
// paths and shapes in utils/consult.js and utils/subscribe.js to what was merged).
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, http } = require('./server.js');
const { phone, addDays } = require('./helpers.js');
const subscribe = require('../utils/subscribe.js');
const { createConsultApi } = require('../utils/consult.js');
const { newKey } = require('../utils/util.js');

const ISSUE9 = 'issue 9 (consultations API) is not on main yet';
const ISSUE10 = 'issue 10 (consent report endpoint) is not on main yet';

let srv;
let h;
const needed = () => !srv;
async function server() {
  if (needed()) {
    srv = await startServer();
    h = http(srv.base);
  }
}
test.after(async () => {
  if (srv) await srv.stop();
});

test('a consultation answered once, retried under its key, changed before closing', { skip: ISSUE9 }, async () => {
  await server();
  const admin = (await h.login('admin')).access_token;
  const me = (await h.get('/api/v1/me', (await h.login('handler')).access_token)).body;
  const created = await h.post('/api/v1/consultations', admin, {
    title: '村道硬化意见征集', body: '请大家说说最需要硬化的路段。', department_id: me.department_id,
    opens_at: new Date(Date.now() - 3600e3).toISOString(), closes_at: `${addDays(srv.date, 7)}T12:00:00Z`,
    results_public: true,
    questions: [{ kind: 'single_choice', text: '最需要硬化的路段', required: true, options: ['石门村段', '白岩村段'] }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await h.post(`/api/v1/consultations/${created.body.id}/publish`, admin, {})).status, 200);
  const p = phone(srv.base);
  const consult = createConsultApi(p.client);
  const c = await consult.get(created.body.id);
  const q = c.questions[0];
  const key = newKey();
  const first = await consult.respond(c.id, [{ question_id: q.id, options: [q.options[0].id] }], key);
  const again = await consult.respond(c.id, [{ question_id: q.id, options: [q.options[0].id] }], key);
  assert.equal(first.id, again.id, 'a retried submission counts once');
  await consult.respond(c.id, [{ question_id: q.id, options: [q.options[1].id] }], newKey());
  const mine = await consult.mine();
  assert.equal(mine.items.filter((m) => m.consultation_id === c.id).length, 1);
});

test('the subscription consent is reported to the server', { skip: ISSUE10 }, async () => {
  await server();
  const p = phone(srv.base, undefined, { consent: { T_REPLY: 'accept', T_LIVE: 'reject' } });
  await p.api.me();
  const { asked, result } = subscribe.askThen(p.wx, ['T_REPLY', 'T_LIVE'], () => null);
  await result;
  const res = await asked;
  const r = await subscribe.report(p.client, res, ['T_REPLY', 'T_LIVE']);
  assert.ok(r !== undefined);
  const seen = await p.client.get(subscribe.REPORT_PATH);
  const got = (seen.items || seen).filter((s) => s.available > 0 || s.accept).map((s) => s.template_id);
  assert.deepEqual(got, ['T_REPLY']);
});
