// pages/imports.js - the console's "Imports" page (/ui/imports): turn an OpenAPI / Swagger
// document (file, pasted text or URL), WireMock mappings, a Mockoon environment, a HAR file or a
// gRPC .proto into mocks. A preview (dry run: nothing is written) comes first and lists each
// operation with its method, route and what the import would do (create, update, skip), the
// warnings with their JSON pointer and the mocks that would go stale; Import then writes them
// and shows the report with links to the created mocks (/ui/mocks/<id>).
//
// Endpoints (docs/rest-api.md, docs/import.md): POST /api/v1/generators/openapi(/preview),
// /api/v1/import/{wiremock,mockoon,har}?dryRun=, /api/v1/generators/grpc(/preview).

import { html, useState, Field, ErrorBox, Table, Stat, toast } from '../kit/ui.js';
import { api, request } from '../kit/api.js';

const SOURCES = [
	{ id: 'openapi', label: 'OpenAPI / Swagger', accept: '.yaml,.yml,.json', hint: 'YAML or JSON, OpenAPI 3 or Swagger 2' },
	{ id: 'wiremock', label: 'WireMock mappings', accept: '.json', hint: 'one mapping or {"mappings":[...]}' },
	{ id: 'mockoon', label: 'Mockoon environment', accept: '.json', hint: 'an exported environment with "routes"' },
	{ id: 'har', label: 'HAR (browser recording)', accept: '.har,.json', hint: 'a HAR 1.2 file' },
	{ id: 'grpc', label: 'gRPC .proto', accept: '.proto', hint: 'one self-contained .proto file' },
];

// What the server calls an action, as the preview table says it.
const ACTIONS = { created: 'create', updated: 'update', skipped: 'skip', unchanged: 'skip' };

// The request of one source: { method, path, query, body | raw } for preview or import.
export function importRequest(src, form, dryRun) {
	if (src === 'openapi') {
		const body = { namespace: form.namespace, pathPrefix: form.pathPrefix || undefined, serverName: form.serverName || undefined, prune: form.prune };
		if (form.mode === 'url') body.url = form.url.trim(); else body.spec = form.text;
		return { path: '/api/v1/generators/openapi' + (dryRun ? '/preview' : ''), body };
	}
	if (src === 'grpc') {
		return {
			path: '/api/v1/generators/grpc' + (dryRun ? '/preview' : ''),
			body: { spec: form.text, fileName: form.fileName || 'service.proto', namespace: form.namespace, serverName: form.serverName || undefined, prune: form.prune },
		};
	}
	return {
		path: '/api/v1/import/' + src,
		query: { namespace: form.namespace, prune: form.prune ? 'true' : undefined, dryRun: dryRun ? 'true' : undefined },
		raw: form.text,
	};
}

async function send(src, form, dryRun) {
	const r = importRequest(src, form, dryRun);
	if (r.raw !== undefined) return request('POST', r.path, { query: r.query, raw: r.raw, headers: { 'Content-Type': 'application/json' } });
	return api.post(r.path, r.body);
}

function ActionBadge({ action }) {
	const a = ACTIONS[action] || action || '';
	const cls = a === 'create' ? 'ok' : a === 'update' ? 'warn' : '';
	return html`<span class=${'badge ' + cls}>${a}</span>`;
}

function Warnings({ list, title = 'Warnings' }) {
	if (!list || !list.length) return null;
	return html`<section aria-labelledby="imp-warn-h">
		<h3 id="imp-warn-h">${title} (${list.length})</h3>
		<ul class="imp-warnings">${list.map((w) => html`<li>
			${w.pointer ? html`<code>${w.pointer}</code> ` : ''}${w.line ? html`<span class="muted">line ${w.line}</span> ` : ''}${w.message || String(w)}</li>`)}</ul>
	</section>`;
}

function Errors({ list }) {
	if (!list || !list.length) return null;
	return html`<section aria-labelledby="imp-err-h"><h3 id="imp-err-h" class="bad">Errors (${list.length})</h3>
		<ul class="imp-warnings" role="alert">${list.map((e) => html`<li>
			${e.pointer ? html`<code>${e.pointer}</code> ` : ''}${e.line ? html`<span>line ${e.line}</span> ` : ''}${e.message || (typeof e === 'string' ? e : JSON.stringify(e))}</li>`)}</ul></section>`;
}

function opLabel(m) {
	return m.route === null || m.route === undefined ? html`<span class="muted">(gRPC method)</span>` : html`<code>${m.route}</code>`;
}

function PreviewTable({ result }) {
	const rows = result.mocks || [];
	return html`<${Table} label="Operations the import would write" rows=${rows} empty="The document holds no operation to import."
		columns=${[
			{ key: 'method', label: 'Method', render: (m) => html`<span class="method">${m.method || '–'}</span>` },
			{ key: 'route', label: 'Route', render: opLabel },
			{ key: 'action', label: 'Action', render: (m) => html`<${ActionBadge} action=${m.action} />` },
			{ key: 'id', label: 'Mock id', render: (m) => html`<code>${m.id}</code>` },
		]} />`;
}

