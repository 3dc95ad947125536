// pages/nodes.js - the console's "Nodes" page (/ui/nodes): the mock resolvers and runner agents
// connected to this admin node's coordinator, polled every 2 s. Each node shows its status
// (connected; stale when no heartbeat came for STALE_MS; disconnected when it left the list -
// reported by the node, or remembered by this page since it saw the node), name, namespace,
// address, version, applied version against the coordinator's head (resolvers) or capabilities,
// labels (namespace, shared) and active tasks (runners), and the last heartbeat as "3 s ago"
// with the absolute time beside it. With no node the page says how to start one.
//
// Endpoint (docs/rest-api.md): GET /ui/api/nodes?disconnected=true -> {"nodes":[...],"total","coordinator":{"enabled","port"}}.

import { html, useState, useRef, usePoll, Table, ErrorBox, Loading, fmtTime } from '../kit/ui.js';
import { api } from '../kit/api.js';

export const POLL_MS = 2000;
export const STALE_MS = 5000; // the coordinator heartbeats every second

export function relTime(iso, now = Date.now()) {
	if (!iso) return 'never';
	const t = Date.parse(iso);
	if (Number.isNaN(t)) return String(iso);
	const s = Math.max(0, Math.round((now - t) / 1000));
	if (s < 60) return `${s} s ago`;
	if (s < 3600) return `${Math.floor(s / 60)} min ago`;
	if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
	return `${Math.floor(s / 86400)} d ago`;
}

const isRunner = (n) => n.kind === 'runner';
// one row per node across reconnects, as the admin node keys its disconnected nodes
const nodeKey = (n) => (isRunner(n) ? 'runner:' : 'resolver:') + (n.namespace || '') + '/' + n.name;

// status of a listed node: what the server says, else from the age of its last heartbeat
export function nodeStatus(n, now = Date.now()) {
	if (n.status) return n.status;
	const hb = n.lastHeartbeat ? Date.parse(n.lastHeartbeat) : NaN;
	if (!Number.isNaN(hb) && now - hb > STALE_MS) return 'stale';
	return 'connected';
}

const STATUS_CLASS = { connected: 'ok', stale: 'warn', disconnected: 'bad' };

function Status({ status }) {
	return html`<span class="node-status"><span class=${'node-dot ' + (STATUS_CLASS[status] || '')} aria-hidden="true"></span>
		<span class=${'badge ' + (STATUS_CLASS[status] || '')}>${status}</span></span>`;
}

function When({ iso, now }) {
	if (!iso) return html`<span class="muted">never</span>`;
	return html`<span class="node-time">${relTime(iso, now)}</span><br /><small class="muted node-time">${fmtTime(iso)}</small>`;
}

function Empty({ coordinator, navigate }) {
	const port = (coordinator && coordinator.port) || 5773;
	const host = location.hostname || '127.0.0.1';
	return html`<div class="card node-empty" id="nodes-empty">
		<h2>No node is connected</h2>
		${coordinator && coordinator.enabled === false ? html`<p class="alert" role="alert">The coordinator is off on this admin node (<code>GRPC_PORT=0</code>): resolvers and runners cannot connect. Start the admin node with a <code>GRPC_PORT</code> (default 5773).</p>` : ''}
		<p>Resolvers serve mock traffic from their own copy of the mocks; runners run API-test collections and load tests. Both connect to this admin node's coordinator on port <strong>${port}</strong>.</p>
		<ol>
			<li>Create an integration in <a href="/ui/settings" onClick=${(e) => { if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return; e.preventDefault(); navigate('settings'); }}><strong>Settings › Integrations</strong></a> (<em>Create Integration</em>): type <code>mock_resolver</code> for a resolver, <code>test_runner</code> for a runner. Its <code>mki_</code> token is shown once: copy it.</li>
			<li>Start the node with the token:
				<pre><code>COORDINATOR_ADDR=${host}:${port} API_TOKEN=mki_... RESOLVER_NAME=resolver-1 HTTP_PORT=5780 mock-resolver</code></pre>
				<pre><code>COORDINATOR_ADDR=${host}:${port} API_TOKEN=mki_... RUNNER_NAME=runner-1 CAPABILITIES=api_test,performance runner-agent</code></pre>
				Optional: <code>NAMESPACE</code> (default sandbox), <code>DASHBOARD_PORT</code> (6780 resolver, 6770 runner), and for runners <code>SHARED</code>, <code>MAX_CONCURRENT</code>.</li>
			<li>The node appears here within two seconds.</li>
		</ol>
		<p class="muted">Details: docs/resolver.md and docs/runners.md.</p>
	</div>`;
}

