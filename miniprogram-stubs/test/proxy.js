// A small HTTP proxy between the client and the server that misbehaves on purpose: for the
// requests a rule matches, it answers 503 without passing them on, or passes them on and then
// cuts the client's connection before the answer reaches it (the server did the work; the
// client never hears). Everything else is passed through unchanged.
const http = require('node:http');

function startProxy(upstream) {
  const target = new URL(upstream);
  const rules = []; // { match(req) → bool, action: '503' | 'cut' }, each used once, in order
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const i = rules.findIndex((r) => r.match(req));
      const rule = i >= 0 ? rules.splice(i, 1)[0] : null;
      seen.push({ method: req.method, url: req.url, action: rule ? rule.action : 'pass', key: req.headers['idempotency-key'] });
      if (rule && rule.action === '503') {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
        res.end(JSON.stringify({ error: { code: 'unavailable', message: '服务暂时不可用' } }));
        return;
      }
      const up = http.request({
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: Object.assign({}, req.headers, { host: target.host }),
      }, (ur) => {
        const out = [];
        ur.on('data', (c) => out.push(c));
        ur.on('end', () => {
          if (rule && rule.action === 'cut') {
            // The server has answered (and committed); the client's connection dies instead.
            req.socket.destroy();
            return;
          }
          res.writeHead(ur.statusCode, ur.headers);
          res.end(Buffer.concat(out));
        });
      });
      up.on('error', () => req.socket.destroy());
      up.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        base: `http://127.0.0.1:${server.address().port}`,
        fail: (match, action) => rules.push({ match, action }),
        seen,
        close: () => new Promise((r) => {
          server.closeAllConnections();
          server.close(r);
        }),
      });
    });
  });
}

module.exports = { startProxy };