function Stale({ list, prune }) {
	if (!list || !list.length) return null;
	return html`<section aria-labelledby="imp-stale-h"><h3 id="imp-stale-h">Stale mocks (${list.length})</h3>
		<p class="muted">Mocks of an earlier import of this source that the document no longer holds: ${prune ? 'they are deleted (soft delete; restore them on the Mocks page).' : 'they are kept (tick "Delete stale mocks" to delete them).'}</p>
		<${Table} label="Stale mocks" rows=${list} columns=${[
			{ key: 'method', label: 'Method', render: (m) => html`<span class="method">${m.method || '–'}</span>` },
			{ key: 'route', label: 'Route', render: opLabel },
			{ key: 'id', label: 'Mock id', render: (m) => html`<code>${m.id}</code>` },
			{ key: 'deleted', label: 'Deleted', render: (m) => (m.deleted ? 'yes' : 'no') },
		]} /></section>`;
}

function Report({ result, navigate }) {
	const written = (result.mocks || []).filter((m) => m.action === 'created' || m.action === 'updated');
	const link = (m) => html`<a href=${'/ui/mocks/' + encodeURIComponent(m.id)} onClick=${(e) => {
		if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
		e.preventDefault(); navigate('/ui/mocks/' + encodeURIComponent(m.id));
	}}>${m.id}</a>`;
	return html`<section class="card stack" aria-labelledby="imp-report-h" id="import-report">
		<h2 id="imp-report-h">Import report</h2>
		<p role="status">${result.message || ''}</p>
		<div class="cards">
			<${Stat} k="Created" v=${result.created ?? 0} id="imp-created" />
			<${Stat} k="Updated" v=${result.updated ?? 0} id="imp-updated" />
			<${Stat} k="Skipped (unchanged)" v=${result.skipped ?? 0} id="imp-skipped" />
			<${Stat} k="Stale" v=${(result.stale || []).length} id="imp-stale" />
		</div>
		<${Errors} list=${result.errors} />
		<${Warnings} list=${result.warnings} />
		${written.length ? html`<h3>Mocks written</h3>
			<${Table} label="Mocks written by the import" rows=${written} columns=${[
				{ key: 'method', label: 'Method', render: (m) => html`<span class="method">${m.method || '–'}</span>` },
				{ key: 'route', label: 'Route', render: opLabel },
				{ key: 'action', label: 'Action', render: (m) => html`<${ActionBadge} action=${m.action} />` },
				{ key: 'id', label: 'Mock', render: link },
			]} />` : ''}
		<${Stale} list=${result.stale} prune=${true} />
	</section>`;
}

