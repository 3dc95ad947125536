// pages/api-tester-runs.js - API tester > Runs: the list of past runs (pick two to compare), a
// run's page and the comparison of two runs. A run's page polls the run every second while it
// is queued or running: a progress bar (requests done of total, as the runner last reported)
// and the passed/failed counts move live; when it ends the report lists every request with its
// tests, and the JUnit and Markdown reports the admin node renders can be downloaded. The
// comparison lists the tests whose status changed between two runs (and those only in one).

import { html, useState, useAsync, usePoll, Table, Stat, Progress, ConfirmButton, ErrorBox, Loading, download, toast, fmtTime, fmtNum } from '../kit/ui.js';
import { api, items } from '../kit/api.js';

const A = '/api/v1/api-tester';
const TERMINAL = ['passed', 'failed', 'cancelled', 'error'];

export function statusBadge(st) {
	const cls = st === 'passed' ? 'ok' : st === 'failed' || st === 'error' ? 'bad' : 'warn';
	return html`<span class=${'badge ' + cls}>${st}</span>`;
}

// The tests of a run as [key, status, message]: one per assertion, plus one per request that
// failed without any test (an error such as "connection refused").
export function runTests(run) {
	const out = [];
	for (const r of (run && run.results) || []) {
		const req = (r.folder ? r.folder + ' / ' : '') + (r.name || r.url || '');
		const as = r.assertions || [];
		for (const a of as) out.push([req + ' › ' + a.name, a.skipped ? 'skipped' : a.passed ? 'passed' : 'failed', a.message || '']);
		if (!as.length && r.error) out.push([req + ' › (request)', 'error', r.error]);
	}
	return out;
}

// The counts to show: the final ones when the run has them, else the runner's live ones.
function counts(run) {
	const p = run.progress || {};
	const done = TERMINAL.includes(run.status);
	const pick = (k) => (done || run[k] ? run[k] : p[k]) || 0;
	return { passed: pick('passedTests'), failed: pick('failedTests'), skipped: pick('skippedTests') };
}

// Requests done: the runner's heartbeat lags the result chunks it streams, so the larger of the two.
function doneCount(run) {
	return Math.max((run.progress && run.progress.done) || 0, (run.results || []).length);
}

function percent(run) {
	if (TERMINAL.includes(run.status)) return 100;
	const p = run.progress || {};
	if (p.total) return Math.min(100, (100 * doneCount(run)) / p.total);
	return typeof p.percent === 'number' ? p.percent : 0;
}

async function report(run, format) {
	const text = await api.request('GET', `${A}/test-runs/${encodeURIComponent(run.id)}/report`,
		{ query: { format }, headers: { Accept: format === 'junit' ? 'application/xml' : 'text/markdown' } });
	const name = `test-run-${run.id}.${format === 'junit' ? 'xml' : 'md'}`;
	download(name, typeof text === 'string' ? text : JSON.stringify(text), format === 'junit' ? 'application/xml' : 'text/markdown');
	toast(`Downloaded ${name}`);
}

function RequestResult({ r }) {
	const as = r.assertions || [];
	const bad = r.error || as.some((a) => !a.passed && !a.skipped);
	return html`<div class="req-result">
		<div class="row">
			<strong>${r.folder ? r.folder + ' / ' : ''}${r.name}</strong>
			<span class="method">${r.method || ''}</span>
			<span class="muted">${r.url || ''}</span>
			<span class="spacer"></span>
			${r.status ? html`<span>HTTP ${r.status}</span>` : ''}
			${r.responseTimeMs !== undefined ? html`<span class="muted when">${fmtNum(r.responseTimeMs, 1)} ms</span>` : ''}
			${statusBadge(bad ? 'failed' : 'passed')}
		</div>
		${r.error ? html`<p class="bad">${r.error}</p>` : ''}
		${as.length ? html`<ul aria-label=${'Tests of ' + r.name}>${as.map((a) => html`<li>
			${a.skipped ? html`<span class="badge warn">skipped</span>` : a.passed ? html`<span class="badge ok">pass</span>` : html`<span class="badge bad">fail</span>`}
			${' '}${a.name}${a.message ? html` <span class="muted">: ${a.message}</span>` : ''}</li>`)}</ul>` : ''}
	</div>`;
}

