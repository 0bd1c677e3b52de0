// Subscription consent. WeChat shows its dialog only when wx.requestSubscribeMessage is called
// synchronously inside a tap handler, so `askThen` calls it first, before any await, and runs
// the submission whatever the answer; the accepted templates are then reported to the server.
//
// The server (README "WeChat") takes what WeChat answered as it is: POST /api/v1/my/subscriptions
// {"<template id>": "accept" | "reject" | "ban" | "filter"}; each accept lets it send one message.
// It refuses (422) a template it does not send, so only the templates asked for are reported.
// GET on the same path lists the configured notifications: [{kind, template_id, available}].
const REPORT_PATH = '/api/v1/my/subscriptions';

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

const ANSWERS = ['accept', 'reject', 'ban', 'filter'];

// Answers with the server's view of the consents (`{items}`), or null when nothing was asked.
async function report(client, res, templates) {
  const body = {};
  (templates || []).forEach((t) => {
    if (res && ANSWERS.includes(res[t])) body[t] = res[t];
  });
  if (Object.keys(body).length === 0) return null;
  return client.post(REPORT_PATH, body, { silent: true });
}

// The notifications this server sends and how many of each the user will still receive.
const status = (client, opts) => client.get(REPORT_PATH, opts);

module.exports = { askThen, accepted, report, status, REPORT_PATH };

// Phone binding: POST /api/v1/me/phone {code} → {phone_masked, verified_at}.
module.exports.bindPhone = (client, code) => client.post('/api/v1/me/phone', { code });
