// Starts the real `minxin serve --demo` on loopback for a test file, as tests/api/cli.rs does:
// a fresh data directory, a free port, logs collected, SIGTERM at the end. The demo mode wires
// the fake WeChat login (a code's part before `-` chooses the user).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
// The template ids the demo server is configured with, per notification kind.
const TEMPLATES = { appeal_replied: 'T_REPLY', live_session_changed: 'T_LIVE' };
const BIN = process.env.MINXIN_BIN || path.join(ROOT, 'target', 'debug', 'minxin');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Sessions every day at 10:00–11:30 (Asia/Shanghai), and the server's clock shifted to today's
// 10:05 there, so a session can be started at once whatever time the test runs.
function shanghaiToday1005Offset() {
  const nowMs = Date.now();
  const sh = new Date(nowMs + 8 * 3600 * 1000);
  const target = Date.UTC(sh.getUTCFullYear(), sh.getUTCMonth(), sh.getUTCDate(), 10, 5) - 8 * 3600 * 1000;
  const date = `${sh.getUTCFullYear()}-${String(sh.getUTCMonth() + 1).padStart(2, '0')}-${String(sh.getUTCDate()).padStart(2, '0')}`;
  return { offsetSecs: Math.round((target - nowMs) / 1000), date };
}

async function startServer(extraEnv) {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} missing: run \`cargo build --bin minxin\` first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minxin-mp-'));
  const port = await freePort();
  const { offsetSecs, date } = shanghaiToday1005Offset();
  const config = path.join(dir, 'minxin.toml');
  fs.writeFileSync(config, [
    '[rota]',
    'weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]',
    'start = "10:00"',
    'end = "11:30"',
    '',
    // Subscription templates as a deployment configures them (README "WeChat"): the server
    // accepts consents only for templates it sends.
    '[wechat.templates.appeal_replied]',
    `template_id = "${TEMPLATES.appeal_replied}"`,
    'page = "pages/appeal-detail/index?id={id}"',
    'fields = { thing1 = "title", phrase2 = "status", time4 = "time" }',
    '',
    '[wechat.templates.live_session_changed]',
    `template_id = "${TEMPLATES.live_session_changed}"`,
    'page = "pages/live-schedule/index"',
    'fields = { thing1 = "title", time2 = "{date} {start}" }',
    '',
  ].join('\n'));
  const env = Object.assign({
    PATH: process.env.PATH,
    MINXIN_DATA_DIR: dir,
    MINXIN_CONFIG: config,
    MINXIN_CLOCK_OFFSET_SECS: String(offsetSecs),
    MINXIN_LOGIN_PER_MINUTE: '1000',
    MINXIN_BOARD_READS_PER_MINUTE: '0',
    RUST_LOG: 'info',
  }, extraEnv || {});
  const child = spawn(BIN, ['serve', '--demo', '--bind', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  const collect = (s) => s.on('data', (b) => logs.push(b.toString()));
  collect(child.stdout);
  collect(child.stderr);
  let exited = null;
  child.on('exit', (code, sig) => {
    exited = { code, sig };
  });
  const base = `http://127.0.0.1:${port}`;
  // Migrations and demo seeding sync every commit: up to 90 s on a loaded disk.
  const until = Date.now() + 90000;
  for (;;) {
    if (exited) throw new Error(`minxin exited ${JSON.stringify(exited)}:\n${logs.join('')}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch (e) {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`minxin did not come up:\n${logs.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    port,
    date,
    logs: () => logs.join(''),
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Plain HTTP for what the test itself does as staff (not through the mini-program's code).
function http(base) {
  async function send(method, p, token, body, headers) {
    const h = Object.assign({ 'content-type': 'application/json' }, headers);
    if (token) h.authorization = `Bearer ${token}`;
    const r = await fetch(base + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch (e) {
      json = text;
    }
    return { status: r.status, body: json, headers: r.headers };
  }
  let n = 0;
  return {
    send,
    get: (p, token) => send('GET', p, token),
    post: (p, token, body, headers) => send('POST', p, token, body === undefined ? {} : body, headers),
    // A fresh login of a seeded or new user through the fake WeChat.
    async login(who) {
      n += 1;
      const r = await send('POST', '/api/v1/auth/wechat-login', null, { code: `${who}-staff${Date.now()}${n}` });
      if (r.status !== 200) throw new Error(`login ${who}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
  };
}

module.exports = { startServer, http, BIN, ROOT, TEMPLATES };
