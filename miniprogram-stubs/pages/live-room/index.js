// The live room: one socket (utils/live.js) that keeps the place in the queue across lost
// connections. What the resident sees: their place, the estimated wait, the call to confirm,
// and the TRTC configuration once on stage.
const services = require('../../utils/index.js');

const CONN = { open: '已连接', reconnecting: '网络不稳，正在重连…', closed: '已断开' };

Page({
  data: {
    connection: '正在连接…', error: '', joined: false, topic: '',
    position: 0, ahead: 0, waitMinutes: 0, paused: false,
    called: false, onStage: false, media: null, ended: false,
  },
  onLoad(query) {
    this.id = Number(query.id);
    const live = services.createLive(services.get().api, this.id);
    this.live = live;
    live.on('state', (s) => this.setData({ connection: CONN[s.state] || s.state }));
    live.on('welcome', (w) => this.setData({ joined: w.state && w.state !== 'idle' ? true : this.data.joined }));
    live.on('position', (p) => this.setData({
      joined: true, position: p.position, ahead: p.ahead, paused: !!p.paused,
      waitMinutes: Math.max(1, Math.round((p.estimated_wait_secs || 0) / 60)),
    }));
    live.on('event', (ev) => this.onEvent(ev));
    live.on('media', (m) => this.setData({ media: { sdkAppId: m.trtc && m.trtc.sdk_app_id, roomId: m.trtc && m.trtc.room_id, userId: m.trtc && m.trtc.user_id } }));
    live.on('error', (e) => this.setData({ error: e.message || e.code }));
    live.on('close', (c) => {
      if (c.code === 4010) this.setData({ ended: true });
    });
    live.start();
  },
  onEvent(ev) {
    if (ev.event === 'called') this.setData({ called: true });
    if (ev.event === 'on_stage') this.setData({ called: false, onStage: true });
    if (ev.event === 'turn_ended' || ev.event === 'removed') this.setData({ onStage: false, called: false, joined: false });
    if (ev.event === 'left') this.setData({ joined: false });
  },
  onShow() { if (this.live) this.live.onShow(); },
  onUnload() { if (this.live) this.live.stop(); },
  onTopic(e) { this.setData({ topic: e.detail.value }); },
  join() {
    this.setData({ error: '' });
    this.live.join(this.data.topic.trim());
  },
  leave() { this.live.leave(); },
  confirm() { this.live.confirm(); },
});
