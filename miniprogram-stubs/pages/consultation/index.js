// One consultation: read it, answer its questions, see what became of one's opinion.
// The API (issue 9) is not on the server yet; see utils/consult.js for the assumed shape.
const services = require('../../utils/index.js');

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
      this.setData({ loading: false, consultation: c });
    } catch (e) {
      this.setData({ loading: false, error: e.status === 404 ? '没有找到这次意见征集' : e.message });
    }
  },
  onText(e) { this.setData({ [`answers.${e.currentTarget.dataset.q}`]: { text: e.detail.value } }); },
  onChoice(e) { this.setData({ [`answers.${e.currentTarget.dataset.q}`]: { options: [].concat(e.detail.value) } }); },
  async submit() {
    const answers = Object.keys(this.data.answers).map((q) => Object.assign({ question_id: Number(q) }, this.data.answers[q]));
    this.setData({ submitting: true, errors: {}, formError: '' });
    try {
      await services.get().consult.respond(this.id, answers, this.key);
      this.setData({ submitting: false, sent: true });
    } catch (e) {
      const patch = { submitting: false, formError: e.message };
      if (e.field) patch[`errors.${e.field}`] = e.message;
      this.setData(patch);
    }
  },
});
