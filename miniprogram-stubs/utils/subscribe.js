// Subscription consent. WeChat shows its dialog only when wx.requestSubscribeMessage is called
// synchronously inside a tap handler, so `askThen` calls it first, before any await, and runs
// the submission whatever the answer; the accepted templates are then reported to the server.
//
// The reporting endpoint belongs to issue 10 (WeChat platform services), not on main yet:
// POST /api/v1/me/subscriptions {consents: [{template_id, accept}]} is this client's assumption
// of its name and shape, kept in this one module so it changes in one place.
const REPORT_PATH = '/api/v1/me/subscriptions';

function askThen(w, templates, submit) {
  const asked = new Promise((resolve) => {
    if (!templates || templates.length === 0 || !w.requestSubscribeMessage) {
      resolve({});
      return;
    }
    // Called here, in the tap's own call stack: nothing is awaited before it.
    w.requestSubscribeMessage({
      tmplIds: templates,
      success: (res) => resolve(res),
      fail: () => resolve({}),
    });
  });
  return { asked, result: submit() };
}

function accepted(res, templates) {
  return (templates || []).filter((t) => res && res[t] === 'accept');
}

async function report(client, res, templates) {
  const consents = (templates || []).map((t) => ({ template_id: t, accept: !!res && res[t] === 'accept' }));
  if (consents.length === 0) return null;
  return client.post(REPORT_PATH, { consents }, { silent: true });
}

module.exports = { askThen, accepted, report, REPORT_PATH };

// Phone binding, also issue 10: POST /api/v1/me/phone {code} → the number, masked.
module.exports.bindPhone = (client, code) => client.post('/api/v1/me/phone', { code });
