// The pages rendered by miniprogram-simulate (wcc-compiled WXML on jsdom) with real data from
// a real minxin server: the board's masked text and reply, the appeal form's field errors from
// a 422, the rating on the appeal page, the live room's place in the queue, a consultation
// listed and answered, and the empty and error states.
const test = require('node:test');
const assert = require('node:assert/strict');
const { openPage, until } = require('./page-harness.js');
const { createWx } = require('./wx-shim.js');
const { startServer, http } = require('./server.js');
const { catalog, publish, liveSession, addDays } = require('./helpers.js');
const services = require('../utils/index.js');

let srv;
let h;
test.before(async () => {
  srv = await startServer();
  h = http(srv.base);
});
test.after(async () => {
  if (srv) await srv.stop();
});

// One live session for the file (the rota allows one a day).
let liveP = null;
const live = () => {
  liveP = liveP || liveSession(h, srv.date);
  return liveP;
};

let n = 0;
// The phone of a resident: the pages' global wx and the app's services, both for this user.
function asResident(opts) {
  n += 1;
  global.wx = createWx(`page${process.pid}u${n}`, opts);
  services.reset(Object.assign({ wx: global.wx, apiBase: srv.base, backoffMs: 50 }, opts));
  return global.wx;
}

test('board: the masked text and the department reply, from the server', async () => {
  const wx = asResident();
  const { category, village } = await catalog(h);
  const title = `自来水浑浊${Date.now()}`;
  const appeal = await services.get().api.submitAppeal({ title, content: '高坡村自来水浑浊，请联系13812345678张师傅。', category_id: category.id, village_id: village.id }, services.util.newKey());
  await publish(h, appeal.id, '水厂已更换滤料，水质已检测合格。');
  const p = await openPage('board');
  await until(() => !p.page.data.loading);
  const text = p.text();
  assert.ok(text.includes(title), text);
  assert.ok(text.includes('138****5678'), text);
  assert.ok(!text.includes('13812345678'), 'the phone number never shows');
  assert.ok(text.includes('部门回复'));
  assert.ok(text.includes('水厂已更换滤料，水质已检测合格。'));
  // A search that finds nothing shows the empty state, not a blank page.
  await p.page.onSearch({ detail: { value: '不存在的事情' } });
  assert.ok(p.text().includes('暂无留言'), p.text());
  assert.equal(wx.calls.toasts.length, 0);
});

test('board: an unreachable server shows the error state with a retry', async () => {
  asResident({ retries: 0 });
  services.reset({ wx: global.wx, apiBase: 'http://127.0.0.1:9', retries: 0, timeoutMs: 1000 });
  const p = await openPage('board');
  await until(() => !p.page.data.loading);
  assert.ok(p.text().includes('网络不给力'), p.text());
  assert.ok(p.text().includes('重试'));
});

test('appeal form: required fields first, then the server\'s 422 shown at its field', async () => {
  asResident();
  const p = await openPage('appeal-new');
  await until(() => !p.page.data.loading);
  assert.ok(p.text().includes('问题类别'));
  // Nothing filled in: said on the page, nothing sent.
  await p.page.onSubmit();
  assert.ok(p.text().includes('请填写标题'), p.text());
  assert.ok(p.text().includes('请选择所在村'));
  p.page.onCategory({ detail: { value: 0 } });
  p.page.onVillage({ detail: { value: 0 } });
  p.page.onTitle({ detail: { value: '路灯不亮' } });
  p.page.onContent({ detail: { value: '石门村三组路灯坏了一个月。' } });
  p.page.onPhone({ detail: { value: '1234' } });
  const made = await p.page.onSubmit();
  assert.equal(made, null);
  const errors = p.page.data.errors;
  assert.ok(errors.contact_phone, JSON.stringify(p.page.data));
  assert.equal(errors.contact_phone, '电话号码格式不对（5到20位数字）');
  assert.ok(p.text().includes('电话号码格式不对（5到20位数字）'), p.text());
  assert.ok(p.text().includes('请检查标红的内容'));
  // Corrected, the same form goes through once.
  p.page.onPhone({ detail: { value: '13912345678' } });
  const appeal = await p.page.onSubmit();
  assert.ok(appeal && appeal.id);
  const mine = await services.get().api.myAppeals();
  assert.equal(mine.items.filter((a) => a.title === '路灯不亮').length, 1);
});

