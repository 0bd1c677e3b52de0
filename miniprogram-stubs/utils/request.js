// One request wrapper for every API call: bearer token, one shared re-login on 401, retries with
// backoff for calls that are safe to repeat, error toasts, and a hard deadline per call.
const defaults = require('../config.js');
const { sleep, backoff } = require('./util.js');

const ACCESS = 'minxin.access_token';
const REFRESH = 'minxin.refresh_token';
const USER = 'minxin.user';

class ApiError extends Error {
  constructor(status, body, network) {
    const e = (body && body.error) || {};
    super(e.message || (network ? '网络不给力，请稍后再试' : `请求失败（${status}）`));
    this.status = status;
    this.code = e.code || (network ? 'network_error' : 'http_error');
    this.field = e.field;
    this.state = e.state;
    this.network = !!network;
  }
}

// Statuses worth another attempt: the server or a proxy was briefly unavailable.
const TRANSIENT = [429, 502, 503, 504];

function createClient(options) {
  const cfg = Object.assign({}, defaults, options || {});
  const w = cfg.wx || globalThis.wx;
  let relogin = null; // the one re-login in flight, shared by every caller that got a 401
  const stats = { logins: 0, refreshes: 0 };

  const token = () => w.getStorageSync(ACCESS) || '';

  function raw(method, path, data, headers, timeout) {
    return new Promise((resolve) => {
      w.request({
        url: cfg.apiBase + path,
        method,
        data,
        header: headers,
        timeout,
        dataType: 'json',
        success: (res) => resolve({ status: res.statusCode, body: res.data, header: res.header || {} }),
        fail: (err) => resolve({ status: 0, error: err }),
      });
    });
  }

  function store(body) {
    w.setStorageSync(ACCESS, body.access_token);
    w.setStorageSync(REFRESH, body.refresh_token);
    if (body.user) w.setStorageSync(USER, body.user);
  }

  function wxLogin() {
    // A demo server's fake WeChat knows only codes `<name>-<n>`; DevTools' wx.login gives real ones.
    if (cfg.demoLogin) return Promise.resolve(`${cfg.demoLogin}-${Date.now()}`);
    return new Promise((resolve, reject) => {
      w.login({ success: (r) => resolve(r.code), fail: (e) => reject(new ApiError(0, null, true, e)) });
    });
  }

  async function login() {
    stats.logins += 1;
    let last;
    // A lost answer is retried with the same code: the server remembers a code's result.
    let code = await wxLogin();
    let freshCode = false;
    for (let attempt = 0; attempt <= cfg.retries; attempt++) {
      const r = await raw('POST', '/api/v1/auth/wechat-login', { code }, { 'content-type': 'application/json' }, cfg.timeoutMs);
      if (r.status === 200) {
        store(r.body);
        return r.body;
      }
      last = new ApiError(r.status, r.body, r.status === 0);
      // WeChat refused the code (expired, or from another session): one new code, once.
      if (last.code === 'wechat_code_invalid' && !freshCode) {
        freshCode = true;
        code = await wxLogin();
        continue;
      }
      if (r.status !== 0 && !TRANSIENT.includes(r.status)) break;
      await sleep(backoff(cfg.backoffMs, attempt));
    }
    throw last;
  }

  async function refresh() {
    const rt = w.getStorageSync(REFRESH);
    if (!rt) return false;
    stats.refreshes += 1;
    const r = await raw('POST', '/api/v1/auth/refresh', { refresh_token: rt }, { 'content-type': 'application/json' }, cfg.timeoutMs);
    if (r.status === 200) {
      store(r.body);
      return true;
    }
    // A refresh token is single use: whatever happened, it is spent or dead now.
    w.removeStorageSync(REFRESH);
    return false;
  }

  // Renews the login after `failed` was refused. Only if the stored token is still the one
  // that failed (another call may have renewed it already), and only once for all callers.
  function reauth(failed) {
    if (token() && token() !== failed) return Promise.resolve();
    if (!relogin) {
      relogin = (async () => {
        if (!(await refresh())) await login();
      })().finally(() => {
        relogin = null;
      });
    }
    return relogin;
  }

  async function ensureLogin() {
    if (token()) return;
    await reauth('');
  }

  function toast(err) {
    if (w.showToast) w.showToast({ title: err.message.slice(0, 20), icon: 'none' });
  }

  // opts: { method, data, auth (default true), silent, idempotencyKey, retry }
  async function call(path, opts) {
    const o = opts || {};
    const method = (o.method || 'GET').toUpperCase();
    const auth = o.auth !== false;
    // Only a GET, or a write the server recognises by its key, may be sent twice.
    const retryable = o.retry !== false && (method === 'GET' || !!o.idempotencyKey);
    const deadline = Date.now() + (o.deadlineMs || cfg.deadlineMs);
    let relogged = false;
    let attempt = 0;
    for (;;) {
      if (auth) {
        try {
          await ensureLogin();
        } catch (e) {
          if (!o.silent) toast(e);
          throw e;
        }
      }
      const sent = auth ? token() : '';
      const headers = { 'content-type': 'application/json' };
      if (sent) headers.authorization = `Bearer ${sent}`;
      if (o.idempotencyKey) headers['idempotency-key'] = o.idempotencyKey;
      const left = deadline - Date.now();
      const r = left > 0 ? await raw(method, path, o.data, headers, Math.min(cfg.timeoutMs, left)) : { status: 0, error: { errMsg: 'request:fail timeout' } };
      if (r.status >= 200 && r.status < 300) return r.body;
      if (r.status === 401 && auth && !relogged) {
        relogged = true;
        await reauth(sent);
        continue;
      }
      const err = new ApiError(r.status, r.body, r.status === 0);
      const transient = r.status === 0 || TRANSIENT.includes(r.status);
      if (transient && retryable && attempt < cfg.retries) {
        const ra = Number((r.header && (r.header['Retry-After'] || r.header['retry-after'])) || 0) * 1000;
        const wait = Math.max(ra, backoff(cfg.backoffMs, attempt));
        if (Date.now() + wait < deadline) {
          attempt += 1;
          await sleep(wait);
          continue;
        }
      }
      if (!o.silent) toast(err);
      throw err;
    }
  }

  return {
    call,
    get: (path, opts) => call(path, Object.assign({}, opts, { method: 'GET' })),
    post: (path, data, opts) => call(path, Object.assign({}, opts, { method: 'POST', data })),
    del: (path, opts) => call(path, Object.assign({}, opts, { method: 'DELETE' })),
    login,
    ensureLogin,
    user: () => w.getStorageSync(USER) || null,
    token,
    stats,
    config: cfg,
    wx: w,
  };
}

module.exports = { createClient, ApiError, ACCESS, REFRESH, USER };
