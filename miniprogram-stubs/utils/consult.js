// Opinion collection (意见征集), against the server's consultations API (README "Consultations"):
// residents list the open ones (`GET /consultations`, a plain array, their scope first), read one
// with their own opinion (`my_opinion`), and answer with `{answers: {q1: {choices: [2]}, q2:
// {text}, q3: {rating}}}` under an Idempotency-Key, changeable until closing.
const { query } = require('./util.js');

// One question's answer from what the page holds: option numbers (from 1), an "other" text,
// free text or a rating. Empty parts are left out so a skipped optional question sends nothing.
function answerOf(q, held) {
  if (!held) return null;
  if (q.kind === 'single_choice' || q.kind === 'multiple_choice') {
    const choices = [].concat(held.choices || []).map(Number).filter((n) => n > 0);
    const a = {};
    if (choices.length) a.choices = choices;
    if (held.other) a.other = held.other;
    return Object.keys(a).length ? a : null;
  }
  if (q.kind === 'rating') return held.rating ? { rating: Number(held.rating) } : null;
  return held.text ? { text: held.text } : null;
}

// The body's `answers` for the questions of `c` from the page's held values (keyed by q id).
function answersFor(c, held) {
  const out = {};
  (c.questions || []).forEach((q) => {
    const a = answerOf(q, held && held[q.id]);
    if (a) out[q.id] = a;
  });
  return out;
}

function createConsultApi(client) {
  return {
    list: (params, opts) => client.get(`/api/v1/consultations${query(params)}`, opts),
    get: (id, opts) => client.get(`/api/v1/consultations/${id}`, opts),
    // One opinion per resident, changeable until closing; retried safely under its key. The
    // answer is the consultation with `my_opinion`.
    respond: (id, answers, key, villageId) => client.post(`/api/v1/consultations/${id}/responses`,
      villageId ? { answers, village_id: villageId } : { answers }, { idempotencyKey: key }),
    results: (id, opts) => client.get(`/api/v1/consultations/${id}/results`, opts),
    // The consultations one answered: [{consultation, outcome, opinion}].
    mine: () => client.get('/api/v1/my/consultations'),
  };
}

module.exports = { createConsultApi, answersFor };