export function RunView({ id, canWrite, navigate }) {
	const [run, setRun] = useState(null);
	const [err, setErr] = useState(null);
	const [stopped, setStopped] = useState(false);
	usePoll(async () => {
		if (stopped) return;
		const r = await api.get(`${A}/test-runs/${encodeURIComponent(id)}`);
		setRun(r); setErr(null);
		if (TERMINAL.includes(r.status)) setStopped(true);
	}, 1000, [id, stopped], setErr);
	if (!run) return html`<${ErrorBox} error=${err} />${err ? '' : html`<${Loading} what="the run" />`}`;
	const c = counts(run);
	const pct = percent(run);
	const done = TERMINAL.includes(run.status);
	const p = run.progress || {};
	const act = async (fn) => { try { await fn(); } catch (x) { setErr(x); } };
	return html`<div class="row">
			<h2>Run of ${run.collectionName || 'a collection'}</h2><span class="spacer"></span>
			<button onClick=${() => navigate('api-tester/runs')}>All runs</button>
		</div>
		<p class="muted">Run <code class="run-id">${run.id}</code>, created <span class="when">${fmtTime(run.createdAt)}</span>${run.runner ? html` on runner <code>${run.runner}</code>` : ''}.</p>
		<${ErrorBox} error=${err} />
		<div class="run-progress">
			<${Progress} pct=${pct} label="Run progress" />
			<p role="status" id="run-status-line">${done ? `Finished: ${run.status}` : run.status === 'queued' ? 'Waiting for a runner…'
				: `Running: ${doneCount(run)} of ${p.total || '?'} requests (${Math.round(pct)} %)`}</p>
		</div>
		<div class="run-summary">
			<${Stat} id="run-status" k="Status" v=${statusBadge(run.status)} />
			<${Stat} id="run-passed" k="Passed" v=${c.passed} cls="ok" />
			<${Stat} id="run-failed" k="Failed" v=${c.failed} cls=${c.failed ? 'bad' : ''} />
			<${Stat} id="run-skipped" k="Skipped" v=${c.skipped} />
			<${Stat} id="run-duration" k="Duration" v=${done ? fmtNum(run.duration) + ' ms' : '–'} />
		</div>
		${run.error ? html`<div class="alert" role="alert">${run.error}</div>` : ''}
		<div class="toolbar">
			${done ? html`<button onClick=${() => act(() => report(run, 'junit'))}>Download JUnit</button>
				<button onClick=${() => act(() => report(run, 'markdown'))}>Download Markdown</button>`
			: canWrite ? html`<${ConfirmButton} label="Cancel run" confirmLabel="Cancel this run" onConfirm=${() => act(async () => { setRun(await api.post(`${A}/test-runs/${encodeURIComponent(id)}/cancel`, {})); })} />` : ''}
		</div>
		<h3>Report</h3>
		${(run.results || []).length ? (run.results || []).map((r) => html`<${RequestResult} r=${r} />`)
			: html`<p class="muted">${done ? 'No request was run.' : 'Results appear here as requests finish.'}</p>`}`;
}

