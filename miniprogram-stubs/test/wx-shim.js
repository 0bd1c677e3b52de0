// A `wx` for Node: the WeChat APIs the mini-program uses, backed by real HTTP (fetch) and a real
// WebSocket (ws), with WeChat's callback semantics: success/fail/complete called asynchronously,
// wx.request "succeeding" on any HTTP status (only a network failure or timeout is `fail`),
// SocketTask with onOpen/onMessage/onClose/onError, synchronous storage.
const WebSocket = require('ws');

function later(f, ...args) {
  if (typeof f === 'function') setImmediate(() => f(...args));
}

function finish(o, ok, res) {
  if (ok) later(o.success, res);
  else later(o.fail, res);
  later(o.complete, res);
}

// identity: the WeChat user the fake login chooses (`alice` → codes alice-1, alice-2, …).
function createWx(identity, opts) {
  const o = opts || {};
  const storage = new Map();
  const calls = { login: 0, request: [], toasts: [], subscribe: [], sockets: [] };
  const netListeners = new Set();
  let codeN = 0;
  const wx = {
    calls,
    identity,
    getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
    setStorageSync: (k, v) => storage.set(k, v),
    removeStorageSync: (k) => storage.delete(k),
    clearStorageSync: () => storage.clear(),
    login(p) {
      calls.login += 1;
      codeN += 1;
      finish(p, true, { errMsg: 'login:ok', code: `${identity}-${Date.now()}${codeN}` });
    },
    request(p) {
      const ac = new AbortController();
      const timeout = p.timeout || 60000;
      const timer = setTimeout(() => ac.abort(), timeout);
      const method = (p.method || 'GET').toUpperCase();
      const header = Object.assign({}, p.header);
      let body;
      if (p.data !== undefined && method !== 'GET') {
        body = typeof p.data === 'string' ? p.data : JSON.stringify(p.data);
      }
      calls.request.push({ method, url: p.url, header });
      let aborted = false;
      fetch(p.url, { method, headers: header, body, signal: ac.signal })
        .then(async (res) => {
          const text = await res.text();
          let data = text;
          if (p.dataType !== 'text') {
            try {
              data = JSON.parse(text);
            } catch (e) {
              data = text;
            }
          }
          const h = {};
          res.headers.forEach((v, k) => {
            h[k] = v;
          });
          finish(p, true, { errMsg: 'request:ok', statusCode: res.status, data, header: h });
        })
        .catch((e) => {
          aborted = ac.signal.aborted;
          finish(p, false, { errMsg: aborted ? 'request:fail timeout' : `request:fail ${e.cause ? e.cause.code || e.message : e.message}` });
        })
        .finally(() => clearTimeout(timer));
      return { abort: () => ac.abort() };
    },
    connectSocket(p) {
      const ws = new WebSocket(p.url);
      const h = { open: [], message: [], close: [], error: [] };
      let closed = false;
      const fire = (k, v) => h[k].forEach((f) => f(v));
      ws.on('open', () => fire('open', {}));
      ws.on('message', (data) => fire('message', { data: data.toString() }));
      ws.on('error', (e) => fire('error', { errMsg: e.message }));
      ws.on('close', (code, reason) => {
        if (closed) return;
        closed = true;
        fire('close', { code, reason: reason.toString() });
      });
      const task = {
        url: p.url,
        onOpen: (f) => h.open.push(f),
        onMessage: (f) => h.message.push(f),
        onClose: (f) => h.close.push(f),
        onError: (f) => h.error.push(f),
        send(s) {
          if (ws.readyState !== WebSocket.OPEN) {
            later(s.fail, { errMsg: 'sendSocketMessage:fail' });
            return;
          }
          ws.send(s.data, (err) => (err ? later(s.fail, { errMsg: err.message }) : later(s.success, {})));
        },
        close(c) {
          ws.close((c && c.code) || 1000, (c && c.reason) || '');
        },
        // Tests: the network vanishes (no close frame); WeChat reports it as an abnormal close.
        drop() {
          ws.terminate();
        },
        ws,
      };
      calls.sockets.push(task);
      later(p.success, {});
      return task;
    },
    onNetworkStatusChange: (f) => netListeners.add(f),
    offNetworkStatusChange: (f) => netListeners.delete(f),
    // Tests: the phone regains (or loses) its network.
    emitNetwork: (isConnected) => netListeners.forEach((f) => f({ isConnected, networkType: isConnected ? 'wifi' : 'none' })),
    showToast: (p) => {
      calls.toasts.push(p.title);
      finish(p, true, {});
    },
    showLoading: (p) => finish(p || {}, true, {}),
    hideLoading: (p) => finish(p || {}, true, {}),
    showModal: (p) => finish(p, true, { confirm: true, cancel: false }),
    stopPullDownRefresh: () => {},
    navigateTo: (p) => {
      calls.navigate = p.url;
      finish(p, true, {});
    },
    redirectTo: (p) => finish(p, true, {}),
    switchTab: (p) => finish(p, true, {}),
    // Records that it was called, and from which stack depth, so a test can check it ran
    // synchronously in the tap; answers with `o.consent` (template → 'accept' | 'reject').
    requestSubscribeMessage(p) {
      calls.subscribe.push({ tmplIds: p.tmplIds, sync: !!wx.inTap });
      const res = { errMsg: 'requestSubscribeMessage:ok' };
      (p.tmplIds || []).forEach((t) => {
        res[t] = (o.consent && o.consent[t]) || 'reject';
      });
      finish(p, true, res);
    },
    getSystemInfoSync: () => ({ windowWidth: 375, windowHeight: 667, pixelRatio: 2, fontSizeSetting: 16 }),
  };
  return wx;
}

module.exports = { createWx };
