// webhook_receiver.mjs - a local HTTP receiver for webhook tests: records every request
// (arrival time, method, path, headers, raw body) and answers with scripted status codes.
// verifySignature() is the reference receiver-side check documented in docs/webhooks.md.
//
//   const rx = await startReceiver();            // rx.url = 'http://127.0.0.1:<port>'
//   rx.script('/flaky', [500, 500, 500, 500]);   // then 200 (the default) for /flaky
//   rx.requests('/flaky') → [{ at, method, path, headers, body }]   (at = ms, monotonic)
//   verifySignature(secret, headers['x-mockarty-signature'], body, { toleranceS: 300 })
//   await rx.close();
import crypto from 'node:crypto';
import http from 'node:http';

export async function startReceiver() {
  const got = [];
  const scripts = new Map();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = req.url.split('?')[0];
      got.push({ at: performance.now(), method: req.method, path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const q = scripts.get(path);
      const status = q && q.length ? q.shift() : 200;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ok: status < 300 }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    script(path, statuses) {
      scripts.set(path, [...statuses]);
    },
    requests(path) {
      return path ? got.filter((g) => g.path === path) : [...got];
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((r) => server.close(r));
    },
  };
}

/**
 * Checks X-Mockarty-Signature "t=<unix>,v1=<hex>" = HMAC-SHA256(secret, "<t>.<raw body>"), in constant
 * time, and refuses timestamps further than toleranceS from now (replays). Returns true or throws a
 * message saying what is wrong.
 */
export function verifySignature(secret, header, rawBody, { toleranceS = 300, now = Date.now() / 1000 } = {}) {
  if (!header) throw new Error('no X-Mockarty-Signature header');
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2)));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1) throw new Error(`malformed signature header: ${header}`);
  if (Math.abs(now - t) > toleranceS) throw new Error(`timestamp ${t} outside the tolerance`);
  const want = crypto.createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const have = Buffer.from(parts.v1, 'hex');
  if (have.length !== want.length || !crypto.timingSafeEqual(have, want)) throw new Error('signature mismatch');
  return true;
}