export function Runs({ route, navigate, canWrite }) {
	const collection = route.query.get('collection') || '';
	const list = useAsync(() => api.get(A + '/test-runs', { mode: 'functional', referenceId: collection, limit: 50 }), [collection]);
	const [pick, setPick] = useState([]);
	const [err, setErr] = useState(null);
	const rows = items(list.data, 'runs');
	const active = rows.some((r) => !TERMINAL.includes(r.status));
	usePoll(async () => { if (active) await list.reload(); }, 2000, [active]);
	const toggle = (id) => setPick(pick.includes(id) ? pick.filter((x) => x !== id) : [...pick.slice(-1), id]);
	const columns = [
		{ key: 'pick', label: 'Compare', render: (r) => html`<input type="checkbox" aria-label=${'Select run ' + r.id + ' for comparison'}
			checked=${pick.includes(r.id)} onChange=${() => toggle(r.id)} />` },
		{ key: 'createdAt', label: 'Created', render: (r) => html`<span class="when">${fmtTime(r.createdAt)}</span>` },
		{ key: 'collectionName', label: 'Collection' },
		{ key: 'status', label: 'Status', render: (r) => statusBadge(r.status) },
		{ key: 'passedTests', label: 'Passed', num: true },
		{ key: 'failedTests', label: 'Failed', num: true },
		{ key: 'duration', label: 'ms', num: true, render: (r) => html`<span class="when">${fmtNum(r.duration)}</span>` },
		{ key: 'open', label: 'Open', render: (r) => html`<a href=${'/ui/api-tester/runs/' + encodeURIComponent(r.id)}
			onClick=${(e) => { e.preventDefault(); navigate('api-tester/runs/' + encodeURIComponent(r.id)); }}>Report<span class="sr-only"> of run ${r.id}</span></a>` },
	];
	if (canWrite) columns.push({ key: 'del', label: 'Delete', render: (r) => html`<${ConfirmButton} label="Delete" confirmLabel="Delete run"
		onConfirm=${async () => { try { await api.del(`${A}/test-runs/${encodeURIComponent(r.id)}`); setPick(pick.filter((x) => x !== r.id)); await list.reload(); } catch (x) { setErr(x); } }} />` });
	return html`<h2>Runs${collection ? html` <span class="muted">of one collection</span>` : ''}</h2>
		<div class="toolbar">
			<button class="primary" disabled=${pick.length !== 2} onClick=${() => navigate(`api-tester/compare/${encodeURIComponent(pick[0])}/${encodeURIComponent(pick[1])}`)}>Compare the two selected runs</button>
			${collection ? html`<button onClick=${() => navigate('api-tester/runs')}>Show all runs</button>` : ''}
			<span class="muted">${pick.length}/2 selected</span>
		</div>
		<${ErrorBox} error=${err || list.error} />
		${list.loading && !list.data ? html`<${Loading} what="runs" />`
			: html`<${Table} label="Runs" columns=${columns} rows=${rows} empty="No runs yet: run a collection." selected=${(r) => pick.includes(r.id)} />`}`;
}

export function Compare({ a, b, navigate }) {
	const data = useAsync(() => Promise.all([a, b].map((id) => api.get(`${A}/test-runs/${encodeURIComponent(id)}`))), [a, b]);
	if (data.error) return html`<${ErrorBox} error=${data.error} />`;
	if (!data.data) return html`<${Loading} what="the runs" />`;
	// A is the older run, whatever order they were picked in (a stable sort keeps equal times as picked)
	const [ra, rb] = [...data.data].sort((x, y) => String(x.createdAt || '').localeCompare(String(y.createdAt || '')));
	const ma = new Map(runTests(ra).map(([k, s, m]) => [k, { s, m }]));
	const mb = new Map(runTests(rb).map(([k, s, m]) => [k, { s, m }]));
	const keys = [...new Set([...ma.keys(), ...mb.keys()])];
	const changed = keys.filter((k) => (ma.get(k) || {}).s !== (mb.get(k) || {}).s)
		.map((k) => ({ k, a: ma.get(k), b: mb.get(k) }));
	const same = keys.length - changed.length;
	const cell = (x) => (x ? statusBadge(x.s) : html`<span class="muted">absent</span>`);
	return html`<div class="row"><h2>Compare runs</h2><span class="spacer"></span>
			<button onClick=${() => navigate('api-tester/runs')}>All runs</button></div>
		<${Table} label="The two runs" rowKey=${(r) => r.id} rows=${[{ ...ra, which: 'A' }, { ...rb, which: 'B' }]} columns=${[
			{ key: 'which', label: 'Run' },
			{ key: 'collectionName', label: 'Collection' },
			{ key: 'createdAt', label: 'Created', render: (r) => html`<span class="when">${fmtTime(r.createdAt)}</span>` },
			{ key: 'status', label: 'Status', render: (r) => statusBadge(r.status) },
			{ key: 'passedTests', label: 'Passed', num: true },
			{ key: 'failedTests', label: 'Failed', num: true },
			{ key: 'skippedTests', label: 'Skipped', num: true },
		]} />
		<h3 id="changed-title">${changed.length} test${changed.length === 1 ? '' : 's'} changed status, ${same} unchanged</h3>
		<${Table} label="Tests that changed status" rowKey=${(r) => r.k} rows=${changed} empty="No test changed status."
			columns=${[
				{ key: 'k', label: 'Test' },
				{ key: 'a', label: 'Run A', render: (r) => cell(r.a) },
				{ key: 'b', label: 'Run B', render: (r) => cell(r.b) },
				{ key: 'm', label: 'Message in B', render: (r) => (r.b && r.b.m) || '' },
			]} />`;
}
