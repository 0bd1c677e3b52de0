// Static checks: every WXML and WXSS compiled by WeChat's own compilers (wcc and wcsc, shipped
// in the `miniprogram-compiler` npm package that miniprogram-simulate uses), and every JSON file
// parsed and checked against what WeChat accepts.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const wcc = require('miniprogram-compiler/src/wcc');
const wcsc = require('miniprogram-compiler/src/wcsc');

const ROOT = path.resolve(__dirname, '..');
const read = (p) => JSON.parse(fs.readFileSync(path.join(ROOT, p), 'utf8'));
const app = read('app.json');

const PAGE_KEYS = new Set(['navigationBarTitleText', 'navigationBarBackgroundColor', 'navigationBarTextStyle',
  'backgroundColor', 'backgroundTextStyle', 'enablePullDownRefresh', 'onReachBottomDistance', 'usingComponents',
  'disableScroll', 'pageOrientation', 'style']);

function compileWxml(root, file) {
  return wcc(root, [file], [], {});
}
function compileWxss(root, file) {
  const r = wcsc(root, [file], {});
  if (r instanceof Error) throw r;
  return r;
}

test('app.json lists the nine pages, each with its four files', () => {
  assert.equal(app.pages.length, 9);
  assert.equal(new Set(app.pages).size, app.pages.length, 'no page twice');
  for (const p of app.pages) {
    for (const ext of ['js', 'json', 'wxml', 'wxss']) {
      assert.ok(fs.existsSync(path.join(ROOT, `${p}.${ext}`)), `${p}.${ext}`);
    }
  }
});

test('the tab bar: board, my appeals, consultations, live; all of them pages', () => {
  const tabs = app.tabBar.list.map((t) => t.pagePath);
  assert.deepEqual(tabs, ['pages/board/index', 'pages/my-appeals/index', 'pages/consultations/index', 'pages/live-schedule/index']);
  tabs.forEach((t) => assert.ok(app.pages.includes(t), t));
  app.tabBar.list.forEach((t) => assert.ok(t.text && Array.from(t.text).length <= 5, `short Chinese label: ${t.text}`));
  assert.ok(app.tabBar.list.length >= 2 && app.tabBar.list.length <= 5);
  assert.ok(fs.existsSync(path.join(ROOT, app.sitemapLocation)));
});

test('every page JSON parses and uses only known keys, with a Chinese title', () => {
  for (const p of app.pages) {
    const j = read(`${p}.json`);
    Object.keys(j).forEach((k) => assert.ok(PAGE_KEYS.has(k), `${p}.json: unknown key ${k}`));
    assert.match(j.navigationBarTitleText, /[\u4e00-\u9fff]/, `${p}.json title`);
  }
});

test('project.config.json opens in DevTools against a local server', () => {
  const pc = read('project.config.json');
  assert.equal(pc.compileType, 'miniprogram');
  assert.ok(pc.appid);
  assert.equal(pc.setting.urlCheck, false);
  const sm = read('sitemap.json');
  assert.ok(Array.isArray(sm.rules));
});

test('every WXML compiles with wcc, one by one and as a whole', () => {
  const files = app.pages;
  files.forEach((f) => assert.ok(compileWxml(ROOT, f).includes('$gwx'), f));
  const all = wcc(ROOT, files, [], {});
  assert.ok(all.length > 1000);
});

test('every WXSS compiles with wcsc', () => {
  ['app'].concat(app.pages).forEach((f) => compileWxss(ROOT, f));
});

test('the checkers refuse broken files (so the checks above mean something)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-bad-'));
  fs.writeFileSync(path.join(dir, 'a.wxml'), '<view>\n<text>{{a}</text>\n');
  fs.writeFileSync(path.join(dir, 'b.wxss'), '.a { color: red;\n');
  assert.throws(() => compileWxml(dir, 'a'), /a\.wxml/);
  assert.throws(() => compileWxss(dir, 'b'));
  fs.rmSync(dir, { recursive: true });
});

test('every JS file loads in Node (CommonJS, no browser-only syntax)', () => {
  const files = fs.readdirSync(path.join(ROOT, 'utils')).map((f) => `utils/${f}`).concat(['config.js']);
  files.forEach((f) => require(path.join(ROOT, f)));
});
