// Live room client shared by the leader's console (console.html) and the resident's page
// (resident.html). Plain JS, no build step. Protocol: README, "Live rooms".
//
// Signalling payloads (inside `signal {payload}`): `{"sdp": RTCSessionDescriptionInit}` for the
// offer (always made by the leader) and the answer, `{"candidates": [RTCIceCandidateInit, …]}`
// for trickled ICE candidates, batched so a burst of candidates stays within the rate limit.
//
// For tests and diagnostics the page exposes `window.minxinLive`: the socket, room and call
// state (`ice` is the RTCPeerConnection's iceConnectionState), `framesDecoded()` (inbound video
// frames decoded so far) and `stats()`.
(function () {
  'use strict';

  const page = document.body.dataset.page; // "console" or "resident"
  const params = new URLSearchParams(location.search);
  const ticket = params.get('ticket');
  const topic = params.get('topic');
  // The ticket is single use: keep it out of the address bar and the history.
  if (ticket) history.replaceState(null, '', location.pathname);

  const $ = (id) => document.getElementById(id);
  const now = () => Date.now();

  const CLOSE_REASONS = {
    1000: '连接已关闭',
    1009: '消息过大',
    4001: '您已在其他页面打开，本页已断开',
    4002: '长时间无响应，连接已断开',
    4008: '网络过慢，连接已断开',
    4009: '操作过于频繁，连接已断开',
    4010: '本场直播已结束',
  };

  const live = {
    page,
    socket: 'connecting', // connecting | open | closed
    closeCode: null,
    role: null,
    userId: null,
    sessionId: null,
    you: null, // idle | waiting | called | on_stage | host
    position: null,
    queue: null,
    media: null,
    localMedia: 'pending', // pending | ok | error:<name>
    ice: 'new',
    connection: 'new',
    peer: null, // who the call is with: a resident's user id (console) or "leader"
    error: null,
    times: {}, // epoch ms: welcome, onStage, offer, answer, iceConnected, firstFrame
    log: [],
    framesDecoded,
    stats,
    send,
    callNext: () => send('call_next'),
    call: (userId) => send('call', { user_id: userId }),
    skip: () => send('skip'),
    defer: (userId) => send('defer', { user_id: userId }),
    remove: (userId) => send('remove', { user_id: userId }),
    extend: (secs) => send('extend', { secs }),
    endTurn: () => send('end_turn'),
    pause: () => send('pause'),
    resume: () => send('resume'),
    leave: () => send('leave'),
  };
  window.minxinLive = live;

  function note(text) {
    const entry = new Date().toLocaleTimeString() + ' ' + text;
    live.log.push(entry);
    if (live.log.length > 200) live.log.shift();
    const ol = $('log');
    if (ol) {
      const li = document.createElement('li');
      li.textContent = entry;
      ol.prepend(li);
      while (ol.children.length > 50) ol.lastChild.remove();
    }
  }

  function fail(where, err) {
    const msg = where + ': ' + (err && err.message ? err.message : String(err));
    live.error = { code: 'client', message: msg };
    note('错误 ' + msg);
    render();
  }

  // ---- The control socket ---------------------------------------------------------------

  let ws = null;
  let outSeq = 0;
  let inSeq = 0;
  // Client-side pacing, under the server's limit (20 a second, bursts of 40).
  const outbox = [];
  let tokens = 10;
  let refilled = performance.now();
  let flushTimer = null;

  function send(type, data) {
    outbox.push([type, data]);
    flush();
  }

  function flush() {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const t = performance.now();
    tokens = Math.min(10, tokens + (t - refilled) / 100);
    refilled = t;
    while (outbox.length && tokens >= 1) {
      tokens -= 1;
      const [type, data] = outbox.shift();
      outSeq += 1;
      const m = { v: 1, seq: outSeq, ack: inSeq, type };
      if (data !== undefined) m.data = data;
      ws.send(JSON.stringify(m));
    }
    if (outbox.length && !flushTimer) {
      flushTimer = setTimeout(() => {
        flushTimer = null;
        flush();
      }, 100);
    }
  }

  function connect() {
    if (!ticket) {
      live.socket = 'closed';
      live.error = { code: 'no_ticket', message: '缺少入场票据（ticket）' };
      render();
      return;
    }
    const url = new URL('../api/v1/live/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = '?ticket=' + encodeURIComponent(ticket);
    ws = new WebSocket(url.href);
    ws.onopen = () => {
      live.socket = 'open';
      render();
      flush();
    };
    ws.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (typeof m.seq === 'number') inSeq = Math.max(inSeq, m.seq);
      try {
        handle(m);
      } catch (e) {
        fail('handle ' + m.type, e);
      }
      render();
    };
    ws.onclose = (ev) => {
      live.socket = 'closed';
      live.closeCode = ev.code;
      note('连接断开 ' + ev.code + (ev.reason ? ' ' + ev.reason : ''));
      closePeer();
      render();
    };
  }

  function handle(m) {
    const d = m.data || {};
    switch (m.type) {
      case 'welcome':
        live.role = d.role;
        live.userId = d.user_id;
        live.sessionId = d.session_id;
        live.you = d.state;
        live.times.welcome = now();
        note('已连接，身份 ' + d.role);
        if (page === 'resident' && d.role !== 'resident') {
          fail('welcome', new Error('这张票据不是群众票据'));
        } else if (page === 'console' && d.role === 'resident') {
          fail('welcome', new Error('这张票据不是主持人票据'));
        }
        if (d.role === 'resident') {
          ensureLocal();
          if (d.state === 'idle') send('join', topic ? { topic } : {});
          if (d.state === 'called') send('confirm');
        } else if (d.role === 'leader') {
          ensureLocal();
        }
        break;
      case 'position':
        live.position = d;
        if (live.you === 'idle') live.you = 'waiting';
        break;
      case 'queue':
        live.queue = d;
        if (d.stage && d.stage.phase === 'on_stage') {
          onStage(d.stage.user_id);
        } else if (live.role === 'leader' && live.peer !== null && !d.stage) {
          closePeer();
        }
        break;
      case 'event':
        onEvent(d);
        break;
      case 'replay':
        (d.events || []).forEach(onEvent);
        break;
      case 'media':
        live.media = d;
        note('收到媒体参数（' + (d.ice_servers || []).length + ' 组 ICE 服务器）');
        maybeOffer();
        drainSignals();
        break;
      case 'signal':
        onSignal(d.from, d.payload || {});
        break;
      case 'error':
        live.error = d;
        note('错误 ' + d.code + '：' + d.message);
        break;
      case 'ping':
        send('pong');
        break;
      default:
        break;
    }
  }

  let stageUser = null;

  function onStage(userId) {
    stageUser = userId;
    if (live.role === 'resident' && userId === live.userId) live.you = 'on_stage';
    if (!live.times.onStage) live.times.onStage = now();
    maybeOffer();
  }

  function onEvent(e) {
    const mine = e.user_id !== undefined && e.user_id === live.userId;
    note(describe(e));
    switch (e.event) {
      case 'joined':
        if (mine) live.you = 'waiting';
        break;
      case 'called':
        if (mine) {
          live.you = 'called';
          send('confirm');
        }
        break;
      case 'on_stage':
        onStage(e.user_id);
        break;
      case 'deferred':
        if (mine) live.you = 'waiting';
        break;
      case 'turn_ended':
      case 'removed':
      case 'left':
      case 'dropped':
        if (mine) {
          live.you = 'idle';
          live.position = null;
        }
        if (e.user_id === stageUser) stageUser = null;
        if (mine || (live.role === 'leader' && e.user_id === live.peer)) closePeer();
        break;
      case 'session_ended':
        stageUser = null;
        closePeer();
        break;
      default:
        break;
    }
  }

  function describe(e) {
    const who = e.user_id === live.userId ? '您' : '用户 ' + e.user_id;
    switch (e.event) {
      case 'joined': return who + ' 加入排队';
      case 'left': return who + ' 退出排队';
      case 'removed': return who + ' 被移出排队';
      case 'called': return '叫号：' + who;
      case 'on_stage': return who + ' 开始发言';
      case 'deferred': return who + ' 未应答，后移到第 ' + e.position + ' 位';
      case 'dropped': return who + ' 未应答，已移出';
      case 'turn_warning': return who + ' 的发言还剩 ' + e.secs_left + ' 秒';
      case 'turn_extended': return who + ' 的发言已延长';
      case 'turn_ended': return who + ' 的发言结束（' + e.reason + '）';
      case 'away': return who + ' 暂时离线';
      case 'back': return who + ' 已回来';
      case 'paused': return '排队已暂停';
      case 'resumed': return '排队已恢复';
      case 'session_ended': return '本场直播已结束';
      default: return e.event;
    }
  }

  // ---- Media ----------------------------------------------------------------------------

  let localStream = null;
  let localPromise = null;

  function ensureLocal() {
    if (!localPromise) {
      localPromise = (async () => {
        try {
          localStream = await navigator.mediaDevices.getUserMedia({
            audio: true,
            video: { width: { ideal: 640 }, height: { ideal: 480 } },
          });
          live.localMedia = 'ok';
          $('local').srcObject = localStream;
        } catch (e) {
          live.localMedia = 'error:' + (e && e.name ? e.name : String(e));
          note('无法打开摄像头或麦克风：' + live.localMedia);
        }
        render();
        return localStream;
      })();
    }
    return localPromise;
  }

  let pc = null;
  let pendingRemote = []; // candidates that arrived before the remote description
  let outCandidates = [];
  let candidateTimer = null;
  let signals = []; // signals that arrived before the media grant
  let chain = Promise.resolve();
  let offering = false;

  function iceServers() {
    const servers = (live.media && live.media.ice_servers) || [];
    return servers.map((s) => {
      const out = { urls: s.urls };
      if (s.username) out.username = s.username;
      if (s.credential) out.credential = s.credential;
      return out;
    });
  }

  function newPeer(peer) {
    closePeer();
    let conn;
    try {
      conn = new RTCPeerConnection({ iceServers: iceServers() });
    } catch (e) {
      note('ICE 服务器参数无效，改用直连：' + e.message);
      conn = new RTCPeerConnection();
    }
    pc = conn;
    live.peer = peer;
    live.ice = conn.iceConnectionState;
    live.connection = conn.connectionState;
    conn.onicecandidate = (ev) => {
      if (ev.candidate && pc === conn) queueCandidate(ev.candidate.toJSON());
    };
    conn.oniceconnectionstatechange = () => {
      if (pc !== conn) return;
      live.ice = conn.iceConnectionState;
      if ((live.ice === 'connected' || live.ice === 'completed') && !live.times.iceConnected) {
        live.times.iceConnected = now();
      }
      note('ICE ' + live.ice);
      if (live.ice === 'failed' && live.role === 'leader') restartIce(conn);
      render();
    };
    conn.onconnectionstatechange = () => {
      if (pc !== conn) return;
      live.connection = conn.connectionState;
      render();
    };
    conn.ontrack = (ev) => {
      if (pc !== conn) return;
      const video = $('remote');
      const stream = ev.streams[0] || new MediaStream([ev.track]);
      if (video.srcObject !== stream) {
        video.srcObject = stream;
        video.play().catch(() => {
          const btn = $('play');
          btn.hidden = false;
        });
      }
    };
    if (localStream) {
      localStream.getTracks().forEach((t) => conn.addTrack(t, localStream));
    } else {
      // Without a camera the call still receives.
      conn.addTransceiver('audio', { direction: 'recvonly' });
      conn.addTransceiver('video', { direction: 'recvonly' });
    }
    render();
    return conn;
  }

  function closePeer() {
    if (pc) {
      pc.close();
      pc = null;
      live.ice = 'closed';
      live.connection = 'closed';
    }
    live.peer = null;
    pendingRemote = [];
    outCandidates = [];
    signals = [];
    const video = $('remote');
    if (video) video.srcObject = null;
  }

  function queueCandidate(c) {
    outCandidates.push(c);
    if (!candidateTimer) {
      candidateTimer = setTimeout(() => {
        candidateTimer = null;
        const batch = outCandidates.splice(0);
        if (batch.length) send('signal', { payload: { candidates: batch } });
      }, 50);
    }
  }

  // The leader makes the offer once someone is on stage and the media grant has arrived.
  function maybeOffer() {
    if (live.role !== 'leader' || stageUser === null || !live.media || offering) return;
    if (pc && live.peer === stageUser) return;
    offering = true;
    const user = stageUser;
    (async () => {
      await ensureLocal();
      if (stageUser !== user) return;
      const conn = newPeer(user);
      const offer = await conn.createOffer();
      await conn.setLocalDescription(offer);
      if (pc !== conn) return;
      live.times.offer = now();
      send('signal', { payload: { sdp: conn.localDescription.toJSON() } });
      note('已向用户 ' + user + ' 发起视频通话');
    })()
      .catch((e) => fail('offer', e))
      .finally(() => {
        offering = false;
        if (stageUser !== null && !(pc && live.peer === stageUser)) maybeOffer();
      });
  }

  async function restartIce(conn) {
    try {
      const offer = await conn.createOffer({ iceRestart: true });
      await conn.setLocalDescription(offer);
      if (pc === conn) send('signal', { payload: { sdp: conn.localDescription.toJSON() } });
    } catch (e) {
      fail('ice restart', e);
    }
  }

  function onSignal(from, payload) {
    const expected = live.role === 'leader' ? 'stage' : 'leader';
    if (from !== expected) return;
    if (!live.media && live.role === 'resident') {
      signals.push(payload);
      return;
    }
    chain = chain.then(() => applySignal(payload)).catch((e) => fail('signal', e));
  }

  function drainSignals() {
    const queued = signals.splice(0);
    queued.forEach((p) => onSignal(live.role === 'leader' ? 'stage' : 'leader', p));
  }

  async function applySignal(payload) {
    if (payload.sdp) {
      const desc = payload.sdp;
      if (desc.type === 'offer' && live.role === 'resident') {
        await ensureLocal();
        const conn = pc || newPeer('leader');
        await conn.setRemoteDescription(desc);
        await addPending(conn);
        const answer = await conn.createAnswer();
        await conn.setLocalDescription(answer);
        if (pc !== conn) return;
        live.times.answer = now();
        send('signal', { payload: { sdp: conn.localDescription.toJSON() } });
      } else if (desc.type === 'answer' && live.role === 'leader' && pc) {
        if (pc.signalingState !== 'have-local-offer') return;
        const conn = pc;
        await conn.setRemoteDescription(desc);
        live.times.answer = now();
        await addPending(conn);
      }
    }
    if (Array.isArray(payload.candidates)) {
      for (const c of payload.candidates) {
        if (pc && pc.remoteDescription) {
          await pc.addIceCandidate(c);
        } else {
          pendingRemote.push(c);
        }
      }
    }
  }

  async function addPending(conn) {
    const queued = pendingRemote.splice(0);
    for (const c of queued) await conn.addIceCandidate(c);
  }

  async function framesDecoded() {
    if (!pc) return 0;
    const report = await pc.getStats();
    let n = 0;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && (s.kind || s.mediaType) === 'video') n += s.framesDecoded || 0;
    });
    if (n > 0 && !live.times.firstFrame) live.times.firstFrame = now();
    return n;
  }

  async function stats() {
    if (!pc) return null;
    const report = await pc.getStats();
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    const out = {
      ice: live.ice,
      connection: live.connection,
      inbound: { framesDecoded: 0, framesReceived: 0, bytesReceived: 0, frameWidth: 0 },
      outbound: { framesEncoded: 0, framesSent: 0, bytesSent: 0 },
      pair: null,
    };
    let pair = null;
    report.forEach((s) => {
      const kind = s.kind || s.mediaType;
      if (s.type === 'inbound-rtp' && kind === 'video') {
        out.inbound.framesDecoded += s.framesDecoded || 0;
        out.inbound.framesReceived += s.framesReceived || 0;
        out.inbound.bytesReceived += s.bytesReceived || 0;
        out.inbound.frameWidth = Math.max(out.inbound.frameWidth, s.frameWidth || 0);
      }
      if (s.type === 'outbound-rtp' && kind === 'video') {
        out.outbound.framesEncoded += s.framesEncoded || 0;
        out.outbound.framesSent += s.framesSent || 0;
        out.outbound.bytesSent += s.bytesSent || 0;
      }
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
    });
    if (!pair) {
      report.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
      });
    }
    const cand = (id) => {
      const c = byId.get(id);
      return c ? { address: c.address, port: c.port, protocol: c.protocol, type: c.candidateType } : null;
    };
    if (pair) {
      out.pair = {
        local: cand(pair.localCandidateId),
        remote: cand(pair.remoteCandidateId),
        rttMs: pair.currentRoundTripTime !== undefined ? Math.round(pair.currentRoundTripTime * 1000) : null,
      };
    }
    return out;
  }

  // ---- The page ---------------------------------------------------------------------------

  const ICE_WORDS = {
    new: '未开始', checking: '正在接通', connected: '已接通', completed: '已接通',
    disconnected: '网络中断，正在恢复', failed: '接通失败', closed: '已结束',
  };

  function render() {
    const status = $('status');
    if (status) {
      let s;
      if (live.error) s = '出错：' + live.error.message;
      else if (live.socket === 'connecting') s = '正在连接…';
      else if (live.socket === 'closed') s = CLOSE_REASONS[live.closeCode] || '连接已断开（' + live.closeCode + '），请重新进入';
      else s = '已连接' + (live.sessionId ? ' · 场次 ' + live.sessionId : '');
      if (live.localMedia.startsWith('error')) s += ' · 摄像头不可用';
      status.textContent = s;
    }
    const call = $('call');
    if (call) call.textContent = '通话：' + (pc ? ICE_WORDS[live.ice] || live.ice : '未开始');
    if (page === 'resident') renderResident();
    else renderConsole();
  }

  function renderResident() {
    const el = $('position');
    if (!el) return;
    const p = live.position;
    let text;
    switch (live.you) {
      case 'called': text = '轮到您了，正在接通…'; break;
      case 'on_stage': text = '正在与领导通话'; break;
      case 'waiting':
        if (!p) text = '正在排队…';
        else if (p.paused) text = '排队暂停中，您是第 ' + p.position + ' 位';
        else if (p.ahead === 0) text = '下一位就是您，请做好准备';
        else text = '您前面还有 ' + p.ahead + ' 人，预计等待约 ' + Math.max(1, Math.round(p.estimated_wait_secs / 60)) + ' 分钟';
        break;
      case 'idle': text = live.socket === 'open' ? '您已不在队列中' : '正在连接…'; break;
      default: text = '正在连接…';
    }
    el.textContent = text;
    const leave = $('leave');
    if (leave) leave.disabled = !(live.you === 'waiting' || live.you === 'called');
  }

  function renderConsole() {
    const q = live.queue;
    const stage = $('stage');
    if (stage) {
      if (q && q.stage) {
        const st = q.stage;
        stage.textContent = '用户 ' + st.user_id + (st.topic ? '：' + st.topic : '') +
          (st.phase === 'called' ? '（已叫号，等待确认）' : '（发言中）') + (st.away ? ' · 离线' : '');
      } else {
        stage.textContent = '暂无';
      }
    }
    const caption = $('remote-caption');
    if (caption) caption.textContent = live.peer !== null ? '群众（用户 ' + live.peer + '）' : '群众';
    const host = live.role === 'leader' || live.role === 'moderator';
    const set = (id, on) => { const b = $(id); if (b) b.disabled = !on; };
    const waiting = q ? q.waiting.length : 0;
    set('call-next', host && q && !q.stage && waiting > 0);
    set('skip', host && q && q.stage && q.stage.phase === 'called');
    set('extend', host && q && q.stage && q.stage.phase === 'on_stage');
    set('end-turn', host && q && q.stage);
    set('pause', host && q);
    set('end-session', host);
    const pause = $('pause');
    if (pause) pause.textContent = q && q.paused ? '恢复排队' : '暂停排队';
    const count = $('queue-count');
    if (count) count.textContent = q ? '（' + waiting + ' 人，已服务 ' + q.served + ' 人）' : '';
    const ol = $('queue');
    if (!ol || !q) return;
    ol.replaceChildren();
    q.waiting.forEach((item) => {
      const li = document.createElement('li');
      li.append('用户 ' + item.user_id + '：' + (item.topic || '（未填写议题）'));
      const tag = (t) => { const s = document.createElement('span'); s.className = 'tag'; s.textContent = t; li.append(s); };
      if (item.registered) tag('预约');
      if (item.deferred) tag('已后移');
      if (item.away) tag('离线');
      if (host) {
        [['call', '叫号'], ['defer', '后移'], ['remove', '移出']].forEach(([action, label]) => {
          const b = document.createElement('button');
          b.type = 'button';
          b.textContent = label;
          b.dataset.action = action;
          b.dataset.user = String(item.user_id);
          li.append(b);
        });
      }
      ol.append(li);
    });
  }

  function wire() {
    const on = (id, f) => { const b = $(id); if (b) b.addEventListener('click', f); };
    on('call-next', () => live.callNext());
    on('skip', () => live.skip());
    on('extend', () => live.extend(120));
    on('end-turn', () => live.endTurn());
    on('pause', () => (live.queue && live.queue.paused ? live.resume() : live.pause()));
    on('end-session', () => {
      if (window.confirm('确定结束本场直播吗？')) send('end_session');
    });
    on('leave', () => live.leave());
    on('play', () => {
      $('play').hidden = true;
      $('remote').play().catch(() => {});
    });
    const queue = $('queue');
    if (queue) {
      queue.addEventListener('click', (ev) => {
        const b = ev.target.closest('button[data-action]');
        if (!b) return;
        const user = Number(b.dataset.user);
        if (b.dataset.action === 'call') live.call(user);
        if (b.dataset.action === 'defer') live.defer(user);
        if (b.dataset.action === 'remove') live.remove(user);
      });
    }
  }

  wire();
  render();
  connect();
})();
