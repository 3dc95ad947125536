// pages/mocks-detail.js - the tabs of one mock besides its editor: Versions (list, a line diff of
// a chosen version against the current mock, restore), Request log (the last requests that
// matched, with refresh and clear) and, for HTTP mocks, "Test this mock" (a request sent to this
// admin node's mock traffic, showing status, headers, body and time).

import { html, useState, useAsync, Field, ConfirmButton, ErrorBox, Loading, toast, fmtTime } from '../kit/ui.js';
import { api, items } from '../kit/api.js';
import { HTTP_METHODS, editable, pretty, diffLines, samplePath, parseHeaders } from './mocks-model.js';

const enc = encodeURIComponent;

export function Versions({ mock, stamp, canWrite, onRestored }) {
	const versions = useAsync(async () => items(await api.get(`/api/v1/mocks/${enc(mock.id)}/versions`), 'versions'), [mock.id, stamp]);
	const [chosen, setChosen] = useState(null);
	const [error, setError] = useState(null);
	const list = versions.data || [];
	const latest = list.length ? Math.max(...list.map((v) => v.version || 0)) : 0;
	const pick = chosen !== null ? list.find((v) => v.version === chosen) : null;

	const restore = async (n) => {
		setError(null);
		try {
			await api.post(`/api/v1/mocks/${enc(mock.id)}/versions/${n}/restore`, {});
			toast(`Version ${n} restored as the current mock`);
			setChosen(null);
			await versions.reload();
			onRestored && onRestored();
		} catch (e) { setError(e); }
	};

	return html`<section aria-labelledby="mk-versions-h">
		<h2 id="mk-versions-h">Versions</h2>
		<p class="muted">Every save keeps a version. Compare one with the current mock, or restore it (a restore is saved as a new version).</p>
		<${ErrorBox} error=${versions.error || error} title="Versions" />
		${versions.loading && !versions.data ? html`<${Loading} what="versions" />` : ''}
		${versions.data && !list.length ? html`<p class="muted">No versions.</p>` : ''}
		${list.length ? html`<div class="table-wrap"><table aria-label="Versions">
			<thead><tr><th scope="col" class="num">Version</th><th scope="col">Saved</th><th scope="col">Tags</th><th scope="col">Actions</th></tr></thead>
			<tbody>${list.map((v) => html`<tr key=${v.version} class=${chosen === v.version ? 'selected' : ''}>
				<td class="num">${v.version}${v.version === latest ? ' (current)' : ''}</td>
				<td><span class="mk-time">${fmtTime(v.updatedAt || v.createdAt)}</span></td>
				<td>${(v.tags || []).join(', ')}</td>
				<td><div class="row">
					${v.version !== latest ? html`<button aria-pressed=${chosen === v.version ? 'true' : 'false'} onClick=${() => setChosen(chosen === v.version ? null : v.version)}>Compare version ${v.version}</button>` : ''}
					${canWrite && v.version !== latest ? html`<${ConfirmButton} label=${'Restore version ' + v.version} confirmLabel=${'Restore version ' + v.version + ' now'} danger=${false} onConfirm=${() => restore(v.version)} />` : ''}
				</div></td></tr>`)}</tbody></table></div>` : ''}
		${pick ? html`<${Diff} from=${pick} to=${mock} fromLabel=${'version ' + pick.version} toLabel="the current mock" />` : ''}
	</section>`;
}

export function Diff({ from, to, fromLabel, toLabel }) {
	const a = pretty(editable(from)).text, b = pretty(editable(to)).text;
	const d = diffLines(a, b);
	const added = d.filter((x) => x.op === '+').length, removed = d.filter((x) => x.op === '-').length;
	return html`<section class="mk-diff" aria-labelledby="mk-diff-h">
		<h3 id="mk-diff-h">Changes from ${fromLabel} to ${toLabel}</h3>
		<p id="mk-diff-sum">${added || removed ? `${added} line${added === 1 ? '' : 's'} added (+), ${removed} removed (−)` : 'No differences.'}</p>
		<pre class="mk-diff-body" tabindex="0" aria-labelledby="mk-diff-h mk-diff-sum">${d.map((x) => html`<div class=${x.op === '+' ? 'diff-add' : x.op === '-' ? 'diff-del' : ''}><span class="mk-sign">${x.op === ' ' ? ' ' : x.op === '+' ? '+' : '-'}</span> ${x.text}</div>`)}</pre>
	</section>`;
}

