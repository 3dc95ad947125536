// pages/performance.js - the console's "Performance" page: load tests run by runner agents.
//   /ui/performance                 start a load test (a target URL, method and body - the page
//                                   makes a one-request collection of it - or an existing
//                                   collection; virtual users or a fixed rate; duration), the
//                                   past runs, pick two to compare
//   /ui/performance/<id>            one run: while it runs a live chart of req/s and of latency
//                                   p50/p95/p99 (polled every second, the numbers as text beside
//                                   it) and a Stop button; when done the report (totals,
//                                   percentiles, status codes, errors, thresholds, per second)
//   /ui/performance/compare/<a>/<b> two runs side by side with the ratio b/a
//
// Endpoints (docs/rest-api.md "API tester and load tests"): POST /api/v1/api-tester/collections,
// GET /api/v1/api-tester/collections, POST /api/v1/perf/run, POST /api/v1/perf/stop/{id},
// GET /api/v1/perf-results, GET/DELETE /api/v1/perf-results/{id}, GET /api/v1/perf-results/compare,
// GET /ui/api/nodes (is a runner with the performance capability connected?).

import { html, useState, useEffect, useRef, useAsync, Table, Field, ErrorBox, Loading, Stat, Progress, ConfirmButton, fmtTime, fmtNum, toast } from '../kit/ui.js';
import { api, items } from '../kit/api.js';
import { LiveChart, ring } from '../kit/chart.js';

const enc = encodeURIComponent;
const TERMINAL = ['completed', 'failed', 'stopped'];
export const POLL_MS = 1000;
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

function go(navigate, path) {
	return (e) => {
		if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
		e.preventDefault(); navigate(path);
	};
}

function StatusBadge({ status }) {
	const cls = status === 'completed' ? 'ok' : status === 'failed' ? 'bad' : status === 'running' ? 'warn' : '';
	return html`<span class=${'badge ' + cls}>${status}</span>`;
}

