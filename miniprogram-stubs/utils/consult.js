// Opinion collection (意见征集). The consultations API belongs to issue 9 and is not on main
// yet: these paths and shapes are this client's assumption of it, kept in this one module.
const { query } = require('./util.js');

function createConsultApi(client) {
  return {
    list: (params, opts) => client.get(`/api/v1/consultations${query(params)}`, opts),
    get: (id, opts) => client.get(`/api/v1/consultations/${id}`, opts),
    // One response per resident, changeable until closing; retried safely under its key.
    respond: (id, answers, key) => client.post(`/api/v1/consultations/${id}/responses`, { answers }, { idempotencyKey: key }),
    mine: () => client.get('/api/v1/my/consultations'),
  };
}

module.exports = { createConsultApi };
