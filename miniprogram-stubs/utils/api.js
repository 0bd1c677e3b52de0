// The endpoints the pages use, one function each, over the request wrapper.
const { query, newKey } = require('./util.js');

function createApi(client) {
  const c = client;
  return {
    client: c,
    me: () => c.get('/api/v1/me'),
    categories: () => c.get('/api/v1/categories', { auth: false }),
    villages: () => c.get('/api/v1/villages', { auth: false }),
    board: (params, opts) => c.get(`/api/v1/board${query(params)}`, Object.assign({ auth: false }, opts)),
    boardItem: (id, opts) => c.get(`/api/v1/board/${id}`, Object.assign({ auth: false }, opts)),
    myAppeals: (params) => c.get(`/api/v1/my/appeals${query(params)}`),
    appeal: (id) => c.get(`/api/v1/appeals/${id}`),
    similar: (draft) => c.post('/api/v1/appeals/similar', draft, { silent: true }),
    // `key` belongs to the open form (see appealForm): resubmitting after a lost answer
    // returns the appeal already made instead of making a second one.
    submitAppeal: (draft, key, opts) => c.post('/api/v1/appeals', draft, Object.assign({ idempotencyKey: key }, opts)),
    act: (id, action) => c.post(`/api/v1/appeals/${id}/actions`, action),
    rate: (appeal, rating, solved, comment) => c.post(`/api/v1/appeals/${appeal.id}/actions`, {
      action: 'rate', rating, solved, comment: comment || undefined, version: appeal.version,
    }),
    liveSessions: () => c.get('/api/v1/live-sessions'),
    liveSession: (id) => c.get(`/api/v1/live-sessions/${id}`),
    register: (id, topic) => c.post(`/api/v1/live-sessions/${id}/registrations`, { topic }),
    cancelRegistration: (id) => c.del(`/api/v1/live-sessions/${id}/registration`),
    myRegistrations: () => c.get('/api/v1/my/registrations'),
    ticket: (id) => c.post(`/api/v1/live/sessions/${id}/ticket`, {}, { silent: true }),
    media: (id) => c.post(`/api/v1/live/sessions/${id}/media`, {}, { silent: true }),
  };
}

// The state of one open appeal form: its idempotency key is made when the form opens and kept
// through every retry and resubmission until the server has answered with the appeal.
function appealForm(api) {
  let key = newKey();
  let done = null;
  return {
    key: () => key,
    async submit(draft, opts) {
      if (done) return done;
      const appeal = await api.submitAppeal(draft, key, opts);
      done = appeal;
      return appeal;
    },
    // A fresh form (the user chose to write another appeal).
    reset() {
      key = newKey();
      done = null;
    },
  };
}

module.exports = { createApi, appealForm };
