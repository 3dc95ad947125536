// server.mjs - a @grpc/grpc-js server of echo.proto on 127.0.0.1 for the gRPC load tests and the
// benchmark. Say answers the request's text and count; Flaky answers UNAVAILABLE on every second
// call (deterministically half); Slow answers after 200 ms. Every request is recorded as grpc-js
// decoded it (proto-loader objects, longs as strings), per method.
// As a program: node server.mjs [PORT] prints "listening PORT" and serves until killed.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

export const protoFile = path.join(here, 'echo.proto');

/** Starts the server; resolves to { port, received: {Say:[],Flaky:[],Slow:[]}, counts, close }. */
export async function startEchoServer({ port = 0, record = true } = {}) {
  const def = protoLoader.loadSync(protoFile, {
    keepCase: false, longs: String, enums: String, defaults: false, oneofs: true,
    includeDirs: ['/usr/include'],
  });
  const pkg = grpc.loadPackageDefinition(def);
  const received = { Say: [], Flaky: [], Slow: [] };
  const counts = { Say: 0, Flaky: 0, Slow: 0 };
  const keep = (m, req) => {
    counts[m]++;
    if (record) received[m].push(req);
  };
  const server = new grpc.Server();
  server.addService(pkg.loadtest.v1.Echo.service, {
    Say(call, cb) {
      keep('Say', call.request);
      cb(null, { text: call.request.text, count: call.request.count });
    },
    Flaky(call, cb) {
      keep('Flaky', call.request);
      if (counts.Flaky % 2 === 0) cb({ code: grpc.status.UNAVAILABLE, details: 'flaky: every second call' });
      else cb(null, { text: call.request.text });
    },
    Slow(call, cb) {
      keep('Slow', call.request);
      setTimeout(() => cb(null, { text: call.request.text }), 200);
    },
    Watch(call) {
      call.end();
    },
  });
  const bound = await new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p)));
  return {
    port: bound,
    received,
    counts,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const s = await startEchoServer({ port: Number(process.argv[2] || 0), record: false });
  console.log(`listening ${s.port}`);
}