export function RequestLog({ mock, canWrite }) {
	const log = useAsync(() => api.get(`/api/v1/mocks/${enc(mock.id)}/logs`, { limit: 50 }), [mock.id]);
	const [error, setError] = useState(null);
	const rows = log.data ? items(log.data, 'logs', 'requests') : [];
	const clear = async () => {
		setError(null);
		try { await api.del(`/api/v1/mocks/${enc(mock.id)}/logs`); toast('Request log cleared'); await log.reload(); } catch (e) { setError(e); }
	};
	return html`<section aria-labelledby="mk-log-h">
		<div class="row"><h2 id="mk-log-h">Request log</h2><span class="spacer"></span>
			<button onClick=${() => log.reload()} disabled=${log.loading}>${log.loading ? 'Refreshing…' : 'Refresh'}</button>
			${canWrite && rows.length ? html`<${ConfirmButton} label="Clear log" confirmLabel="Clear the log" onConfirm=${clear} />` : ''}</div>
		<p class="muted">The last requests this mock answered (the node keeps a few per mock: <code>mockarty.log_limit</code>).</p>
		<${ErrorBox} error=${log.error || error} title="Request log" />
		${log.loading && !log.data ? html`<${Loading} what="the request log" />` : ''}
		${log.data && !rows.length ? html`<p class="muted" id="mk-log-empty">No request has matched this mock yet.</p>` : ''}
		${rows.length ? html`<ul class="mk-log">${rows.map((r, i) => {
			const req = r.req || r.request || {};
			const res = r.response || {};
			return html`<li key=${r.id || i}><details>
				<summary><span class="method">${req.method || ''}</span> <code>${req.path || ''}</code> → <strong>${res.statusCode ?? ''}</strong>
					<span class="muted mk-time"> ${fmtTime(r.calledAt)}</span></summary>
				<div class="grid2">
					<div><h3>Request</h3><pre tabindex="0">${JSON.stringify(req, null, 2)}</pre></div>
					<div><h3>Response</h3><pre tabindex="0">${JSON.stringify(res, null, 2)}</pre></div>
				</div></details></li>`;
		})}</ul>` : ''}
	</section>`;
}

export function TestMock({ mock }) {
	const h = mock.http || {};
	const [method, setMethod] = useState(h.httpMethod || 'GET');
	const [path, setPath] = useState(samplePath((mock.pathPrefix || '') + (h.route || '/')));
	const [headers, setHeaders] = useState('');
	const [body, setBody] = useState('');
	const [busy, setBusy] = useState(false);
	const [result, setResult] = useState(null);
	const [error, setError] = useState(null);
	const noBody = method === 'GET' || method === 'HEAD';

	const send = async (e) => {
		e.preventDefault();
		setBusy(true); setError(null); setResult(null);
		const p = path.startsWith('/') ? path : '/' + path;
		const hdrs = { 'X-Namespace': mock.namespace || 'sandbox', ...parseHeaders(headers) };
		const t0 = performance.now();
		try {
			// mock traffic of this admin node (same origin), in the mock's namespace; no console cookie
			const res = await fetch(p, { method, headers: hdrs, body: noBody || !body ? undefined : body, credentials: 'omit', redirect: 'manual' });
			const text = await res.text();
			const ms = performance.now() - t0;
			let shown = text;
			if ((res.headers.get('content-type') || '').includes('json')) { try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch { /* as sent */ } }
			setResult({ status: res.status, statusText: res.statusText, headers: [...res.headers.entries()], body: shown, ms });
		} catch (err) { setError(err); } finally { setBusy(false); }
	};

	return html`<section aria-labelledby="mk-test-h">
		<h2 id="mk-test-h">Test this mock</h2>
		<p class="muted">Sends a request to this node's mock traffic in namespace <code>${mock.namespace || 'sandbox'}</code> (header X-Namespace) and shows the answer.</p>
		<form onSubmit=${send} class="mk-test">
			<div class="mk-form">
				<${Field} id="mk-t-method" label="Method"><select id="mk-t-method" value=${method} onChange=${(e) => setMethod(e.target.value)}>
					${HTTP_METHODS.map((m) => html`<option value=${m}>${m}</option>`)}</select><//>
				<${Field} id="mk-t-path" label="Path" hint="with a query string if needed"><input id="mk-t-path" value=${path} aria-describedby="mk-t-path-hint"
					onInput=${(e) => setPath(e.target.value)} required /><//>
			</div>
			<${Field} id="mk-t-headers" label="Headers" hint="one per line, Name: value"><textarea id="mk-t-headers" class="code mk-small" rows="3"
				aria-describedby="mk-t-headers-hint" value=${headers} onInput=${(e) => setHeaders(e.target.value)}></textarea><//>
			${!noBody ? html`<${Field} id="mk-t-body" label="Body"><textarea id="mk-t-body" class="code mk-small" rows="5" value=${body}
				onInput=${(e) => setBody(e.target.value)}></textarea><//>` : ''}
			<button class="primary" type="submit" disabled=${busy}>${busy ? 'Sending…' : 'Send request'}</button>
		</form>
		<${ErrorBox} error=${error} title="The request failed" />
		<div role="status" aria-live="polite">${result ? html`<div class="card mk-result" id="mk-t-result">
			<p><strong>Status:</strong> <span id="mk-t-status" class=${result.status < 400 ? 'ok' : 'bad'}>${result.status} ${result.statusText}</span>
				· <strong>Time:</strong> <span class="mk-ms">${result.ms.toFixed(1)} ms</span></p>
			<h3>Headers</h3><pre tabindex="0" class="mk-t-headers">${result.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}</pre>
			<h3>Body</h3><pre tabindex="0" id="mk-t-body-out">${result.body || '(empty)'}</pre>
		</div>` : ''}</div>
	</section>`;
}