test('appeal form: similar appeals suggested before submitting', async () => {
  asResident();
  const { category, village } = await catalog(h);
  await services.get().api.submitAppeal({ title: '石门村自来水停水', content: '石门村自来水停水三天了，请尽快恢复供水。', category_id: category.id, village_id: village.id }, services.util.newKey());
  const p = await openPage('appeal-new');
  await until(() => !p.page.data.loading);
  p.page.onCategory({ detail: { value: 0 } });
  p.page.onVillage({ detail: { value: 0 } });
  p.page.onTitle({ detail: { value: '自来水停水' } });
  p.page.onContent({ detail: { value: '石门村自来水停水三天了，请尽快恢复供水。' } });
  await p.page.findSimilar();
  const text = p.text();
  assert.ok(text.includes('这些留言可能说的是同一件事'), text);
  assert.ok(text.includes('（我的）石门村自来水停水'), text);
});

test('appeal page: the reply, then a rating that closes the loop', async () => {
  asResident();
  const { category, village } = await catalog(h);
  const appeal = await services.get().api.submitAppeal({ title: '低保没到账', content: '这个月的低保还没有到账。', category_id: category.id, village_id: village.id }, services.util.newKey());
  await publish(h, appeal.id, '经核实已补发，请查收。');
  const p = await openPage('appeal-detail', { id: String(appeal.id) });
  await until(() => !p.page.data.loading);
  assert.ok(p.text().includes('经核实已补发，请查收。'), p.text());
  assert.ok(p.text().includes('您对办理结果满意吗？'));
  assert.ok(p.text().includes('交办'), 'the timeline in Chinese');
  p.page.pick({ currentTarget: { dataset: { value: 'basically_satisfied' } } });
  await p.page.rate();
  await until(() => !p.page.data.loading);
  assert.equal(p.page.data.appeal.state, 'closed');
  assert.ok(p.text().includes('已办结'), p.text());
  assert.ok(!p.text().includes('您对办理结果满意吗？'));
});

test('my appeals: a new resident sees the empty state', async () => {
  asResident();
  const p = await openPage('my-appeals');
  await until(() => !p.page.data.loading);
  assert.ok(p.text().includes('您还没有提交过诉求'), p.text());
});

test('live room: the place in the queue and the wait', async () => {
  const session = await live();
  asResident();
  const first = await openPage('live-room', { id: String(session.id) });
  first.page.join();
  await until(() => first.page.data.position === 1);
  asResident();
  const p = await openPage('live-room', { id: String(session.id) });
  p.page.onTopic({ detail: { value: '通村路' } });
  p.page.join();
  await until(() => p.page.data.position === 2);
  const text = p.text();
  assert.ok(text.includes('您现在排在第'), text);
  assert.match(text, /排在第\s*2\s*位/);
  assert.match(text, /前面还有\s*1\s*人/);
  assert.ok(text.includes('预计等待'));
  assert.ok(text.includes('已连接'));
  p.page.onUnload();
  first.page.onUnload();
});

test('live schedule: today\'s live session with its leader', async () => {
  await live();
  asResident();
  const p = await openPage('live-schedule');
  await until(() => !p.page.data.loading);
  const text = p.text();
  assert.ok(text.includes('直播中'), text);
  assert.ok(text.includes('演示县长（县长）'), text);
  assert.ok(text.includes('进入直播间排队'), text);
});

test('profile: who I am, in Chinese', async () => {
  asResident();
  const p = await openPage('profile');
  await until(() => !p.page.data.loading);
  assert.ok(p.text().includes('群众'), p.text());
  assert.ok(p.text().includes('绑定微信手机号'));
});

