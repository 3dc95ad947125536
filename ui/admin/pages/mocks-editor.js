// pages/mocks-editor.js - the mock editor of the Mocks page: a JSON editor holding the whole mock
// (any protocol; a new mock starts from a protocol template) and a small form for the common
// fields (id, method and route of an HTTP mock, tags, folder) kept in step with the JSON.
// Saving posts the document to /api/v1/mocks (an upsert by id); a validation error of the
// server is shown at its field: at the form control it names, else under the JSON with the line
// the JSON path starts on. A JSON syntax error is shown at its line and column and nothing is sent.

import { html, useState, useRef, Field, JsonEditor, ErrorBox, jsonErrorAt } from '../kit/ui.js';
import { api, items } from '../kit/api.js';
import { PROTOCOLS, PROTOCOL_LABEL, HTTP_METHODS, protocolOf, editable, template, pretty, lineOf } from './mocks-model.js';
import { useFolders } from './mocks.js';

// form control ids for the JSON paths the server may name
const FIELD_CONTROL = [
	[/^\$\.id\b/, 'mk-id'], [/^\$\.http\.route\b/, 'mk-route'], [/^\$\.http\.httpMethod\b/, 'mk-method'],
	[/^\$\.tags\b/, 'mk-tags'], [/^\$\.folderId\b/, 'mk-folder'],
];

