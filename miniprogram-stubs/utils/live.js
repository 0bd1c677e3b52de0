// One live-room socket over WeChat's SocketTask, speaking the server's protocol: envelopes with
// seq/ack, application pings, a resume token and the room's last event seq on reconnect, and
// reconnection with backoff on close (at once after 4008 "too slow"), on onShow and when the
// network returns. Listeners get plain messages: welcome, position, event, media, error, state.
const { backoff } = require('./util.js');

// Closes after which reconnecting would be wrong: replaced by our own newer socket, the session
// is no longer ours to host, or it has ended.
const FINAL = [4001, 4003, 4010];

function wsBase(apiBase) {
  return apiBase.replace(/^http/, 'ws');
}

function createLive(api, sessionId, opts) {
  const o = Object.assign({ pingMs: 15000, backoffMs: 500, backoffCapMs: 10000 }, opts || {});
  const w = api.client.wx;
  const handlers = {};
  let task = null;
  let open = false;
  let stopped = false;
  let outSeq = 0;
  let inSeq = 0;
  let resumeToken = null;
  let roomSeq = 0;
  let attempt = 0;
  let retryTimer = null;
  let pingTimer = null;
  let connecting = false;
  let notLive = 0;
  const pending = [];

  function emit(type, data) {
    (handlers[type] || []).forEach((f) => f(data));
  }

  function setState(s, extra) {
    emit('state', Object.assign({ state: s }, extra));
  }

  function sendNow(type, data) {
    outSeq += 1;
    const env = { v: 1, type, seq: outSeq, ack: inSeq };
    if (data !== undefined) env.data = data;
    task.send({ data: JSON.stringify(env) });
  }

  function send(type, data) {
    if (open) sendNow(type, data);
    else pending.push([type, data]);
  }

  function noteRoomSeq(n) {
    if (typeof n === 'number' && n > roomSeq) roomSeq = n;
  }

  function onMessage(raw) {
    let m;
    try {
      m = JSON.parse(typeof raw.data === 'string' ? raw.data : '');
    } catch (e) {
      return;
    }
    if (typeof m.seq === 'number') inSeq = m.seq;
    const d = m.data || {};
    switch (m.type) {
      case 'welcome':
        resumeToken = d.resume_token;
        noteRoomSeq(d.room_seq);
        attempt = 0;
        emit('welcome', d);
        break;
      case 'ping':
        sendNow('pong');
        break;
      case 'event':
        noteRoomSeq(d.seq);
        emit('event', d);
        break;
      case 'replay':
        (d.events || []).forEach((ev) => {
          noteRoomSeq(ev.seq);
          emit('event', ev);
        });
        break;
      default:
        emit(m.type, d);
    }
  }

  function scheduleReconnect(now) {
    if (stopped || retryTimer || connecting || open) return;
    const wait = now ? 0 : backoff(o.backoffMs, attempt, o.backoffCapMs);
    attempt += 1;
    setState('reconnecting', { in_ms: wait });
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect();
    }, wait);
  }

  async function connect() {
    if (stopped || open || connecting) return;
    connecting = true;
    let ticket;
    try {
      ticket = (await api.ticket(sessionId)).ticket;
    } catch (e) {
      connecting = false;
      emit('error', { code: e.code, message: e.message });
      // Just before (or as) the session goes live: try a few more times, then give up.
      if (e.code === 'session_not_live' && notLive < 5) {
        notLive += 1;
        scheduleReconnect(false);
        return;
      }
      // Over, not ours, or no such session: not a network problem; stop and let the page say so.
      if (e.status === 409 || e.status === 403 || e.status === 404) {
        stopped = true;
        setState('closed', { code: e.code });
      } else {
        scheduleReconnect(false);
      }
      return;
    }
    let url = `${wsBase(api.client.config.apiBase)}/api/v1/live/ws?ticket=${encodeURIComponent(ticket)}`;
    if (resumeToken) url += `&resume=${encodeURIComponent(resumeToken)}&last_seq=${roomSeq}`;
    outSeq = 0;
    inSeq = 0;
    const t = w.connectSocket({ url });
    task = t;
    t.onOpen(() => {
      if (task !== t) return;
      open = true;
      connecting = false;
      setState('open');
      pingTimer = setInterval(() => open && sendNow('ping'), o.pingMs);
      while (pending.length) {
        const [type, data] = pending.shift();
        sendNow(type, data);
      }
    });
    t.onMessage((m) => task === t && onMessage(m));
    t.onError(() => {});
    t.onClose((res) => {
      if (task !== t) return;
      open = false;
      connecting = false;
      clearInterval(pingTimer);
      const code = res && res.code;
      emit('close', { code, reason: res && res.reason });
      if (FINAL.includes(code)) {
        stopped = true;
        setState('closed', { code });
        return;
      }
      // 4008: we fell behind; the place is kept, so come straight back with the resume token.
      scheduleReconnect(code === 4008);
    });
  }

  function onNetwork(res) {
    if (res && res.isConnected && !open) {
      clearTimeout(retryTimer);
      retryTimer = null;
      scheduleReconnect(true);
    }
  }
  if (w.onNetworkStatusChange) w.onNetworkStatusChange(onNetwork);

  return {
    on(type, f) {
      (handlers[type] = handlers[type] || []).push(f);
      return this;
    },
    start() {
      stopped = false;
      connect();
      return this;
    },
    join: (topic) => send('join', topic ? { topic } : {}),
    leave: () => send('leave', {}),
    confirm: () => send('confirm'),
    // The page came back to the foreground: the socket may have died meanwhile.
    onShow() {
      if (!stopped && !open) {
        clearTimeout(retryTimer);
        retryTimer = null;
        scheduleReconnect(true);
      }
    },
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      if (w.offNetworkStatusChange) w.offNetworkStatusChange(onNetwork);
      if (task) task.close({ code: 1000 });
    },
    // For tests: drop the socket as a lost network would.
    task: () => task,
    isOpen: () => open,
    resumeToken: () => resumeToken,
    roomSeq: () => roomSeq,
  };
}

module.exports = { createLive, FINAL };
