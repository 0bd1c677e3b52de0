const services = require('../../utils/index.js');

const STATE = {
  submitted: '已提交', held_for_review: '审核中', info_requested: '需补充材料', accepted: '已受理',
  assigned: '已交办', signed: '办理中', returned: '退回中心', replied: '待审核回复', published: '已回复',
  rated_unsatisfied: '不满意待处理', reopened: '重新办理', closed: '已办结', rejected: '不予受理', merged: '已合并',
};
const ACTION = {
  submit: '提交', hold: '待审核', release: '审核通过', accept: '受理', reject: '不予受理', request_info: '请补充材料',
  provide_info: '补充材料', merge: '合并', assign: '交办', reassign: '重新交办', sign: '签收', return: '退回',
  request_extension: '申请延期', approve_extension: '同意延期', refuse_extension: '不同意延期', reply: '答复',
  approve_reply: '回复发布', send_back: '退回修改', rate: '评价', reopen: '重新办理', close: '办结',
  mark_overdue: '超期', escalate: '督办', auto_close: '自动办结',
};
const RATINGS = [
  { value: 'satisfied', label: '满意' },
  { value: 'basically_satisfied', label: '基本满意' },
  { value: 'unsatisfied', label: '不满意' },
];

Page({
  data: {
    loading: true, error: '', appeal: null, stateLabel: '', timeline: [], canRate: false,
    ratings: RATINGS, rating: '', solved: true, comment: '', rating_error: '', rating_sent: false,
    isPublic: false,
  },
  onLoad(query) {
    this.id = Number(query.id);
    this.setData({ isPublic: query.public === '1' });
    return this.load();
  },
  async onPullDownRefresh() {
    await this.load();
    wx.stopPullDownRefresh();
  },
  async load() {
    this.setData({ loading: true, error: '' });
    const { api } = services.get();
    try {
      const a = this.data.isPublic ? await api.boardItem(this.id, { silent: true }) : await api.appeal(this.id);
      const timeline = (a.timeline || []).map((ev) => ({
        label: ACTION[ev.action] || ev.action,
        reason: ev.reason || '',
        when: services.util.formatTime(ev.created_at),
      }));
      this.appeal = a;
      this.setData({
        loading: false,
        appeal: a,
        stateLabel: STATE[a.state] || a.status || '',
        timeline,
        canRate: (a.allowed_actions || []).includes('rate'),
      });
    } catch (e) {
      this.setData({ loading: false, error: e.status === 404 ? '没有找到这条诉求' : e.message });
    }
  },
  pick(e) { this.setData({ rating: e.currentTarget.dataset.value, rating_error: '' }); },
  onSolved(e) { this.setData({ solved: !!e.detail.value }); },
  onComment(e) { this.setData({ comment: e.detail.value }); },
  async rate() {
    if (!this.data.rating) {
      this.setData({ rating_error: '请选择满意程度' });
      return null;
    }
    try {
      const a = await services.get().api.rate(this.appeal, this.data.rating, this.data.solved, this.data.comment.trim());
      this.setData({ rating_sent: true });
      await this.load();
      return a;
    } catch (e) {
      this.setData({ rating_error: e.code === 'version_conflict' ? '情况有变化，已为您刷新' : e.message });
      if (e.code === 'version_conflict') await this.load();
      return null;
    }
  },
});
