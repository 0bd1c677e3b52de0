// Renders three pages with real server data (as pages.test.js does) and photographs them in
// Debian's Chromium at 375 px wide: node test/screenshots.js [docs]. Not a test; the pictures
// are kept under docs/ for the README and the issue's closing note.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { openPage, until, ROOT } = require('./page-harness.js');
const { createWx } = require('./wx-shim.js');
const { startServer, http } = require('./server.js');
const { catalog, publish, liveSession } = require('./helpers.js');
const services = require('../utils/index.js');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// What WeChat's own base styles give the built-in components (the simulator renders tags only).
const BASE = `
html { font-size: 16px; }
body { margin: 0; width: 375px; font-family: "Noto Sans CJK SC", sans-serif; }
wx-view, wx-picker, wx-radio-group, wx-checkbox-group, wx-label { display: block; }
wx-text { display: inline; }
wx-page-meta { display: none; }
wx-button { display: block; box-sizing: border-box; text-align: center; border-radius: 5px; background: #f8f8f8;
  border: 1px solid rgba(0,0,0,.2); padding: 0 14px; }
wx-input, wx-textarea { display: block; min-height: 1.4em; }
wx-textarea { min-height: 90px; }
wx-switch { display: inline-block; width: 52px; height: 32px; border-radius: 16px; background: #04be02; margin-right: 8px; vertical-align: middle; }
`;

let n = 0;
function asResident(base) {
  n += 1;
  global.wx = createWx(`shot${process.pid}u${n}`);
  services.reset({ wx: global.wx, apiBase: base, backoffMs: 50 });
}

// app.wxss and the page's wxss, class names prefixed as the simulator renders them, `page` as
// the body, and rpx at 375 px wide (750 rpx = 375 px).
function css(pageName) {
  const wxss = require('miniprogram-simulate/src/wxss');
  return ['app.wxss', `pages/${pageName}/index.wxss`]
    .map((f) => wxss.compile(wxss.getContent(path.join(ROOT, f)), { prefix: 'main' }))
    .join('\n')
    .replace(/(^|[}\s,])page(?=[\s{,])/g, '$1body')
    .replace(/(\d+(?:\.\d+)?)rpx/g, (_, v) => `${Number(v) / 2}px`);
}

async function shoot(outDir, name, page, pageName) {
  const styles = css(pageName || name);
  const html = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>${BASE}\n${styles}</style></head><body>${page.comp.dom.outerHTML}</body></html>`;
  const file = path.join(outDir, `${name}.html`);
  fs.writeFileSync(file, html);
  execFileSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=375,812',
    `--screenshot=${path.join(outDir, `${name}.png`)}`, `file://${file}`], { stdio: 'ignore' });
  fs.unlinkSync(file);
}

async function main() {
  const outDir = path.resolve(process.argv[2] || path.join(ROOT, 'docs'));
  fs.mkdirSync(outDir, { recursive: true });
  const srv = await startServer();
  try {
    const h = http(srv.base);
    const { category, village } = await catalog(h);
    asResident(srv.base);
    const seed = [
      ['石门村饮水管道破裂', '石门村三组饮水管道破裂三天了，全组停水，请尽快修复。联系人电话13812345678。', '县水务局已派人抢修，管道已于当日更换，恢复供水。'],
      ['通村路塌方', '白岩村通村路雨后塌方，车辆无法通行，孩子上学要绕远路。', '交通运输局已安排施工，预计本周内恢复通行。'],
    ];
    for (const [title, content, reply] of seed) {
      const a = await services.get().api.submitAppeal({ title, content, category_id: category.id, village_id: village.id }, services.util.newKey());
      await publish(h, a.id, reply);
    }
    const board = await openPage('board');
    await until(() => !board.page.data.loading);
    await shoot(outDir, 'board', board);

    asResident(srv.base);
    const form = await openPage('appeal-new');
    await until(() => !form.page.data.loading);
    form.page.onCategory({ detail: { value: 0 } });
    form.page.onVillage({ detail: { value: 0 } });
    form.page.onTitle({ detail: { value: '路灯不亮' } });
    form.page.onPhone({ detail: { value: '1234' } });
    await form.page.onSubmit(); // no content: our own check
    form.page.onContent({ detail: { value: '石门村三组路灯坏了一个月。' } });
    await form.page.onSubmit(); // the server's 422 on the phone
    await shoot(outDir, 'appeal-new', form);

    const session = await liveSession(h, srv.date);
    asResident(srv.base);
    const first = await openPage('live-room', { id: String(session.id) });
    first.page.join();
    await until(() => first.page.data.position === 1);
    asResident(srv.base);
    const room = await openPage('live-room', { id: String(session.id) });
    room.page.join();
    await until(() => room.page.data.position === 2);
    await shoot(outDir, 'live-room', room);
    room.page.onUnload();
    first.page.onUnload();
  } finally {
    await srv.stop();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