export function MockEditor({ mock, isNew, protocol, canWrite, onSaved }) {
	const initial = isNew ? template(protocol) : editable(mock);
	const [text, setText] = useState(() => pretty(initial).text);
	const [obj, setObj] = useState(initial);
	const [syntax, setSyntax] = useState('');
	const [proto, setProto] = useState(isNew ? protocol : protocolOf(mock));
	const [tagsText, setTagsText] = useState((initial.tags || []).join(', '));
	const [error, setError] = useState(null); // { message, field, control, line }
	const [busy, setBusy] = useState(false);
	const folders = useFolders();
	const area = useRef(null);

	const fromJson = (t, parsed) => {
		setText(t);
		if (parsed === undefined || parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
			let msg = '';
			try { JSON.parse(t); msg = 'the mock must be a JSON object'; } catch (e) { msg = jsonErrorAt(t, e); }
			setSyntax(msg);
			return;
		}
		setSyntax('');
		setObj(parsed);
		setTagsText(Array.isArray(parsed.tags) ? parsed.tags.join(', ') : '');
		const p = protocolOf(parsed);
		if (p) setProto(p);
	};
	// a form control changed: rewrite the JSON from the object
	const update = (fn) => {
		const next = JSON.parse(JSON.stringify(obj));
		fn(next);
		setObj(next);
		setText(pretty(next).text);
		if (error && error.control) setError(null);
	};
	const chooseTemplate = (p) => {
		const t = template(p);
		if (obj.id) t.id = obj.id;
		if (Array.isArray(obj.tags)) t.tags = obj.tags;
		if (obj.folderId) t.folderId = obj.folderId;
		setProto(p); setObj(t); setText(pretty(t).text); setSyntax(''); setError(null);
	};

	const save = async (e) => {
		e && e.preventDefault();
		if (syntax) { setError({ message: 'Fix the JSON first: ' + syntax, control: null }); area.current && area.current.focus(); return; }
		setBusy(true); setError(null);
		try {
			const body = { ...obj };
			if (body.id === '') delete body.id;
			if (isNew && body.id) {
				// a save is an upsert: do not overwrite another mock from the "new" form
				// (a list search rather than GET /mocks/:id, whose 404 the browser would log as an error)
				const found = await api.get('/api/v1/mocks', { search: body.id, includeDeleted: 'true', limit: 1000 });
				const exists = items(found, 'mocks').some((m) => m.id === body.id);
				if (exists) {
					setError({ message: `a mock with id "${body.id}" already exists in this namespace: open it to change it, or choose another id`, field: '$.id', control: 'mk-id' });
					document.getElementById('mk-id')?.focus();
					return;
				}
			}
			const r = await api.post('/api/v1/mocks', body);
			onSaved && onSaved(r.mock || r);
		} catch (err) {
			const field = err.field || '';
			const hit = FIELD_CONTROL.find(([re]) => re.test(field));
			const control = hit && (hit[1] !== 'mk-route' && hit[1] !== 'mk-method' || proto === 'http') ? hit[1] : null;
			const line = field && field.startsWith('$') ? lineOf(pretty(obj).lines, field) : 0;
			setError({ message: err.message, field, control, line, status: err.status });
			if (control) document.getElementById(control)?.focus();
			else if (field && area.current) selectLine(area.current, text, line);
		} finally { setBusy(false); }
	};

	const ctlError = (id) => (error && error.control === id ? error.message : '');
	const invalid = (id) => (error && error.control === id ? 'true' : 'false');
	const jsonError = error && !error.control && error.field
		? { message: error.message + (error.line ? ` (line ${error.line} of the JSON)` : ''), field: error.field } : null;
	const http = obj.http || {};
	const formOff = !!syntax || !canWrite;

	return html`<form class="mk-editor" onSubmit=${save} aria-label=${isNew ? 'New mock' : 'Edit mock'} novalidate>
		${isNew ? html`<div class="mk-proto"><${Field} id="mk-protocol" label="Protocol" hint="loads a template for that protocol">
			<select id="mk-protocol" value=${proto} onChange=${(e) => chooseTemplate(e.target.value)}>
				${PROTOCOLS.map((p) => html`<option value=${p}>${PROTOCOL_LABEL[p]}</option>`)}
			</select><//></div>` : ''}
		${canWrite ? html`<div class="mk-form">
			<${Field} id="mk-id" label="ID" hint=${isNew ? 'empty = generated' : 'fixed once saved'} error=${ctlError('mk-id')}>
				<input id="mk-id" value=${obj.id || ''} disabled=${formOff} readonly=${!isNew} aria-invalid=${invalid('mk-id')}
					aria-describedby=${ctlError('mk-id') ? 'mk-id-error' : 'mk-id-hint'} onInput=${(e) => update((o) => { o.id = e.target.value; })} /><//>
			${proto === 'http' ? html`
				<${Field} id="mk-method" label="Method" error=${ctlError('mk-method')}>
					<select id="mk-method" value=${http.httpMethod || ''} disabled=${formOff} aria-invalid=${invalid('mk-method')}
						aria-describedby=${ctlError('mk-method') ? 'mk-method-error' : undefined}
						onChange=${(e) => update((o) => { o.http = o.http || {}; if (e.target.value) o.http.httpMethod = e.target.value; else delete o.http.httpMethod; })}>
						<option value="">Any method</option>
						${HTTP_METHODS.map((m) => html`<option value=${m}>${m}</option>`)}
					</select><//>
				<${Field} id="mk-route" label="Route" hint="e.g. /api/users/:id" error=${ctlError('mk-route')}>
					<input id="mk-route" value=${http.route || ''} disabled=${formOff} aria-invalid=${invalid('mk-route')}
						aria-describedby=${ctlError('mk-route') ? 'mk-route-error' : 'mk-route-hint'}
						onInput=${(e) => update((o) => { o.http = o.http || {}; o.http.route = e.target.value; })} /><//>` : ''}
			<${Field} id="mk-tags" label="Tags" hint="comma-separated" error=${ctlError('mk-tags')}>
				<input id="mk-tags" value=${tagsText} disabled=${formOff} aria-invalid=${invalid('mk-tags')}
					aria-describedby=${ctlError('mk-tags') ? 'mk-tags-error' : 'mk-tags-hint'}
					onInput=${(e) => { const v = e.target.value; update((o) => { o.tags = v.split(',').map((t) => t.trim()).filter(Boolean); }); setTagsText(v); }} /><//>
			<${Field} id="mk-folder" label="Folder" error=${ctlError('mk-folder')}>
				<select id="mk-folder" value=${obj.folderId || ''} disabled=${formOff} aria-invalid=${invalid('mk-folder')}
					aria-describedby=${ctlError('mk-folder') ? 'mk-folder-error' : undefined}
					onChange=${(e) => update((o) => { if (e.target.value) o.folderId = e.target.value; else delete o.folderId; })}>
					<option value="">No folder</option>
					${(folders.data || []).map((f) => html`<option value=${f.id}>${'\u00a0\u00a0'.repeat(f.depth) + f.name}</option>`)}
					${obj.folderId && folders.data && !folders.data.some((f) => f.id === obj.folderId) ? html`<option value=${obj.folderId}>${obj.folderId} (unknown folder)</option>` : ''}
				</select><//>
		</div>` : ''}
		${syntax && canWrite ? html`<p class="muted">The form is off while the JSON does not parse.</p>` : ''}
		${canWrite ? html`<div ref=${(el) => { area.current = el ? el.querySelector('textarea') : null; }}>
			<${JsonEditor} id="mk-json" label="Mock (JSON)" value=${text} onChange=${fromJson} error=${jsonError} rows=${22}
				hint="the whole mock: conditions, response, oneOf, proxy, webhooks..." />
		</div>` : html`<h2 id="mk-json-h">Mock (JSON)</h2><pre class="mk-json" tabindex="0" aria-labelledby="mk-json-h">${text}</pre>`}
		${error && !error.control && !error.field ? html`<${ErrorBox} error=${error.message} title="Not saved" />` : ''}
		${error && (error.control || error.field) ? html`<p class="sr-only" role="alert">Not saved: ${error.message}</p>` : ''}
		${canWrite ? html`<div class="row"><button class="primary" type="submit" disabled=${busy}>${busy ? 'Saving…' : isNew ? 'Create mock' : 'Save'}</button>
			<button type="button" disabled=${!!syntax} onClick=${() => setText(pretty(obj).text)}>Format JSON</button></div>` : ''}
	</form>`;
}

// Puts the caret on line n (1-based) of the textarea and scrolls it there.
function selectLine(ta, text, n) {
	if (!n) { ta.focus(); return; }
	const lines = text.split('\n');
	let start = 0;
	for (let i = 0; i < n - 1 && i < lines.length; i++) start += lines[i].length + 1;
	const end = start + (lines[n - 1] || '').length;
	ta.focus();
	ta.setSelectionRange(start, end);
	const lh = parseFloat(getComputedStyle(ta).lineHeight) || 18;
	ta.scrollTop = Math.max(0, (n - 4) * lh);
}
