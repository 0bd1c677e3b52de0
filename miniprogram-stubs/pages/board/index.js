const services = require('../../utils/index.js');

const STATUS = [
  { value: '', label: '全部' },
  { value: 'processing', label: '办理中' },
  { value: 'replied', label: '已回复' },
  { value: 'closed', label: '已办结' },
];

Page({
  data: {
    items: [],
    loading: true,
    loadingMore: false,
    error: '',
    q: '',
    statuses: STATUS,
    statusIndex: 0,
    categories: [{ id: 0, name: '全部类别' }],
    categoryIndex: 0,
    nextCursor: null,
  },
  onLoad() {
    const { api } = services.get();
    api.categories()
      .then((cats) => this.setData({ categories: [{ id: 0, name: '全部类别' }].concat(cats) }))
      .catch(() => {});
    return this.reload();
  },
  params(cursor) {
    const cat = this.data.categories[this.data.categoryIndex];
    return {
      q: this.data.q.trim(),
      status: STATUS[this.data.statusIndex].value,
      category_id: cat && cat.id ? cat.id : '',
      cursor: cursor || '',
      limit: 20,
    };
  },
  decorate(items) {
    return items.map((i) => Object.assign({}, i, { when: services.util.formatTime(i.created_at) }));
  },
  async reload() {
    this.setData({ loading: true, error: '' });
    try {
      const page = await services.get().api.board(this.params(), { silent: true });
      this.setData({ items: this.decorate(page.items), nextCursor: page.next_cursor, loading: false });
    } catch (e) {
      this.setData({ loading: false, error: e.message || '加载失败' });
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
      const page = await services.get().api.board(this.params(this.data.nextCursor));
      this.setData({ items: this.data.items.concat(this.decorate(page.items)), nextCursor: page.next_cursor });
    } catch (e) {
      // the toast told the user; the list stays as it was
    }
    this.setData({ loadingMore: false });
  },
  onSearch(e) {
    this.setData({ q: e.detail.value || '' });
    return this.reload();
  },
  onStatus(e) {
    this.setData({ statusIndex: Number(e.detail.value) });
    return this.reload();
  },
  onCategory(e) {
    this.setData({ categoryIndex: Number(e.detail.value) });
    return this.reload();
  },
  open(e) {
    wx.navigateTo({ url: `/pages/appeal-detail/index?id=${e.currentTarget.dataset.id}&public=1` });
  },
  write() {
    wx.navigateTo({ url: '/pages/appeal-new/index' });
  },
});
