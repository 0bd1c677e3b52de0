const services = require('../../utils/index.js');

const STATE = {
  submitted: '已提交', held_for_review: '审核中', info_requested: '需补充材料', accepted: '已受理',
  assigned: '已交办', signed: '办理中', returned: '办理中', replied: '办理中', published: '已回复，待评价',
  rated_unsatisfied: '不满意待处理', reopened: '重新办理', closed: '已办结', rejected: '不予受理', merged: '已合并',
};

Page({
  data: { loading: true, error: '', items: [], nextCursor: null, loadingMore: false },
  onLoad() { return this.reload(); },
  onShow() {
    // Coming back from a new appeal or a rating: show the latest.
    if (this.loaded) this.reload();
  },
  decorate(items) {
    return items.map((a) => Object.assign({}, a, { stateLabel: STATE[a.state] || a.state, when: services.util.formatTime(a.created_at) }));
  },
  async reload() {
    this.setData({ loading: true, error: '' });
    try {
      const page = await services.get().api.myAppeals({ limit: 20 });
      this.loaded = true;
      this.setData({ loading: false, items: this.decorate(page.items), nextCursor: page.next_cursor });
    } catch (e) {
      this.setData({ loading: false, error: e.message });
    }
  },
  async onPullDownRefresh() {
    await this.reload();
    wx.stopPullDownRefresh();
  },
  async onReachBottom() {
    if (!this.data.nextCursor || this.data.loadingMore) return;
    this.setData({ loadingMore: true });
    try {
      const page = await services.get().api.myAppeals({ limit: 20, cursor: this.data.nextCursor });
      this.setData({ items: this.data.items.concat(this.decorate(page.items)), nextCursor: page.next_cursor });
    } catch (e) {
      // toast shown
    }
    this.setData({ loadingMore: false });
  },
  open(e) { wx.navigateTo({ url: `/pages/appeal-detail/index?id=${e.currentTarget.dataset.id}` }); },
  write() { wx.navigateTo({ url: '/pages/appeal-new/index' }); },
  profile() { wx.navigateTo({ url: '/pages/profile/index' }); },
});
