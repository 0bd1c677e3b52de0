// One consultation: read it, answer its questions (changeable until closing), see one's own
// opinion and what became of it.
const services = require('../../utils/index.js');
const { answersFor } = require('../../utils/consult.js');

// The server's messages are English: a refused answer gets Chinese wording from what the page
// knows (the answer is missing, or the rule of the question's kind).
function fieldMessage(q, answer) {
  if (!answer) return '请回答这个问题';
  if (q.kind === 'multiple_choice') {
    const lo = q.min_picks || 1;
    return q.max_picks ? `请选择${lo}到${q.max_picks}项` : `请至少选择${lo}项`;
  }
  if (q.kind === 'single_choice') return '请重新选择';
  if (q.kind === 'rating') return '请打1到5分';
  return `最多${q.max_length || 500}个字`;
}

const OUTCOME = { adopted: '已采纳', partly_adopted: '部分采纳', noted: '已知悉' };

// The page's view of a question: options with their numbers (from 1, as answers name them).
function shape(c) {
  const questions = (c.questions || []).map((q) => Object.assign({}, q, {
    choices: (q.options || []).map((text, i) => ({ n: String(i + 1), text })),
    stars: q.kind === 'rating' ? ['1', '2', '3', '4', '5'] : [],
  }));
  const mine = c.my_opinion;
  return Object.assign({}, c, {
    questions,
    closes: c.closes_at_local || services.util.formatTime(c.closes_at),
    isOpen: c.state === 'published' && c.phase === 'open',
    myOutcome: mine && mine.outcome ? OUTCOME[mine.outcome] || mine.outcome : '',
  });
}

Page({
  data: { loading: true, error: '', consultation: null, answers: {}, errors: {}, formError: '', submitting: false, sent: false },
  onLoad(query) {
    this.id = Number(query.id);
    this.key = services.util.newKey();
    return this.load();
  },
  async load() {
    this.setData({ loading: true, error: '' });
    try {
      const c = await services.get().consult.get(this.id, { silent: true });
      this.setData({ loading: false, consultation: shape(c), sent: !!c.my_opinion });
    } catch (e) {
      this.setData({ loading: false, error: e.status === 404 ? '没有找到这次意见征集' : e.message });
    }
  },
  held(q) { return Object.assign({}, this.data.answers[q]); },
  onChoice(e) {
    const q = e.currentTarget.dataset.q;
    this.setData({ [`answers.${q}`]: Object.assign(this.held(q), { choices: [].concat(e.detail.value) }) });
  },
  onOther(e) {
    const q = e.currentTarget.dataset.q;
    this.setData({ [`answers.${q}`]: Object.assign(this.held(q), { other: e.detail.value }) });
  },
  onText(e) { this.setData({ [`answers.${e.currentTarget.dataset.q}`]: { text: e.detail.value } }); },
  onRating(e) { this.setData({ [`answers.${e.currentTarget.dataset.q}`]: { rating: e.detail.value } }); },
  async submit() {
    const answers = answersFor(this.data.consultation, this.data.answers);
    this.setData({ submitting: true, errors: {}, formError: '' });
    try {
      const c = await services.get().consult.respond(this.id, answers, this.key);
      // A later change is a new submission: a new key.
      this.key = services.util.newKey();
      this.setData({ submitting: false, sent: true, consultation: shape(c) });
      return c;
    } catch (e) {
      const patch = { submitting: false, formError: e.network ? e.message : '提交没有成功，请检查后再试' };
      // `answers.q2` names the question.
      const qid = e.status === 422 && e.field ? String(e.field).replace(/^answers\./, '') : '';
      const q = (this.data.consultation.questions || []).find((x) => x.id === qid);
      if (q) {
        patch[`errors.${qid}`] = fieldMessage(q, answers[qid]);
        patch.formError = '请检查标红的内容';
      } else if (e.status === 409) {
        patch.formError = e.code === 'consultation_not_open' ? '征集尚未开始' : '征集已截止，不能再提交';
      }
      this.setData(patch);
      return null;
    }
  },
});