// A published consultation of every question kind, open since today in the server's clock.
async function openConsultation(title) {
  const admin = (await h.login('admin')).access_token;
  const handler = await h.login('handler');
  const made = await h.post('/api/v1/consultations', admin, {
    title, body: '县里计划明年硬化一批村道。\n\n请说说您村最需要硬化的路段。', department_id: handler.user.department_id,
    opens_at: `${srv.date}T00:00:00+08:00`, closes_at: `${addDays(srv.date, 7)}T18:00:00+08:00`,
    results_public: true,
    questions: [
      { kind: 'single_choice', prompt: '最需要硬化的路段', options: ['石门村段', '白岩村段'], allow_other: true },
      { kind: 'multiple_choice', prompt: '希望同时解决的问题', options: ['路灯', '排水沟', '会车道'], max_picks: 2 },
      { kind: 'rating', prompt: '对现在道路的满意程度' },
      { kind: 'free_text', prompt: '其他建议', required: false, max_length: 200 },
    ],
  });
  if (made.status !== 201) throw new Error(`consultation: ${made.status} ${JSON.stringify(made.body)}`);
  const pub = await h.post(`/api/v1/consultations/${made.body.id}/publish`, admin, {});
  if (pub.status !== 200) throw new Error(`publish: ${pub.status} ${JSON.stringify(pub.body)}`);
  return { id: made.body.id, admin };
}

test('consultations: the open ones listed, one answered on its page, a missing answer shown at its question', async () => {
  const title = `村道硬化意见征集${Date.now()}`;
  const { id } = await openConsultation(title);
  asResident();
  const list = await openPage('consultations');
  await until(() => !list.page.data.loading);
  assert.ok(list.text().includes(title), list.text());
  assert.ok(list.text().includes('征集中'), list.text());
  assert.match(list.text(), new RegExp(`截止：${addDays(srv.date, 7)} 18:00`));

  const p = await openPage('consultation', { id: String(id) });
  await until(() => !p.page.data.loading);
  let text = p.text();
  ['县里计划明年硬化一批村道。', '请说说您村最需要硬化的路段。', '最需要硬化的路段', '石门村段', '白岩村段',
    '希望同时解决的问题', '排水沟', '对现在道路的满意程度', '5 分', '其他建议', '提交意见']
    .forEach((s) => assert.ok(text.includes(s), `${s} in ${text}`));
  const qid = (i) => p.page.data.consultation.questions[i].id;
  const on = (q) => ({ currentTarget: { dataset: { q } } });
  // The rating is left out: the server names that question, the page shows it there.
  p.page.onChoice(Object.assign(on(qid(0)), { detail: { value: '2' } }));
  p.page.onChoice(Object.assign(on(qid(1)), { detail: { value: ['1', '2'] } }));
  assert.equal(await p.page.submit(), null);
  assert.equal(p.page.data.errors[qid(2)], '请回答这个问题', JSON.stringify(p.page.data.errors));
  assert.ok(p.text().includes('请回答这个问题'), p.text());
  assert.ok(p.text().includes('请检查标红的内容'), p.text());
  // Three picks where two are allowed: said in Chinese at that question.
  p.page.onChoice(Object.assign(on(qid(1)), { detail: { value: ['1', '2', '3'] } }));
  p.page.onRating(Object.assign(on(qid(2)), { detail: { value: '4' } }));
  assert.equal(await p.page.submit(), null);
  assert.equal(p.page.data.errors[qid(1)], '请选择1到2项', JSON.stringify(p.page.data.errors));
  assert.equal(p.page.data.errors[qid(2)], undefined);
  p.page.onChoice(Object.assign(on(qid(1)), { detail: { value: ['1', '2'] } }));
  p.page.onRating(Object.assign(on(qid(2)), { detail: { value: '4' } }));
  p.page.onText(Object.assign(on(qid(3)), { detail: { value: '白岩村段会车道太窄。' } }));
  const saved = await p.page.submit();
  assert.ok(saved && saved.my_opinion, JSON.stringify(p.page.data.formError));
  assert.deepEqual(saved.my_opinion.answers[qid(0)].choices, [2]);
  assert.equal(saved.my_opinion.answers[qid(2)].rating, 4);
  text = p.text();
  assert.ok(text.includes('您已提交意见，截止前可以修改'), text);
  assert.ok(text.includes('修改意见'), text);
  // Opened again, the page knows the opinion is in.
  const again = await openPage('consultation', { id: String(id) });
  await until(() => !again.page.data.loading);
  assert.ok(again.text().includes('您已提交意见'), again.text());
});

test('consultation: one that does not exist says so, with a retry', async () => {
  asResident();
  const p = await openPage('consultation', { id: '987654' });
  await until(() => !p.page.data.loading);
  assert.ok(p.text().includes('没有找到这次意见征集'), p.text());
  assert.ok(p.text().includes('重试'));
});
