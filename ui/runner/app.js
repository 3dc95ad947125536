// app.js - the runner-agent's dashboard (DASHBOARD_PORT, 6770): the coordinator link,
// capabilities, slots, live charts of running tasks and their mean progress (numbers as text
// beside each), the running tasks with their progress, and the last 100 finished ones. Data:
// the node's /api/status, polled every second (kit/dashboard.js).

import { html, Stat, Table, Progress, fmtNum } from './kit/ui.js';
import { LiveChart } from './kit/chart.js';
import { Dashboard, Section, useNodeStatus, linkBadge, mount } from './kit/dashboard.js';

function dur(ms) {
	ms = ms || 0;
	return ms < 1000 ? `${ms} ms` : ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60000)} m ${Math.round((ms % 60000) / 1000)} s`;
}

function counts(s) {
	if (!s) return '';
	return Object.entries(s).filter(([, v]) => v !== null && typeof v !== 'object')
		.map(([k, v]) => `${k} ${typeof v === 'number' && v % 1 ? v.toFixed(1) : v}`).join(', ');
}

const pct = (p) => (p && typeof p.percent === 'number' ? Math.max(0, Math.min(100, p.percent)) : 0);

function App() {
	const { status: s, samples, error } = useNodeStatus();
	if (!s) return html`<${Dashboard} title="runner-agent" error=${error}><p class="muted" role="status">Waiting for the node…</p><//>`;
	const c = s.coordinator || {};
	const t = s.tasks || { running: [], history: [], totals: {} };
	const [badge, cls] = linkBadge(c);
	let ok = 0, failed = 0, cancelled = 0, lost = 0;
	for (const k of Object.keys(t.totals || {})) {
		const x = t.totals[k];
		ok += x.completed || 0; failed += x.failed || 0; cancelled += x.cancelled || 0; lost += (x.lost || 0) + (x.abandoned || 0);
	}
	const active = samples.map((x) => ({ t: x.t, v: [x.running] }));
	const prog = samples.map((x) => ({ t: x.t, v: [x.progress ?? 0] })); // no task running: 0 on the chart
	return html`<${Dashboard} title="runner-agent"
			subtitle=${`${s.name} · ${s.shared ? 'shared (all namespaces)' : 'namespace ' + s.namespace} · ${(s.capabilities || []).join(', ')}`}
			badge=${badge} badgeClass=${cls} error=${error}>
		<div class="cards">
			<${Stat} k="Coordinator" id="conn" v=${badge} cls=${cls} />
			<${Stat} k="Running / max" id="run" v=${`${t.runningCount ?? 0} / ${s.maxConcurrent}${t.draining ? ' (draining)' : ''}`} />
			<${Stat} k="Finished (ok / failed / cancelled / lost)" id="tot" v=${`${ok} / ${failed} / ${cancelled} / ${lost}`} />
			<${Stat} k="CPU" id="cpu" v=${`${fmtNum(s.process?.cpuPercent, 1)} %`} />
			<${Stat} k="Memory (RSS)" id="rss" v=${`${fmtNum((s.process?.rssBytes || 0) / 1048576, 1)} MiB`} />
			<${Stat} k="Uptime" id="up" v=${s.uptime} />
		</div>
		${!c.connected && c.lastError ? html`<p class="muted">${c.lastError} (${c.addr})</p>` : ''}
		<${Section} title="Active tasks" id="sec-active">
			<${LiveChart} id="active" label="Tasks running" unit="tasks" series=${[{ label: 'running' }]} samples=${active} />
		<//>
		<${Section} title="Task progress" id="sec-progress">
			<${LiveChart} id="progress" label="Mean progress of the running tasks in percent" unit="%" digits=${0}
				series=${[{ label: 'progress' }]} samples=${prog} />
		<//>
		<${Section} title="Running tasks" id="sec-running">
			<${Table} label="Running tasks" rows=${t.running} empty="Idle: no task running."
				columns=${[
					{ key: 'name', label: 'Task', render: (r) => html`${r.name || r.id}<br /><small class="muted">${r.id}</small>` },
					{ key: 'kind', label: 'Kind' },
					{ key: 'namespace', label: 'Namespace' },
					{ key: 'attempt', label: 'Attempt', num: true },
					{ key: 'progress', label: 'Progress', render: (r) => html`<${Progress} pct=${pct(r.progress)} label=${`Progress of ${r.name || r.id}`} /> ${pct(r.progress).toFixed(0)} %` },
					{ key: 'elapsedMs', label: 'Elapsed', render: (r) => dur(r.elapsedMs) },
					{ key: 'phase', label: 'State', render: (r) => (r.leaseLost ? 'lease lost' : r.cancelRequested ? 'cancelling' : r.phase) },
				]} />
		<//>
		<${Section} title="History (last 100)" id="sec-history">
			<${Table} label="Finished tasks" rows=${t.history} empty="No task yet." rowKey=${(r) => r.id + r.attempt}
				columns=${[
					{ key: 'finishedAt', label: 'Finished' },
					{ key: 'name', label: 'Task', render: (r) => html`${r.name || r.id}<br /><small class="muted">${r.id}</small>` },
					{ key: 'kind', label: 'Kind' },
					{ key: 'namespace', label: 'Namespace' },
					{ key: 'status', label: 'Status', render: (r) => html`<span class=${r.status === 'completed' ? 'ok' : r.status === 'cancelled' ? 'warn' : 'bad'}>${r.status}</span>${r.error ? html`<div class="muted">${r.error}</div>` : ''}` },
					{ key: 'durationMs', label: 'Duration', render: (r) => dur(r.durationMs) },
					{ key: 'summary', label: 'Counts', render: (r) => counts(r.summary) },
				]} />
		<//>
		<p class="muted"><a href="/metrics">/metrics</a> · <a href="/health/ready">/health/ready</a></p>
	<//>`;
}

mount(App);