export default function Imports({ ns, namespaces, canWrite, navigate }) {
	const [src, setSrc] = useState('openapi');
	const [form, setForm] = useState({ mode: 'paste', text: '', url: '', fileName: '', namespace: ns, pathPrefix: '', serverName: '', prune: false });
	const [preview, setPreview] = useState(null);
	const [report, setReport] = useState(null);
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState('');
	const source = SOURCES.find((s) => s.id === src);

	const set = (patch) => { setForm((f) => ({ ...f, ...patch })); setPreview(null); setError(null); };

	if (!canWrite) {
		return html`<h1>Imports</h1>
			<p class="notice">Importing writes mocks, and your role in namespace <strong>${ns}</strong> is viewer. Ask an editor or an admin, or use a token with the editor role.</p>`;
	}

	const onFile = async (e) => {
		const f = e.target.files && e.target.files[0];
		if (!f) return;
		const text = await f.text();
		set({ text, fileName: f.name });
		toast(`Loaded ${f.name} (${f.size} bytes)`);
	};

	const run = async (dryRun) => {
		setBusy(dryRun ? 'preview' : 'import'); setError(null);
		if (!dryRun) setReport(null);
		try {
			if (src === 'openapi' && form.mode === 'url' ? !form.url.trim() : !form.text.trim()) {
				throw Object.assign(new Error(src === 'openapi' && form.mode === 'url' ? 'Enter the URL of the document.' : 'Choose a file or paste the document.'), { field: 'input' });
			}
			if (src === 'grpc' && !form.serverName.trim()) throw Object.assign(new Error('A gRPC import needs a server name.'), { field: 'serverName' });
			const r = await send(src, form, dryRun);
			if (dryRun) setPreview(r);
			else { setReport(r); setPreview(null); toast(r.message || 'Imported'); }
		} catch (err) {
			setError(err);
		} finally { setBusy(''); }
	};

	// where an error belongs: the URL field, the server name, or the document itself
	const errAt = (where) => {
		if (!error) return '';
		const f = error.field || '';
		if (where === 'url' && (f === 'url' || f === '$.url')) return error.message;
		if (where === 'serverName' && /serverName/.test(f)) return error.message;
		if (where === 'input' && !/^(\$\.)?(url|serverName)$/.test(f)) return error.message + (f && f !== 'input' ? ` (at ${f})` : '');
		return '';
	};
	const inputErr = src === 'openapi' && form.mode === 'url' ? '' : errAt('input');
	const urlErr = src === 'openapi' && form.mode === 'url' ? errAt('url') || errAt('input') : '';

	return html`<h1>Imports</h1>
	<p class="muted">Turn a specification or another tool's mocks into mocks of namespace <strong>${form.namespace}</strong>. Preview first: nothing is written until you press Import. Importing the same source again merges (unchanged mocks are skipped, changed ones updated).</p>
	<div class="imp-form card">
		<fieldset class="imp-sources">
			<legend>Source</legend>
			<div class="row">${SOURCES.map((s) => html`<label class="inline radio"><input type="radio" name="imp-source" value=${s.id}
				checked=${src === s.id} onChange=${() => { setSrc(s.id); setPreview(null); setError(null); setReport(null); }} /> ${s.label}</label>`)}</div>
		</fieldset>
		${src === 'openapi' ? html`<fieldset class="imp-sources"><legend>Document from</legend><div class="row">
			${[['paste', 'Pasted text'], ['file', 'A file'], ['url', 'A URL']].map(([m, l]) => html`<label class="inline radio"><input type="radio" name="imp-mode" value=${m}
				checked=${form.mode === m} onChange=${() => set({ mode: m })} /> ${l}</label>`)}</div></fieldset>` : ''}
		${src === 'openapi' && form.mode === 'url' ? html`<${Field} id="imp-url" label="Document URL" hint="fetched by the admin node (http or https)" error=${urlErr}>
				<input id="imp-url" type="url" value=${form.url} placeholder="https://example.com/openapi.yaml" aria-invalid=${urlErr ? 'true' : 'false'}
					onInput=${(e) => set({ url: e.target.value })} /><//>`
			: html`
			${src !== 'openapi' || form.mode === 'file' ? html`<${Field} id="imp-file" label="File" hint=${source.hint}>
				<input id="imp-file" type="file" accept=${source.accept} onChange=${onFile} /><//>` : ''}
			<${Field} id="imp-text" label=${src === 'grpc' ? '.proto text' : 'Document'} hint=${form.fileName ? `from ${form.fileName}; you may edit it here` : source.hint} error=${inputErr}>
				<textarea id="imp-text" class="code" rows="12" spellcheck="false" value=${form.text} aria-invalid=${inputErr ? 'true' : 'false'}
					aria-describedby=${inputErr ? 'imp-text-error' : undefined} onInput=${(e) => set({ text: e.target.value })}></textarea><//>`}
		<div class="grid2">
			<${Field} id="imp-ns" label="Namespace">
				<select id="imp-ns" value=${form.namespace} onChange=${(e) => set({ namespace: e.target.value })}>
					${[...new Set([ns, ...(namespaces || [])])].map((n) => html`<option value=${n}>${n}</option>`)}
				</select><//>
			${src === 'openapi' ? html`<${Field} id="imp-prefix" label="Path prefix" hint="put before every route, e.g. /v2">
				<input id="imp-prefix" value=${form.pathPrefix} onInput=${(e) => set({ pathPrefix: e.target.value })} /><//>` : ''}
			${src === 'openapi' || src === 'grpc' ? html`<${Field} id="imp-server" label="Server name" hint=${src === 'grpc' ? 'required: the gRPC server the methods belong to' : 'optional: a generated server serves these mocks'} error=${errAt('serverName')}>
				<input id="imp-server" value=${form.serverName} aria-invalid=${errAt('serverName') ? 'true' : 'false'} onInput=${(e) => set({ serverName: e.target.value })} /><//>` : ''}
		</div>
		<label class="inline radio"><input type="checkbox" id="imp-prune" checked=${form.prune} onChange=${(e) => set({ prune: e.target.checked })} /> Delete stale mocks (those of an earlier import of this source that the document no longer holds)</label>
		${error && !inputErr && !urlErr && !errAt('serverName') ? html`<${ErrorBox} error=${error} />` : ''}
		<div class="row imp-actions">
			<button class="primary" disabled=${!!busy} onClick=${() => run(true)}>${busy === 'preview' ? 'Previewing…' : 'Preview'}</button>
			<button disabled=${!!busy || !preview} onClick=${() => run(false)} title=${preview ? '' : 'Preview first'}>${busy === 'import' ? 'Importing…' : 'Import'}</button>
			${!preview ? html`<span class="muted">Import is enabled after a preview of this input.</span>` : ''}
		</div>
	</div>
	${preview ? html`<section class="card stack" aria-labelledby="imp-prev-h" id="import-preview">
		<h2 id="imp-prev-h">Preview</h2>
		<p role="status" id="imp-prev-summary">${(preview.mocks || []).length} operation(s): ${preview.message || ''}</p>
		${preview.info && preview.info.title ? html`<p class="muted">${preview.info.title}${preview.info.version ? ' ' + preview.info.version : ''}${preview.info.specVersion ? ` (OpenAPI ${preview.info.specVersion})` : ''}</p>` : ''}
		<${PreviewTable} result=${preview} />
		<${Errors} list=${preview.errors} />
		<${Warnings} list=${preview.warnings} />
		<${Stale} list=${preview.stale} prune=${form.prune} />
	</section>` : ''}
	${report ? html`<${Report} result=${report} navigate=${navigate} />` : ''}`;
}