export default function Nodes({ navigate }) {
	const [data, setData] = useState(null);
	const [error, setError] = useState(null);
	const [now, setNow] = useState(Date.now());
	const seen = useRef(new Map()); // key -> the node as last listed, for "disconnected"

	usePoll(async () => {
		const d = await api.get('/ui/api/nodes', { disconnected: 'true' });
		const t = Date.now();
		// one row per node: a live listing wins over a disconnected one of the same node (a node
		// that reconnects may be listed twice for a moment)
		const byKey = new Map();
		for (const n of d.nodes || []) {
			const k = nodeKey(n), had = byKey.get(k);
			if (!had || (had.status === 'disconnected' && n.status !== 'disconnected')) byKey.set(k, n);
		}
		for (const [k, n] of byKey) if (n.status !== 'disconnected') seen.current.set(k, { ...n, seenAt: new Date(t).toISOString() });
		// nodes this page saw that are not listed any more: disconnected
		for (const [k, n] of seen.current) {
			if (!byKey.has(k)) byKey.set(k, { ...n, status: 'disconnected', disconnectedAt: n.seenAt });
		}
		setData({ ...d, nodes: [...byKey.values()] });
		setNow(t);
		setError(null);
	}, POLL_MS, [], (e) => setError(e));

	if (!data && !error) return html`<h1>Nodes</h1><${Loading} what="the nodes" />`;
	const nodes = (data && data.nodes) || [];
	const resolvers = nodes.filter((n) => !isRunner(n));
	const runners = nodes.filter(isRunner);

	const resolverCols = [
		{ key: 'status', label: 'Status', render: (n) => html`<${Status} status=${nodeStatus(n, now)} />` },
		{ key: 'name', label: 'Name', render: (n) => html`<strong>${n.name}</strong>${n.integrationName ? html`<br /><small class="muted">token ${n.integrationName}</small>` : ''}` },
		{ key: 'namespace', label: 'Namespace' },
		{ key: 'address', label: 'Address', render: (n) => html`<code>${n.address || n.peer || ''}</code>` },
		{ key: 'version', label: 'Version', num: true, render: (n) => html`<span class="node-version">${n.softwareVersion ? n.softwareVersion + ' · ' : ''}v${n.version ?? 0}</span>` },
		{ key: 'appliedVersion', label: 'Applied / head', num: true, render: (n) => html`${n.appliedVersion ?? 0} / ${n.headVersion ?? '–'}${n.headVersion && n.appliedVersion < n.headVersion ? html` <span class="badge warn">behind ${n.headVersion - n.appliedVersion}</span>` : ''}` },
		{ key: 'lastHeartbeat', label: 'Last heartbeat', render: (n) => (nodeStatus(n, now) === 'disconnected' ? html`<span>disconnected ${relTime(n.disconnectedAt, now)}</span><br /><small class="muted node-time">${fmtTime(n.disconnectedAt)}</small>` : html`<${When} iso=${n.lastHeartbeat} now=${now} />`) },
		{ key: 'connectedAt', label: 'Connected since', render: (n) => html`<${When} iso=${n.connectedAt} now=${now} />` },
	];
	const runnerCols = [
		{ key: 'status', label: 'Status', render: (n) => html`<${Status} status=${nodeStatus(n, now)} />` },
		{ key: 'name', label: 'Name', render: (n) => html`<strong>${n.name}</strong>${n.integrationName ? html`<br /><small class="muted">token ${n.integrationName}</small>` : ''}` },
		{ key: 'version', label: 'Version', render: (n) => html`<span class="node-version">${n.version || '–'}</span>` },
		{ key: 'capabilities', label: 'Capabilities', render: (n) => (n.capabilities || []).map((c) => html`<span class="badge">${c}</span> `) },
		{ key: 'labels', label: 'Labels', render: (n) => html`<span class="badge">namespace: ${n.namespace || '–'}</span> ${n.shared ? html`<span class="badge">shared</span>` : ''}${(n.labels ? Object.entries(n.labels) : []).map(([k, v]) => html` <span class="badge">${k}: ${v}</span>`)}` },
		{ key: 'running', label: 'Active tasks', num: true, render: (n) => `${n.running ?? 0} / ${n.maxConcurrent ?? '–'}` },
		{ key: 'lastHeartbeat', label: 'Last heartbeat', render: (n) => (nodeStatus(n, now) === 'disconnected' ? html`<span>disconnected ${relTime(n.disconnectedAt, now)}</span><br /><small class="muted node-time">${fmtTime(n.disconnectedAt)}</small>` : html`<${When} iso=${n.lastHeartbeat || n.connectedAt} now=${now} />`) },
		{ key: 'address', label: 'Address', render: (n) => html`<code>${n.address || n.peer || ''}</code>` },
	];

	return html`<h1>Nodes</h1>
	<p class="muted">Resolvers and runners connected to this admin node's coordinator${data && data.coordinator && data.coordinator.port ? html` (port <strong id="nodes-port">${data.coordinator.port}</strong>)` : ''}. Refreshed every 2 seconds.</p>
	<${ErrorBox} error=${error} title="Could not read the nodes (retrying)" />
	${nodes.length === 0 ? html`<${Empty} coordinator=${data && data.coordinator} navigate=${navigate} />` : html`
		<section aria-labelledby="nodes-res-h"><h2 id="nodes-res-h">Resolvers (${resolvers.length})</h2>
			<${Table} label="Resolvers" rows=${resolvers} rowKey=${nodeKey} columns=${resolverCols} empty="No resolver is connected." /></section>
		<section aria-labelledby="nodes-run-h"><h2 id="nodes-run-h">Runners (${runners.length})</h2>
			<${Table} label="Runners" rows=${runners} rowKey=${nodeKey} columns=${runnerCols} empty="No runner is connected." /></section>`}`;
}
