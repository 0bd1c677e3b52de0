// Opinion collection: the open consultations (those for the resident's village first) and
// whether their outcome is out.
const services = require('../../utils/index.js');

const PHASE = { upcoming: '尚未开始', open: '征集中', closed: '已截止' };

Page({
  data: { loading: true, error: '', items: [] },
  onLoad() { return this.reload(); },
  async reload() {
    this.setData({ loading: true, error: '' });
    try {
      const list = await services.get().consult.list({}, { silent: true });
      const items = (list || []).map((c) => Object.assign({}, c, {
        closes: c.closes_at_local || services.util.formatTime(c.closes_at),
        phaseLabel: c.state === 'withdrawn' ? '已撤回' : (PHASE[c.phase] || ''),
      }));
      this.setData({ loading: false, items });
    } catch (e) {
      this.setData({ loading: false, error: e.message });
    }
  },
  async onPullDownRefresh() {
    await this.reload();
    wx.stopPullDownRefresh();
  },
  open(e) { wx.navigateTo({ url: `/pages/consultation/index?id=${e.currentTarget.dataset.id}` }); },
});
