// Browser test of the live rooms: Debian's Chromium, driven by playwright-core, opens the
// leader's console and a resident's H5 page against a running server, the leader calls the
// resident, and both pages must reach ICE `connected`/`completed` and decode inbound video.
//
//   node tests/browser/webrtc.mjs <base-url> <leader-ticket> <resident-ticket>
//
// Prints one JSON line with the figures and exits 0, or prints why and exits 1.
// Environment: MINXIN_CHROMIUM (default /usr/bin/chromium), MINXIN_BROWSER_TIMEOUT_MS (60000),
// MINXIN_BROWSER_SCREENSHOTS (a folder: leaves leader.png and resident.png there).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, leaderTicket, residentTicket] = process.argv.slice(2);
if (!base || !leaderTicket || !residentTicket) {
  console.error('usage: node webrtc.mjs <base-url> <leader-ticket> <resident-ticket>');
  process.exit(2);
}
const executablePath = process.env.MINXIN_CHROMIUM || '/usr/bin/chromium';
const timeoutMs = Number(process.env.MINXIN_BROWSER_TIMEOUT_MS || 60000);

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-dev-shm-usage',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
  // Host candidates as plain addresses: no `.local` names, so no mDNS lookups on the network.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

const started = Date.now();
const deadline = started + timeoutMs;
const profiles = [];
const browsers = [];
const logs = { leader: [], resident: [] };

function left() {
  return Math.max(0, deadline - Date.now());
}

async function open(who, path, ticket) {
  // A fresh profile per page: two separate browsers, nothing shared.
  const dir = mkdtempSync(join(tmpdir(), `minxin-${who}-`));
  profiles.push(dir);
  const context = await chromium.launchPersistentContext(dir, {
    executablePath,
    headless: true,
    args: ARGS,
    timeout: left(),
  });
  browsers.push(context);
  const url = new URL(path, base);
  await context.grantPermissions(['camera', 'microphone'], { origin: url.origin });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => logs[who].push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs[who].push(`pageerror: ${e.message}`));
  url.searchParams.set('ticket', ticket);
  await page.goto(url.href, { timeout: left() });
  return page;
}

async function snapshot(page) {
  return page.evaluate(async () => {
    const l = window.minxinLive;
    if (!l) return null;
    return {
      socket: l.socket,
      closeCode: l.closeCode,
      role: l.role,
      userId: l.userId,
      you: l.you,
      position: l.position,
      waiting: l.queue ? l.queue.waiting.length : null,
      localMedia: l.localMedia,
      ice: l.ice,
      connection: l.connection,
      error: l.error,
      framesDecoded: await l.framesDecoded(),
      times: l.times,
      log: l.log.slice(-15),
    };
  });
}

async function until(what, f) {
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const connected = (s) => s && (s.ice === 'connected' || s.ice === 'completed');

let leader;
let resident;
let exitCode = 1;
try {
  leader = await open('leader', '/live/console', leaderTicket);
  resident = await open('resident', '/live/resident', residentTicket);
  await until('the leader console to connect as leader', async () => {
    const s = await snapshot(leader);
    if (s && s.error) throw new Error(`leader page: ${JSON.stringify(s.error)}`);
    return s && s.role === 'leader' && s.socket === 'open';
  });
  // The resident joins on load; call once the leader sees them waiting.
  await until('the resident to wait in the queue', async () => {
    const [l, r] = [await snapshot(leader), await snapshot(resident)];
    if (r && r.error) throw new Error(`resident page: ${JSON.stringify(r.error)}`);
    return r && r.you === 'waiting' && r.position && l.waiting === 1;
  });
  const calledAt = Date.now();
  await leader.evaluate(() => window.minxinLive.callNext());
  let figures;
  await until('both sides connected with inbound video decoded', async () => {
    const [l, r] = [await snapshot(leader), await snapshot(resident)];
    for (const [who, s] of [['leader', l], ['resident', r]]) {
      if (s && s.error) throw new Error(`${who} page: ${JSON.stringify(s.error)}`);
      if (s && s.socket === 'closed') throw new Error(`${who} socket closed (${s.closeCode})`);
    }
    if (connected(l) && connected(r) && l.framesDecoded > 0 && r.framesDecoded > 0) {
      figures = { l, r };
      return true;
    }
    return false;
  });
  const connectedAt = Date.now();
  // Video keeps flowing: a second later both sides have decoded more frames.
  await new Promise((r) => setTimeout(r, 1000));
  const [ls, rs] = [
    await leader.evaluate(() => window.minxinLive.stats()),
    await resident.evaluate(() => window.minxinLive.stats()),
  ];
  for (const [who, st, before] of [['leader', ls, figures.l], ['resident', rs, figures.r]]) {
    if (!st || !connected(st)) throw new Error(`${who}: ICE ${st && st.ice} a second after connecting`);
    if (st.inbound.framesDecoded <= before.framesDecoded) {
      throw new Error(`${who}: inbound video stalled (${before.framesDecoded} then ${st && st.inbound.framesDecoded} frames decoded)`);
    }
  }
  const side = (s, st) => ({
    ice: st.ice,
    connection: st.connection,
    framesDecoded: st.inbound.framesDecoded,
    framesDecodedAtConnect: s.framesDecoded,
    framesSent: st.outbound.framesSent,
    frameWidth: st.inbound.frameWidth,
    pair: st.pair,
    ice_connected_ms: s.times.iceConnected ? s.times.iceConnected - calledAt : null,
  });
  const result = {
    ok: true,
    leader: side(figures.l, ls),
    resident: side(figures.r, rs),
    // From call_next to ICE connected on both sides, and to frames decoded on both.
    connect_ms: Math.max(figures.l.times.iceConnected, figures.r.times.iceConnected) - calledAt,
    frames_ms: connectedAt - calledAt,
    total_ms: Date.now() - started,
    browser: await leader.evaluate(() => navigator.userAgent),
  };
  console.log(JSON.stringify(result));
  exitCode = 0;
} catch (e) {
  const detail = {};
  for (const [who, page] of [['leader', leader], ['resident', resident]]) {
    try {
      detail[who] = page ? await snapshot(page) : 'not opened';
    } catch (err) {
      detail[who] = `no snapshot: ${err.message}`;
    }
    detail[`${who}_console`] = logs[who].slice(-20);
  }
  console.log(JSON.stringify({ ok: false, why: e.message, detail }));
} finally {
  const shots = process.env.MINXIN_BROWSER_SCREENSHOTS;
  if (shots) {
    for (const [who, page] of [['leader', leader], ['resident', resident]]) {
      if (page) await page.screenshot({ path: join(shots, `${who}.png`), fullPage: true }).catch(() => {});
    }
  }
  for (const b of browsers) await b.close().catch(() => {});
  for (const d of profiles) rmSync(d, { recursive: true, force: true });
}
process.exit(exitCode);
