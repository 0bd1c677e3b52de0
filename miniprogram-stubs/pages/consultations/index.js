// Opinion collection: the API (issue 9) is not on the server yet; until it is, this page shows
// its error state rather than pretending.
const services = require('../../utils/index.js');

Page({
  data: { loading: true, error: '', items: [] },
  onLoad() { return this.reload(); },
  async reload() {
    this.setData({ loading: true, error: '' });
    try {
      const page = await services.get().consult.list({}, { silent: true });
      const items = (page.items || page || []).map((c) => Object.assign({}, c, { closes: services.util.formatTime(c.closes_at) }));
      this.setData({ loading: false, items });
    } catch (e) {
      this.setData({ loading: false, error: e.status === 404 ? '意见征集暂未开放' : e.message });
    }
  },
  async onPullDownRefresh() {
    await this.reload();
    wx.stopPullDownRefresh();
  },
  open(e) { wx.navigateTo({ url: `/pages/consultation/index?id=${e.currentTarget.dataset.id}` }); },
});
