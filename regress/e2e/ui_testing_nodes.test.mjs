// ui_testing_nodes.test.mjs - the console's Nodes page (/ui/nodes, ui/admin/pages/nodes.js) and
// what it reads, GET /ui/api/nodes?disconnected=true (kind, status, softwareVersion, disconnected
// nodes: coordinator/gone.c), with real processes. What a user would notice: with no node the
// page says how to start one (Settings > Integrations, the env vars); a resolver started with an
// integration token made through the API appears as connected with its software and mocks
// versions, and a runner with its capabilities; the resolver stopped goes disconnected (on the
// page and in the API), and started again is connected once more, in one row. axe on each
// state, the screenshot testing-nodes (times, ports and versions masked), no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntil } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';
import { startRunner } from './lib/runner.mjs';
import { axeCheck, matchScreenshot } from './lib/browser.mjs';
import { startUiStack, open, assertNoProblems } from './ui_testing_common.mjs';

let ctx;
let resolver;
let runner;
before(async () => { ctx = await startUiStack(); });
after(async () => {
  await resolver?.stop();
  await runner?.stop();
  await ctx?.stop();
});

const integration = async (name, type) => {
  const r = await ctx.s.api('POST', '/ui/api/integrations', { name, type });
  assert.equal(r.status, 201, r.text);
  return r.body.token;
};
const apiNodes = async (q = '?disconnected=true') => (await ctx.s.api('GET', '/ui/api/nodes' + q)).body.nodes;
// waits until the page's row of node name in table shows status (its first cell)
async function waitStatus(page, table, name, status, timeoutMs = 6000) {
  const rows = page.getByRole('table', { name: table }).locator('tbody tr').filter({ hasText: name });
  await waitUntil(async () => {
    const firsts = await rows.locator('td:first-child').allTextContents();
    return firsts.length === 1 && firsts[0].trim() === status;
  }, timeoutMs, 100, `${name} ${status} on the page`);
  return rows;
}

test('a resolver and a runner appear connected; the stopped resolver goes disconnected, then comes back', async () => {
  const { page, problems } = await open(ctx, 'nodes');
  const empty = page.locator('#nodes-empty');
  await empty.waitFor();
  const text = await empty.textContent();
  assert.match(text, /Settings › Integrations/);
  assert.match(text, new RegExp(`COORDINATOR_ADDR=127\\.0\\.0\\.1:${ctx.s.grpcPort}`), 'the coordinator address of this node');
  assert.match(text, /API_TOKEN=mki_/);
  await axeCheck(page, 'nodes: empty');

  await ctx.s.api('POST', '/api/v1/mocks', { id: 'n1', http: { route: '/n1' }, response: { payload: 'one' } });
  resolver = await startResolver({ COORDINATOR_ADDR: ctx.s.grpcAddr, API_TOKEN: await integration('resolver-token', 'mock_resolver'), RESOLVER_NAME: 'resolver-ui' });
  runner = await startRunner({ COORDINATOR_ADDR: ctx.s.grpcAddr, API_TOKEN: await integration('runner-token', 'test_runner'), RUNNER_NAME: 'runner-ui', CAPABILITIES: 'api_test,performance', SHARED: 'true', MAX_CONCURRENT: '3' });

  const row = await waitStatus(page, 'Resolvers', 'resolver-ui', 'connected');
  const listed = (await apiNodes()).find((n) => n.name === 'resolver-ui');
  assert.equal(listed.kind, 'resolver');
  assert.equal(listed.status, 'connected');
  assert.ok(listed.version >= 1, JSON.stringify(listed));
  // its software version (the releaseId its /health reports) and the version of the mocks it holds
  const release = (await resolver.get('/health/live')).body.releaseId;
  assert.equal(listed.softwareVersion, release);
  await waitUntil(async () => (await row.textContent()).includes(`${release} · v${(await apiNodes()).find((n) => n.name === 'resolver-ui').version}`), 6000, 100, 'the versions on the page');
  assert.match(await row.textContent(), /sandbox/);
  assert.match(await row.textContent(), /token resolver-token/);
  // last heartbeat, relative and absolute (the coordinator sends one every second)
  await waitUntil(async () => /\d+ s ago\s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/.test(await row.locator('td').nth(6).textContent()), 5000, 100, 'the last heartbeat');

  const runRow = await waitStatus(page, 'Runners', 'runner-ui', 'connected');
  const rt = await runRow.textContent();
  for (const want of ['connected', 'api_test', 'performance', 'shared', '0 / 3']) assert.ok(rt.includes(want), `runner row shows ${want}: ${rt}`);
  await axeCheck(page, 'nodes: a resolver and a runner');
  await matchScreenshot(page, 'testing-nodes', {
    mask: [page.locator('#nodes-port'), page.locator('.node-time'), page.locator('td code'), page.locator('.node-version'), page.locator('td.num')],
  });

  await resolver.stop();
  await waitStatus(page, 'Resolvers', 'resolver-ui', 'disconnected');
  const gone = (await apiNodes()).find((n) => n.name === 'resolver-ui');
  assert.equal(gone.status, 'disconnected');
  assert.match(gone.disconnectedAt, /^\d{4}-\d\d-\d\dT/);
  // without ?disconnected=true the list holds connected nodes only (as before); a bad value is refused
  assert.equal((await apiNodes('')).some((n) => n.name === 'resolver-ui'), false);
  const bad = await ctx.s.api('GET', '/ui/api/nodes?disconnected=maybe');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /disconnected must be true or false/);
  // a page opened afterwards shows it too: the admin node remembers, not only the open page
  const second = await open(ctx, 'nodes');
  await waitStatus(second.page, 'Resolvers', 'resolver-ui', 'disconnected', 4000);
  await axeCheck(second.page, 'nodes: a disconnected resolver');
  await second.context.close();

  await resolver.restart();
  await waitStatus(page, 'Resolvers', 'resolver-ui', 'connected', 8000); // one row per node
  assert.deepEqual((await apiNodes()).filter((n) => n.name === 'resolver-ui').map((n) => n.status), ['connected']);
  assertNoProblems(problems);
  assertNoProblems(second.problems);
});
