// Renders a page of this mini-program with miniprogram-simulate (WeChat's official j-component
// renderer on jsdom, with WXML compiled by the real wcc). Pages are written with Page(), which
// the simulator does not know: `Page(def)` is turned into the equivalent Component() (lifecycle
// handlers and methods as methods, data as data), the way WeChat itself lets a page be built
// with Component(). The page's own code and template are what run.
const path = require('node:path');
const { JSDOM } = require('jsdom');

const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', { pretendToBeVisual: true });
['window', 'document', 'navigator', 'Element', 'HTMLElement', 'Node', 'Event', 'CustomEvent', 'MouseEvent', 'getComputedStyle', 'requestAnimationFrame']
  .forEach((k) => {
    if (!(k in global) || k === 'window' || k === 'document') {
      const v = k === 'window' ? dom.window : dom.window[k];
      Object.defineProperty(global, k, { value: typeof v === 'function' && k === 'getComputedStyle' ? v.bind(dom.window) : v, configurable: true, writable: true });
    }
  });

const simulate = require('miniprogram-simulate');

const ROOT = path.resolve(__dirname, '..');

function toComponent(def) {
  const methods = {};
  const data = {};
  Object.keys(def).forEach((k) => {
    if (k === 'data') Object.assign(data, JSON.parse(JSON.stringify(def.data)));
    else if (typeof def[k] === 'function') methods[k] = def[k];
  });
  return { data, methods };
}

global.Page = (def) => global.Component(toComponent(def));

// Loads and renders `pages/<name>/index`, then runs onLoad(query) as WeChat would on opening.
async function openPage(name, query) {
  const id = simulate.load(path.join(ROOT, 'pages', name, 'index'), { rootPath: ROOT });
  const comp = simulate.render(id);
  comp.attach(document.createElement('parent-wrapper'));
  const page = comp.instance;
  if (page.onLoad) await page.onLoad(query || {});
  if (page.onShow) await page.onShow();
  return { comp, page, text: () => comp.dom.textContent.replace(/\s+/g, ' ').trim(), $: (sel) => comp.querySelector(sel) };
}

// Waits until `pred()` holds (the page's own async work has landed).
async function until(pred, ms) {
  const end = Date.now() + (ms || 10000);
  for (;;) {
    if (pred()) return;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

module.exports = { openPage, until, simulate, ROOT };
