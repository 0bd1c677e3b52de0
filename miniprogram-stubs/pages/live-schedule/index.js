const services = require('../../utils/index.js');
const config = require('../../config.js');

const STATUS = { scheduled: '未开始', live: '直播中', ended: '已结束', cancelled: '已取消', missed: '未举行' };

Page({
  data: { loading: true, error: '', sessions: [], topics: {}, notice: '' },
  onLoad() { return this.reload(); },
  async reload() {
    this.setData({ loading: true, error: '' });
    try {
      const { api } = services.get();
      const [list, mine] = await Promise.all([api.liveSessions(), api.myRegistrations().catch(() => [])]);
      const registered = new Set((mine.items || mine || []).map((r) => r.session_id));
      const sessions = (list.items || list).map((s) => Object.assign({}, s, {
        statusLabel: STATUS[s.status] || s.status,
        leaderName: s.leader ? `${s.leader.display_name}（${s.leader.title}）` : '待定',
        registered: registered.has(s.id),
      }));
      this.setData({ loading: false, sessions });
    } catch (e) {
      this.setData({ loading: false, error: e.message });
    }
  },
  async onPullDownRefresh() {
    await this.reload();
    wx.stopPullDownRefresh();
  },
  onTopic(e) { this.setData({ [`topics.${e.currentTarget.dataset.id}`]: e.detail.value }); },
  // The tap asks for the reminder consent first, synchronously, then registers.
  onRegister(e) {
    const id = e.currentTarget.dataset.id;
    const templates = config.subscribeTemplates.live;
    const { asked, result } = services.subscribe.askThen(wx, templates, () => this.register(id));
    asked.then((res) => services.subscribe.report(services.get().client, res, templates)).catch(() => {});
    return result;
  },
  async register(id) {
    const topic = (this.data.topics[id] || '').trim();
    if (!topic) {
      this.setData({ notice: '请先写下想反映的问题' });
      return;
    }
    try {
      await services.get().api.register(id, topic);
      this.setData({ notice: '报名成功，开播前会提醒您' });
      await this.reload();
    } catch (e) {
      this.setData({ notice: e.message });
    }
  },
  enter(e) { wx.navigateTo({ url: `/pages/live-room/index?id=${e.currentTarget.dataset.id}` }); },
});
