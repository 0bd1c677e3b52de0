// Who I am, my phone number (bound through WeChat: POST /me/phone answers it masked) and
// which notifications I will get.
const services = require('../../utils/index.js');
const config = require('../../config.js');

const ROLE = { resident: '群众', handler: '部门办理员', leader: '领导', office: '中心工作人员', admin: '管理员' };

Page({
  data: { loading: true, error: '', me: null, roleLabel: '', phone: '', notice: '' },
  onLoad() { return this.load(); },
  async load() {
    this.setData({ loading: true, error: '' });
    try {
      const me = await services.get().api.me();
      this.setData({ loading: false, me, roleLabel: ROLE[me.role] || me.role, phone: '' });
    } catch (e) {
      this.setData({ loading: false, error: e.message });
    }
  },
  async onPhone(e) {
    if (!e.detail || !e.detail.code) {
      this.setData({ notice: '未授权手机号' });
      return;
    }
    try {
      const r = await services.subscribe.bindPhone(services.get().client, e.detail.code);
      this.setData({ phone: r.phone_masked, notice: '手机号已绑定' });
    } catch (err) {
      this.setData({ notice: err.message });
    }
  },
  // Asks again for every template; WeChat lets the user keep choosing "always".
  onNotifications() {
    const templates = config.subscribeTemplates.appeal.concat(config.subscribeTemplates.live);
    const { asked } = services.subscribe.askThen(wx, templates, () => null);
    return asked.then((res) => services.subscribe.report(services.get().client, res, templates))
      .then(() => this.setData({ notice: '通知设置已更新' }))
      .catch((err) => this.setData({ notice: err.message }));
  },
});
