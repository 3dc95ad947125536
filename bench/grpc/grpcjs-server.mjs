// grpcjs-server.mjs - the reference for bench/grpc-serve-bench.sh: a @grpc/grpc-js server on
// 127.0.0.1:<port> answering bench.v1.Users/GetUser with the benchmark's user record.
// Usage: node grpcjs-server.mjs <port>
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../regress/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync('bench.proto', { includeDirs: [here] }));
const user = { id: '123', name: 'Alice', email: 'alice@example.com' };
const server = new grpc.Server();
server.addService(pkg.bench.v1.Users.service, { GetUser: (_call, cb) => cb(null, user) });
server.bindAsync(`127.0.0.1:${process.argv[2]}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) { console.error(err.message); process.exit(1); }
  console.log('listening');
});
