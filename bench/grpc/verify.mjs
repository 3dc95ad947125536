// verify.mjs - one real gRPC call (@grpc/grpc-js) to 127.0.0.1:<port> bench.v1.Users/GetUser
// {"id":"123"}; prints the answer as JSON and exits 1 unless the status is OK (h2load counts
// HTTP statuses only, so bench/grpc-serve-bench.sh checks grpc-status here before its rounds).
// Usage: node verify.mjs <port>
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync('bench.proto', { includeDirs: [here] }));
const c = new pkg.bench.v1.Users(`127.0.0.1:${process.argv[2]}`, grpc.credentials.createInsecure());
c.GetUser({ id: '123' }, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, res) => {
  c.close();
  if (err) { console.error(`grpc status ${err.code}: ${err.details}`); process.exit(1); }
  const o = {};
  for (const k of Object.keys(res).sort()) o[k] = res[k];
  console.log(JSON.stringify(o));
});
