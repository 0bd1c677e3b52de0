// Small helpers shared by the service layer and the pages; no WeChat API here.

// A random v4-style id. Mini-programs have no crypto.randomUUID everywhere, and the key only
// has to be unique per user, so Math.random is enough.
function newKey() {
  let s = '';
  for (let i = 0; i < 32; i++) s += Math.floor(Math.random() * 16).toString(16);
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-a${s.slice(17, 20)}-${s.slice(20, 32)}`;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Exponential backoff with jitter, so clients that lost the server together do not return
// together.
function backoff(base, attempt, cap) {
  const d = Math.min(cap || 10000, base * 2 ** attempt);
  return Math.round(d / 2 + Math.random() * (d / 2));
}

function query(params) {
  const parts = [];
  Object.keys(params || {}).forEach((k) => {
    const v = params[k];
    if (v === undefined || v === null || v === '') return;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  });
  return parts.length ? `?${parts.join('&')}` : '';
}

// Times are shown in Asia/Shanghai whatever the phone's zone (UTC+8, no DST).
function formatTime(iso) {
  if (!iso) return '';
  const t = new Date(new Date(iso).getTime() + 8 * 3600 * 1000);
  if (Number.isNaN(t.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${t.getUTCFullYear()}-${p(t.getUTCMonth() + 1)}-${p(t.getUTCDate())} ${p(t.getUTCHours())}:${p(t.getUTCMinutes())}`;
}

module.exports = { newKey, sleep, backoff, query, formatTime };
