// The one place the server's address lives. In WeChat DevTools, point it at a local
// `minxin serve --demo` (project.config.json turns the domain check off for that).
module.exports = {
  apiBase: 'http://127.0.0.1:8080',
  // Per attempt; a call gives up for good after `deadlineMs` whatever its retries.
  // Only against `minxin serve --demo`: log in as this fake WeChat user (e.g. 'alice') instead
  // of with wx.login's real code, which the demo's fake WeChat does not know. Empty otherwise.
  demoLogin: '',
  timeoutMs: 8000,
  deadlineMs: 20000,
  retries: 3,
  backoffMs: 400,
  // Subscription templates asked for at submit time (configured per deployment).
  subscribeTemplates: {
    appeal: [],
    live: [],
  },
};
