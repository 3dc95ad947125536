// pages/undefined.js - the console's "Undefined requests" page: the requests of the namespace
// that no mock answered (GET /api/v1/undefined-requests), grouped by method and path with a count
// and when they were last seen; the captured headers (credentials redacted by the server) and
// body on expand; ignore, delete, delete all, and "Create a mock from this request"
// (POST /api/v1/undefined-requests/:id/create-mock), which opens the new mock in the Mocks editor.

import { html, useState, useAsync, ConfirmButton, ErrorBox, Loading, toast, fmtTime } from '../kit/ui.js';
import { api, items } from '../kit/api.js';

const enc = encodeURIComponent;

export default function Undefined({ navigate, canWrite }) {
	const list = useAsync(async () => items(await api.get('/api/v1/undefined-requests'), 'requests'), []);
	const [open, setOpen] = useState(() => new Set());
	const [showIgnored, setShowIgnored] = useState(false);
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(null);
	const all = list.data || [];
	const rows = all.filter((r) => showIgnored || !r.ignored);
	const ignoredCount = all.filter((r) => r.ignored).length;

	const act = async (key, fn) => {
		setBusy(key); setError(null);
		try { await fn(); } catch (e) { setError(e); } finally { setBusy(null); }
	};
	const toggle = (id) => { const s = new Set(open); if (s.has(id)) s.delete(id); else s.add(id); setOpen(s); };
	const ignore = (r) => act('ignore:' + r.id, async () => { await api.patch(`/api/v1/undefined-requests/${enc(r.id)}/ignore`, {}); toast(`${r.method} ${r.path} ignored`); await list.reload(); });
	const remove = (r) => act('delete:' + r.id, async () => { await api.del('/api/v1/undefined-requests', { body: { ids: [r.id] } }); toast(`${r.method} ${r.path} deleted`); await list.reload(); });
	const removeAll = () => act('all', async () => { await api.del('/api/v1/undefined-requests/all'); toast('All undefined requests deleted'); await list.reload(); });
	const createMock = (r) => act('mock:' + r.id, async () => {
		const m = await api.post(`/api/v1/undefined-requests/${enc(r.id)}/create-mock`, {});
		const mock = m.mock || m;
		toast(`Mock ${mock.id} created from ${r.method} ${r.path}`);
		navigate('mocks/' + enc(mock.id));
	});

	return html`<div class="mk">
		<div class="row"><h1>Undefined requests</h1><span class="spacer"></span>
			<button onClick=${() => list.reload()} disabled=${list.loading}>${list.loading ? 'Refreshing…' : 'Refresh'}</button>
			${canWrite && all.length ? html`<${ConfirmButton} label="Delete all" confirmLabel="Delete all undefined requests" onConfirm=${removeAll} />` : ''}</div>
		<p class="muted">Requests to this namespace that no mock answered (404). Create a mock from one to answer it from now on.</p>
		<div class="field"><label class="inline"><input type="checkbox" checked=${showIgnored} onChange=${(e) => setShowIgnored(e.target.checked)} />
			Show ignored${ignoredCount ? ` (${ignoredCount})` : ''}</label></div>
		<${ErrorBox} error=${list.error || error} title="Undefined requests" />
		${list.loading && !list.data ? html`<${Loading} what="undefined requests" />` : ''}
		${list.data && !rows.length ? html`<p class="muted" id="ud-empty">${all.length ? 'Every undefined request is ignored.' : 'No undefined requests: every request found a mock.'}</p>` : ''}
		${rows.length ? html`<div class="table-wrap"><table aria-label="Undefined requests">
			<thead><tr><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Protocol</th><th scope="col" class="num">Count</th>
				<th scope="col">Last seen</th><th scope="col">Actions</th></tr></thead>
			<tbody>${rows.map((r) => {
				const isOpen = open.has(r.id);
				return html`<tr key=${r.id} class=${r.ignored ? 'mk-ignored' : ''}>
					<td><span class="method">${r.method}</span></td>
					<td><code>${r.path}</code>${r.ignored ? html` <span class="badge">ignored</span>` : ''}</td>
					<td>${r.protocol || 'http'}</td>
					<td class="num">${r.count ?? r.hitCount ?? 1}</td>
					<td><span class="mk-time">${fmtTime(r.lastSeen || r.timestamp)}</span></td>
					<td><div class="row">
						<button aria-expanded=${isOpen ? 'true' : 'false'} aria-controls=${'ud-detail-' + r.id} onClick=${() => toggle(r.id)}>${isOpen ? 'Hide' : 'Details'}<span class="sr-only"> of ${r.method} ${r.path}</span></button>
						${canWrite ? html`<button class="primary" disabled=${!!busy} onClick=${() => createMock(r)}>Create a mock<span class="sr-only"> from ${r.method} ${r.path}</span></button>
							${!r.ignored ? html`<button disabled=${!!busy} onClick=${() => ignore(r)}>Ignore<span class="sr-only"> ${r.method} ${r.path}</span></button>` : ''}
							<${ConfirmButton} label="Delete" confirmLabel="Delete it" disabled=${!!busy} onConfirm=${() => remove(r)} />` : ''}
					</div></td></tr>
				${isOpen ? html`<tr id=${'ud-detail-' + r.id} class="mk-detail-row"><td colspan="6">
					<div class="grid2">
						<div><h3>Headers</h3><pre tabindex="0" aria-label=${'Headers of ' + r.method + ' ' + r.path}>${fmtHeaders(r.headers)}</pre></div>
						<div><h3>Body${r.bodyTruncated ? ` (first part of ${r.bodySize} bytes)` : ''}</h3>
							<pre tabindex="0" aria-label=${'Body of ' + r.method + ' ' + r.path}>${fmtBody(r.body)}</pre></div>
					</div>
					<p class="muted">First seen <span class="mk-time">${fmtTime(r.firstSeen)}</span>. Credential headers are shown as [redacted].</p>
				</td></tr>` : ''}`;
			})}</tbody></table></div>` : ''}
	</div>`;
}

function fmtHeaders(h) {
	if (!h || typeof h !== 'object') return '(none)';
	const lines = [];
	for (const [k, v] of Object.entries(h)) for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`);
	return lines.length ? lines.join('\n') : '(none)';
}

function fmtBody(b) {
	if (b === null || b === undefined || b === '') return '(no body)';
	return typeof b === 'string' ? b : JSON.stringify(b, null, 2);
}
