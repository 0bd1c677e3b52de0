const services = require('../../utils/index.js');
const config = require('../../config.js');

const chars = (s) => Array.from(s || '').length;

// The server's messages are English; a field it names gets its Chinese wording here.
const FIELD_MESSAGE = {
  title: '标题不符合要求（1到100个字）',
  content: '内容不符合要求（1到5000个字）',
  category_id: '请重新选择类别',
  village_id: '请重新选择所在村',
  address: '地址不符合要求',
  contact_phone: '电话号码格式不对（5到20位数字）',
};

Page({
  data: {
    loading: true,
    error: '',
    categories: [],
    villages: [],
    categoryIndex: -1,
    villageIndex: -1,
    title: '',
    content: '',
    address: '',
    contactPhone: '',
    isPublic: true,
    errors: {},
    formError: '',
    similar: [],
    submitting: false,
  },
  onLoad() {
    // One form, one idempotency key: every retry and resubmission of this form reuses it.
    this.form = services.appealForm(services.get().api);
    return this.loadCatalog();
  },
  async loadCatalog() {
    this.setData({ loading: true, error: '' });
    try {
      const { api } = services.get();
      const [categories, villages] = await Promise.all([api.categories(), api.villages()]);
      this.setData({ categories, villages, loading: false });
    } catch (e) {
      this.setData({ loading: false, error: e.message || '加载失败' });
    }
  },
  onCategory(e) { this.setData({ categoryIndex: Number(e.detail.value), 'errors.category_id': '' }); },
  onVillage(e) { this.setData({ villageIndex: Number(e.detail.value), 'errors.village_id': '' }); },
  onTitle(e) { this.setData({ title: e.detail.value, 'errors.title': '' }); },
  onContent(e) { this.setData({ content: e.detail.value, 'errors.content': '' }); },
  onAddress(e) { this.setData({ address: e.detail.value }); },
  onPhone(e) { this.setData({ contactPhone: e.detail.value, 'errors.contact_phone': '' }); },
  onPublic(e) { this.setData({ isPublic: !!e.detail.value }); },
  draft() {
    const d = this.data;
    const cat = d.categories[d.categoryIndex];
    const village = d.villages[d.villageIndex];
    return {
      title: d.title.trim(),
      content: d.content.trim(),
      category_id: cat ? cat.id : undefined,
      village_id: village ? village.id : undefined,
      address: d.address.trim() || undefined,
      contact_phone: d.contactPhone.trim() || undefined,
      is_public: d.isPublic,
    };
  },
  // What the server would refuse anyway, said before a round trip (counted in characters).
  check(draft) {
    const errors = {};
    if (!draft.title) errors.title = '请填写标题';
    else if (chars(draft.title) > 100) errors.title = '标题不能超过100个字';
    if (!draft.content) errors.content = '请写下您反映的问题';
    else if (chars(draft.content) > 5000) errors.content = '内容不能超过5000个字';
    if (!draft.category_id) errors.category_id = '请选择类别';
    if (!draft.village_id) errors.village_id = '请选择所在村';
    return errors;
  },
  async findSimilar() {
    const draft = this.draft();
    if (!draft.category_id || !draft.village_id || chars(draft.content) < 4) return;
    try {
      const similar = await services.get().api.similar(draft);
      this.setData({ similar });
    } catch (e) {
      // suggestions are a help, never a blocker
    }
  },
  // The tap: the consent dialog must be requested first and synchronously, or WeChat refuses it.
  onSubmit() {
    const { asked, result } = services.subscribe.askThen(wx, config.subscribeTemplates.appeal, () => this.submit());
    asked.then((res) => services.subscribe.report(services.get().client, res, config.subscribeTemplates.appeal)).catch(() => {});
    return result;
  },
  async submit() {
    if (this.data.submitting) return null;
    const draft = this.draft();
    const errors = this.check(draft);
    if (Object.keys(errors).length) {
      this.setData({ errors, formError: '请检查标红的内容' });
      return null;
    }
    this.setData({ submitting: true, errors: {}, formError: '' });
    try {
      const appeal = await this.form.submit(draft, { silent: true });
      this.setData({ submitting: false });
      wx.redirectTo({ url: `/pages/appeal-detail/index?id=${appeal.id}` });
      return appeal;
    } catch (e) {
      const patch = { submitting: false, formError: e.network ? e.message : '提交没有成功，请检查后再试' };
      if (e.status === 422 && e.field) {
        patch[`errors.${e.field}`] = FIELD_MESSAGE[e.field] || e.message;
        patch.formError = '请检查标红的内容';
      }
      this.setData(patch);
      return null;
    }
  },
});
