// One consultation: read it, answer its questions (changeable until closing), see one's own
// opinion and what became of it.
const services = require('../../utils/index.js');
const { answersFor } = require('../../utils/consult.js');

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
      const patch = { submitting: false, formError: e.message };
      // `answers.q2` names the question.
      if (e.field) patch[`errors.${String(e.field).replace(/^answers\./, '')}`] = e.message;
      this.setData(patch);
      return null;
    }
  },
});