// A Postman v2.1 collection of one request: what the load generator sends.
export function targetCollection({ method, url, body, contentType }) {
	const request = { method, url, header: [] };
	if (body && method !== 'GET' && method !== 'HEAD') {
		request.body = { mode: 'raw', raw: body };
		request.header.push({ key: 'Content-Type', value: contentType || 'application/json' });
	}
	return {
		info: { name: `Load test: ${method} ${url}`, schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
		item: [{ name: `${method} ${url}`, request }],
	};
}

function StartForm({ ns, navigate }) {
	const [f, setF] = useState({ target: 'url', method: 'GET', url: '', body: '', contentType: 'application/json', collectionId: '', load: 'vus', vus: '10', rate: '100', maxConns: '20', duration: '30s', name: '' });
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	const set = (p) => { setF((x) => ({ ...x, ...p })); setError(null); };
	const colls = useAsync(() => api.get('/api/v1/api-tester/collections'), []);
	const nodes = useAsync(() => api.get('/ui/api/nodes'), []);
	const perfRunners = ((nodes.data && nodes.data.nodes) || []).filter((n) => n.kind === 'runner' && n.status !== 'disconnected' && (n.capabilities || []).includes('performance') && (n.shared || n.namespace === ns));

	const fieldErr = (name) => (error && error.field === name ? error.message : '');

	const start = async (e) => {
		e.preventDefault();
		setError(null);
		const bad = (field, message) => { throw Object.assign(new Error(message), { field }); };
		setBusy(true);
		try {
			let collectionId = f.collectionId;
			if (f.target === 'url') {
				let u;
				try { u = new URL(f.url.trim()); } catch { bad('url', 'Enter a full URL, e.g. http://127.0.0.1:5770/api/users/1'); }
				if (u.protocol !== 'http:') bad('url', 'The load generator speaks plain HTTP/1.1: the URL must start with http://');
				if (f.body && f.contentType.includes('json')) { try { JSON.parse(f.body); } catch (err) { bad('body', 'The body is not valid JSON: ' + err.message); } }
			} else if (!collectionId) bad('collectionId', 'Pick a collection.');
			const n = (v, field, what, min, max) => {
				const x = Number(v);
				if (!Number.isInteger(x) || x < min || x > max) bad(field, `${what} must be a whole number from ${min} to ${max}.`);
				return x;
			};
			const options = { duration: f.duration.trim() };
			if (!/^\d+(ms|s|m|h)?(\d+(ms|s|m))*$/.test(options.duration)) bad('duration', 'Duration like 30s, 2m or 1m30s.');
			if (f.load === 'vus') options.concurrency = n(f.vus, 'vus', 'Virtual users', 1, 10000);
			else { options.mode = 'open'; options.rate = n(f.rate, 'rate', 'The rate', 1, 1000000); options.concurrency = n(f.maxConns, 'maxConns', 'Connections', 1, 10000); }
			if (f.target === 'url') {
				const c = await api.post('/api/v1/api-tester/collections', targetCollection({ method: f.method, url: f.url.trim(), body: f.body, contentType: f.contentType }));
				collectionId = c.id;
			}
			const run = await api.post('/api/v1/perf/run', { name: f.name.trim() || (f.target === 'url' ? `${f.method} ${f.url.trim()}` : undefined), script: { collectionId }, options });
			toast('Load test queued');
			navigate('performance/' + enc(run.id));
		} catch (err) {
			// the server names its fields as options.* / $.options.*: show them at the matching control
			const m = /(?:\$\.)?options\.(\w+)/.exec(err.field || '');
			if (m) err.field = { concurrency: f.load === 'vus' ? 'vus' : 'maxConns', vus: 'vus', rate: 'rate', duration: 'duration' }[m[1]] || err.field;
			setError(err);
		} finally { setBusy(false); }
	};

	const known = ['url', 'body', 'collectionId', 'duration', 'vus', 'rate', 'maxConns'];
	return html`<form class="card perf-section" onSubmit=${start} aria-labelledby="perf-start-h">
		<h2 id="perf-start-h">Start a load test</h2>
		<p class="muted">Runs on a runner agent with the <code>performance</code> capability (shared, or of namespace <strong>${ns}</strong>).
			${nodes.data ? (perfRunners.length ? html` ${perfRunners.length} such runner(s) connected (${perfRunners.map((n) => n.name).join(', ')}).` : html` <strong class="warn">No such runner is connected now: the run waits in the queue until one is</strong> (see Nodes).`) : ''}</p>
		<fieldset class="imp-sources"><legend>Target</legend><div class="row">
			<label class="inline radio"><input type="radio" name="perf-target" checked=${f.target === 'url'} onChange=${() => set({ target: 'url' })} /> A URL</label>
			<label class="inline radio"><input type="radio" name="perf-target" checked=${f.target === 'collection'} onChange=${() => set({ target: 'collection' })} /> A collection of the API tester</label>
		</div></fieldset>
		${f.target === 'url' ? html`<div class="row perf-target">
				<div><${Field} id="perf-method" label="Method"><select id="perf-method" value=${f.method} onChange=${(e) => set({ method: e.target.value })}>
					${METHODS.map((m) => html`<option value=${m}>${m}</option>`)}</select><//></div>
				<div class="spacer"><${Field} id="perf-url" label="Target URL" error=${fieldErr('url')}>
					<input id="perf-url" type="url" placeholder="http://127.0.0.1:5770/api/users/1" value=${f.url} aria-invalid=${fieldErr('url') ? 'true' : 'false'} onInput=${(e) => set({ url: e.target.value })} required /><//></div>
			</div>
			${f.method !== 'GET' && f.method !== 'HEAD' ? html`<div class="grid2">
				<${Field} id="perf-body" label="Body" hint="sent with every request" error=${fieldErr('body')}>
					<textarea id="perf-body" class="code" rows="4" value=${f.body} aria-invalid=${fieldErr('body') ? 'true' : 'false'} onInput=${(e) => set({ body: e.target.value })}></textarea><//>
				<${Field} id="perf-ctype" label="Content-Type"><input id="perf-ctype" value=${f.contentType} onInput=${(e) => set({ contentType: e.target.value })} /><//>
			</div>` : ''}`
			: html`<${Field} id="perf-coll" label="Collection" error=${fieldErr('collectionId')}>
				<select id="perf-coll" value=${f.collectionId} onChange=${(e) => set({ collectionId: e.target.value })}>
					<option value="">Choose a collection…</option>
					${items(colls.data, 'collections').map((c) => html`<option value=${c.id}>${c.name}</option>`)}
				</select><//>`}
		<fieldset class="imp-sources"><legend>Load</legend><div class="row">
			<label class="inline radio"><input type="radio" name="perf-load" checked=${f.load === 'vus'} onChange=${() => set({ load: 'vus' })} /> Virtual users (each sends its next request when the last one answered)</label>
			<label class="inline radio"><input type="radio" name="perf-load" checked=${f.load === 'rate'} onChange=${() => set({ load: 'rate' })} /> A fixed rate (requests per second)</label>
		</div></fieldset>
		<div class="grid2">
			${f.load === 'vus' ? html`<${Field} id="perf-vus" label="Virtual users" error=${fieldErr('vus')}>
				<input id="perf-vus" type="number" min="1" value=${f.vus} aria-invalid=${fieldErr('vus') ? 'true' : 'false'} onInput=${(e) => set({ vus: e.target.value })} /><//>`
			: html`<${Field} id="perf-rate" label="Rate (requests per second)" error=${fieldErr('rate')}>
				<input id="perf-rate" type="number" min="1" value=${f.rate} aria-invalid=${fieldErr('rate') ? 'true' : 'false'} onInput=${(e) => set({ rate: e.target.value })} /><//>
				<${Field} id="perf-conns" label="Connections at most" error=${fieldErr('maxConns')}>
				<input id="perf-conns" type="number" min="1" value=${f.maxConns} aria-invalid=${fieldErr('maxConns') ? 'true' : 'false'} onInput=${(e) => set({ maxConns: e.target.value })} /><//>`}
			<${Field} id="perf-duration" label="Duration" hint="e.g. 30s, 2m" error=${fieldErr('duration')}>
				<input id="perf-duration" value=${f.duration} aria-invalid=${fieldErr('duration') ? 'true' : 'false'} onInput=${(e) => set({ duration: e.target.value })} required /><//>
			<${Field} id="perf-name" label="Name" hint="optional">
				<input id="perf-name" value=${f.name} onInput=${(e) => set({ name: e.target.value })} /><//>
		</div>
		${error && !known.includes(error.field) ? html`<${ErrorBox} error=${error} />` : ''}
		<div class="row"><button class="primary" type="submit" disabled=${busy}>${busy ? 'Starting…' : 'Start load test'}</button></div>
	</form>`;
}

function Runs({ navigate, canWrite }) {
	const { data, error, loading, reload } = useAsync(() => api.get('/api/v1/perf-results', { limit: 50 }), []);
	const [picked, setPicked] = useState([]);
	const runs = items(data, 'runs', 'results');
	const toggle = (id) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));
	const del = async (id) => {
		try { await api.del('/api/v1/perf-results/' + enc(id)); toast('Run deleted'); setPicked((p) => p.filter((x) => x !== id)); reload(); } catch (e) { toast(e.message); }
	};
	const cols = [
		{ key: 'pick', label: 'Compare', render: (r) => html`<input type="checkbox" aria-label=${'Compare ' + (r.name || r.id)} checked=${picked.includes(r.id)} onChange=${() => toggle(r.id)} />` },
		{ key: 'name', label: 'Run', render: (r) => html`<a href=${'/ui/performance/' + enc(r.id)} onClick=${go(navigate, 'performance/' + enc(r.id))}>${r.name || r.id}</a>` },
		{ key: 'status', label: 'Status', render: (r) => html`<${StatusBadge} status=${r.status} />` },
		{ key: 'startedAt', label: 'Started', render: (r) => html`<span class="perf-time">${fmtTime(r.startedAt || r.createdAt)}</span>` },
		{ key: 'rps', label: 'req/s', num: true, render: (r) => (r.report ? fmtNum(r.report.rps, 1) : '–') },
		{ key: 'p95', label: 'p95 ms', num: true, render: (r) => (r.report && r.report.latencyMs ? fmtNum(r.report.latencyMs.p95, 2) : '–') },
		{ key: 'errors', label: 'Errors', num: true, render: (r) => (r.report ? fmtNum(r.report.errors) : '–') },
		{ key: 'runner', label: 'Runner', render: (r) => r.runner || '' },
	];
	if (canWrite) cols.push({ key: 'del', label: 'Delete', render: (r) => html`<${ConfirmButton} label="Delete" confirmLabel="Delete the run" onConfirm=${() => del(r.id)} />` });
	return html`<section class="perf-section" aria-labelledby="perf-runs-h">
		<h2 id="perf-runs-h">Past runs</h2>
		<div class="toolbar">
			<button class="primary" disabled=${picked.length !== 2} onClick=${() => navigate(`performance/compare/${enc(picked[0])}/${enc(picked[1])}`)}>Compare the two selected</button>
			<button onClick=${reload}>Refresh</button>
			<span class="muted" role="status">${loading ? 'Loading…' : `${runs.length} run(s)${picked.length ? `, ${picked.length} selected` : ''}`}</span>
		</div>
		<${ErrorBox} error=${error} />
		<${Table} label="Past load-test runs" rows=${runs} columns=${cols} empty="No load test has run in this namespace yet." />
	</section>`;
}

function LatencyTable({ lat, label = 'Latency percentiles' }) {
	const keys = [['min', 'min'], ['mean', 'mean'], ['p50', 'p50'], ['p90', 'p90'], ['p95', 'p95'], ['p99', 'p99'], ['p999', 'p99.9'], ['max', 'max']].filter(([k]) => lat[k] !== undefined);
	return html`<${Table} label=${label} rows=${keys.map(([k, l]) => ({ id: k, l, v: lat[k] }))}
		columns=${[{ key: 'l', label: 'Latency' }, { key: 'v', label: 'ms', num: true, render: (r) => fmtNum(r.v, 3) }]} />`;
}

function Report({ run }) {
	const r = run.report || {};
	const lat = r.latencyMs || {};
	const codes = Object.entries(r.statusCodes || {}).map(([code, n]) => ({ id: code, code, n }));
	const kinds = Object.entries(r.errorKinds || {}).map(([kind, n]) => ({ id: kind, kind, n }));
	const t0 = Math.floor(Date.parse(run.startedAt || run.createdAt || 0) / 1000) || 0; // the chart's x axis is wall-clock time
	const timeline = (r.timeline || []).map((t) => ({ t: t0 + t.second, v: [t.requests, t.p50Ms, t.p99Ms] }));
	return html`<section class="card perf-section" aria-labelledby="perf-report-h" id="perf-report">
		<h2 id="perf-report-h">Report</h2>
		<div class="cards">
			<${Stat} k="Requests" v=${fmtNum(r.requests)} id="rep-requests" />
			<${Stat} k="Requests per second" v=${fmtNum(r.rps, 1)} id="rep-rps" />
			<${Stat} k="Errors" v=${`${fmtNum(r.errors)} (${fmtNum((r.errorRate || 0) * 100, 2)} %)`} id="rep-errors" cls=${r.errors ? 'bad' : ''} />
			<${Stat} k="p95 latency" v=${fmtNum(lat.p95, 2) + ' ms'} id="rep-p95" />
			<${Stat} k="Duration" v=${fmtNum((r.durationMs || 0) / 1000, 1) + ' s'} id="rep-duration" />
			<${Stat} k="Thresholds" v=${!(r.thresholds || []).length ? 'none set' : run.passed === false ? 'failed' : 'passed'} id="rep-passed" cls=${!(r.thresholds || []).length ? '' : run.passed === false ? 'bad' : 'ok'} />
		</div>
		<div class="grid2">
			<div><h3>Latency</h3><${LatencyTable} lat=${lat} /></div>
			<div>
				<h3>Status codes</h3>
				<${Table} label="Status codes" rows=${codes} columns=${[{ key: 'code', label: 'Status' }, { key: 'n', label: 'Responses', num: true, render: (x) => fmtNum(x.n) }]} empty="No response." />
				<h3>Errors</h3>
				<${Table} label="Errors by kind" rows=${kinds} columns=${[{ key: 'kind', label: 'Kind' }, { key: 'n', label: 'Count', num: true, render: (x) => fmtNum(x.n) }]} empty="No error." />
			</div>
		</div>
		${(r.thresholds || []).length ? html`<h3>Thresholds</h3><${Table} label="Thresholds" rows=${r.thresholds.map((t, i) => ({ ...t, id: i }))}
			columns=${[{ key: 'metric', label: 'Metric', render: (t) => t.metric || t.name || '' }, { key: 'threshold', label: 'Threshold', render: (t) => t.threshold || t.expression || '' },
				{ key: 'actual', label: 'Actual', num: true, render: (t) => fmtNum(t.actual ?? t.value, 3) }, { key: 'ok', label: 'Result', render: (t) => ((t.ok ?? t.passed) ? html`<span class="badge ok">pass</span>` : html`<span class="badge bad">fail</span>`) }]} />` : ''}
		${timeline.length > 1 ? html`<h3>Per second</h3>
			<${LiveChart} id="perf-timeline-rps" label="Requests in each second of the run" series=${[{ label: 'requests' }]} samples=${timeline.map((x) => ({ t: x.t, v: [x.v[0]] }))} height=${140} />
			<${LiveChart} id="perf-timeline-lat" label="Latency in each second of the run" unit="ms" series=${[{ label: 'p50' }, { label: 'p99' }]} samples=${timeline.map((x) => ({ t: x.t, v: [x.v[1], x.v[2]] }))} digits=${2} height=${140} />` : ''}
		${run.error ? html`<${ErrorBox} error=${run.error} title="The run failed" />` : ''}
	</section>`;
}

function RunView({ id, navigate, canWrite }) {
	const [run, setRun] = useState(null);
	const [error, setError] = useState(null);
	const [rps, setRps] = useState([]);
	const [lat, setLat] = useState([]);
	const last = useRef(-1);

	useEffect(() => {
		let stop = false, timer;
		const tick = async () => {
			try {
				const r = await api.get('/api/v1/perf-results/' + enc(id));
				if (stop) return;
				setRun(r); setError(null);
				const p = r.progress;
				if (p && r.status === 'running' && p.elapsedMs !== last.current) {
					last.current = p.elapsedMs;
					const t = Date.now() / 1000;
					setRps((s) => ring(s, { t, v: [p.rps] }, 300));
					setLat((s) => ring(s, { t, v: [p.p50Ms, p.p95Ms, p.p99Ms] }, 300));
				}
				if (TERMINAL.includes(r.status)) return;
			} catch (e) {
				if (stop) return;
				setError(e);
				if (e.status === 404) return;
			}
			timer = setTimeout(tick, POLL_MS);
		};
		tick();
		return () => { stop = true; clearTimeout(timer); };
	}, [id]);

	const stopRun = async () => {
		try { setRun(await api.post('/api/v1/perf/stop/' + enc(id), {})); toast('Stop requested'); } catch (e) { setError(e); }
	};

	if (!run) return html`<${ErrorBox} error=${error} />${!error ? html`<${Loading} what="the run" />` : ''}`;
	const p = run.progress || {};
	const live = !TERMINAL.includes(run.status);
	return html`<div class="row"><h2 class="spacer" id="perf-run-h">${run.name || run.id}</h2><${StatusBadge} status=${run.status} /></div>
		<p class="muted"><span class="perf-time">Created ${fmtTime(run.createdAt)}${run.startedAt ? ', started ' + fmtTime(run.startedAt) : ''}${run.completedAt ? ', finished ' + fmtTime(run.completedAt) : ''}</span>${run.runner ? ` on runner ${run.runner}` : ''}.
			Options: <code>${JSON.stringify(run.options || {})}</code></p>
		<${ErrorBox} error=${error} />
		${live ? html`<section class="card perf-section perf-live" aria-labelledby="perf-live-h" id="perf-live">
			<div class="row"><h3 class="spacer" id="perf-live-h">Live</h3>
				${canWrite ? html`<${ConfirmButton} label="Stop the run" confirmLabel="Stop now" onConfirm=${stopRun} />` : ''}</div>
			${run.status === 'queued' ? html`<p class="notice" role="status">Queued: waiting for a runner agent with the performance capability (see Nodes).</p>` : ''}
			<${Progress} pct=${p.percent || 0} label="Run progress" />
			<div class="perf-figures" aria-live="off">
				<${Stat} k="Requests" v=${fmtNum(p.requests)} id="live-requests" />
				<${Stat} k="Errors" v=${fmtNum(p.errors)} id="live-errors" />
				<${Stat} k="Elapsed" v=${fmtNum((p.elapsedMs || 0) / 1000, 1) + ' s'} id="live-elapsed" />
				<${Stat} k="In flight" v=${fmtNum(p.concurrency)} id="live-inflight" />
			</div>
			<h3>Requests per second</h3>
			<${LiveChart} id="perf-rps" label="Requests per second" unit="req/s" series=${[{ label: 'req/s' }]} samples=${rps} digits=${0} height=${180} />
			<h3>Latency</h3>
			<${LiveChart} id="perf-lat" label="Latency percentiles" unit="ms" series=${[{ label: 'p50' }, { label: 'p95' }, { label: 'p99' }]} samples=${lat} digits=${2} height=${180} />
		</section>` : ''}
		${run.report ? html`<${Report} run=${run} />` : (!live ? html`<p class="notice">This run has no report${run.error ? '' : ' (it was stopped before the runner sent one)'}.</p>${run.error ? html`<${ErrorBox} error=${run.error} title="The run failed" />` : ''}` : '')}
		<p><a href="/ui/performance" onClick=${go(navigate, 'performance')}>All runs</a></p>`;
}

function ratioCell(d) {
	if (!d || d.a === null || d.a === undefined || d.b === null || d.b === undefined || Number(d.a) === 0) return '–';
	return fmtNum(Number(d.b) / Number(d.a), 2) + '×';
}

function Compare({ a, b, navigate }) {
	const { data, error, loading } = useAsync(() => api.get('/api/v1/perf-results/compare', { ids: `${a},${b}` }), [a, b]);
	if (loading && !data) return html`<${Loading} what="the comparison" />`;
	if (error) return html`<${ErrorBox} error=${error} />`;
	const [ra, rb] = data.runs || [];
	const diff = data.diff || {};
	// lower is better for latency and errors, higher for throughput
	const rows = [['rps', 'Requests per second', 1, true], ['p50', 'p50 latency (ms)', 3], ['p95', 'p95 latency (ms)', 3], ['p99', 'p99 latency (ms)', 3], ['errorRate', 'Error rate', 4]]
		.filter(([k]) => diff[k]).map(([k, label, digits, higherBetter]) => ({ id: k, label, digits, higherBetter, d: diff[k] }));
	const name = (r) => (r ? html`<a href=${'/ui/performance/' + enc(r.id)} onClick=${go(navigate, 'performance/' + enc(r.id))}>${r.name || r.id}</a>` : '?');
	return html`<p>A: ${name(ra)} <span class="muted perf-time">${ra ? fmtTime(ra.startedAt) : ''}</span> · B: ${name(rb)} <span class="muted perf-time">${rb ? fmtTime(rb.startedAt) : ''}</span></p>
		<${Table} label="Runs compared" rows=${rows} columns=${[
			{ key: 'label', label: 'Metric' },
			{ key: 'a', label: 'A', num: true, render: (r) => fmtNum(r.d.a, r.digits) },
			{ key: 'b', label: 'B', num: true, render: (r) => fmtNum(r.d.b, r.digits) },
			{ key: 'ratio', label: 'B / A', num: true, render: (r) => ratioCell(r.d) },
			{ key: 'change', label: 'Change', num: true, render: (r) => {
				const c = r.d.changePercent;
				if (c === null || c === undefined) return '–';
				const better = r.higherBetter ? c > 0 : c < 0;
				return html`<span class=${'perf-ratio ' + (c === 0 ? '' : better ? 'better' : 'worse')}>${c > 0 ? '+' : ''}${fmtNum(c, 1)} %</span>`;
			} },
		]} empty="These runs have no reports to compare." />
		<p><a href="/ui/performance" onClick=${go(navigate, 'performance')}>All runs</a></p>`;
}

export default function Performance({ ns, canWrite, route, navigate }) {
	const [p0, p1, p2] = route.parts;
	if (p0 === 'compare' && p1 && p2) {
		return html`<h1>Performance</h1><h2>Compare two runs</h2><${Compare} a=${p1} b=${p2} navigate=${navigate} />`;
	}
	if (p0) return html`<h1>Performance</h1><${RunView} key=${p0} id=${p0} navigate=${navigate} canWrite=${canWrite} />`;
	return html`<h1>Performance</h1>
		<p class="muted">Load tests of namespace <strong>${ns}</strong>: a runner agent sends the requests and reports requests per second and latency percentiles every second.</p>
		${canWrite ? html`<${StartForm} ns=${ns} navigate=${navigate} />` : html`<p class="notice">Your role in namespace ${ns} is viewer: you can look at runs but not start or stop them.</p>`}
		<${Runs} navigate=${navigate} canWrite=${canWrite} />`;
}
