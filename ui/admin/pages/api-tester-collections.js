// pages/api-tester-collections.js - API tester > Collections and > Environments. A collection is
// a Postman v2.1 document: the "New collection" dialog takes it pasted or loaded from a file (an
// export from Postman imports as is) and shows the server's compile errors at their field and
// the script lines it cannot translate (importWarnings). Running a collection (optionally with an
// environment) queues a run and opens its live page. Environments hold variables as a JSON
// object; one per namespace is active.

import { html, useState, useAsync, Table, Field, Dialog, ConfirmButton, ErrorBox, Loading, JsonEditor, toast, fmtTime } from '../kit/ui.js';
import { api, items } from '../kit/api.js';

const A = '/api/v1/api-tester';

const TEMPLATE = JSON.stringify({
	info: { name: 'My collection', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
	item: [{
		name: 'health',
		request: { method: 'GET', url: '{{base}}/health' },
		event: [{ listen: 'test', script: { exec: ["pm.test('status is 200', function () {", "  pm.response.to.have.status(200);", "});"] } }],
	}],
	variable: [{ key: 'base', value: location.origin }],
}, null, 2);

function NewCollection({ onClose, onSaved }) {
	const [name, setName] = useState('');
	const [text, setText] = useState(TEMPLATE);
	const [err, setErr] = useState(null);
	const [busy, setBusy] = useState(false);
	const [warnings, setWarnings] = useState(null);
	const loadFile = async (e) => {
		const f = e.target.files && e.target.files[0];
		if (f) setText(await f.text());
	};
	const submit = async (e) => {
		e.preventDefault();
		setBusy(true); setErr(null);
		try {
			// form (b) with a name, else form (c): the raw text, so a syntax error names its line
			const r = await api.post(A + '/collections', name.trim() ? { name: name.trim(), collection: text } : { data: text });
			onSaved();
			toast(`Collection ${r.name} saved`);
			if (r.importWarnings && r.importWarnings.length) setWarnings(r.importWarnings); else onClose();
		} catch (x) { setErr(x); } finally { setBusy(false); }
	};
	return html`<${Dialog} open=${true} id="collection-dialog" title="New collection" onClose=${onClose}>
		${warnings ? html`<div class="notice" role="status"><p>Saved. These script lines cannot be run and will count as skipped tests:</p>
				<ul>${warnings.map((w) => html`<li><strong>${w.request}</strong> line ${w.line}: <code>${w.text}</code> (${w.reason})</li>`)}</ul></div>
			<div class="row end"><button class="primary" onClick=${onClose}>Close</button></div>`
		: html`<form onSubmit=${submit} noValidate>
			<${Field} id="coll-name" label="Name" hint="optional: else the document's info.name">
				<input id="coll-name" value=${name} onInput=${(e) => setName(e.target.value)} /><//>
			<${Field} id="coll-file" label="Load a Postman export (.json)">
				<input id="coll-file" type="file" accept=".json,application/json" onChange=${loadFile} /><//>
			<${JsonEditor} id="coll-doc" label="Postman v2.1 collection" value=${text} rows=${14} error=${err} onChange=${(t) => setText(t)} />
			<div class="row end">
				<button type="button" onClick=${onClose}>Cancel</button>
				<button class="primary" type="submit" disabled=${busy}>Save collection</button>
			</div>
		</form>`}
	<//>`;
}

function RunDialog({ coll, envs, onClose, navigate }) {
	const active = envs.find((e) => e.isActive);
	const [envId, setEnvId] = useState(active ? active.id : '');
	const [err, setErr] = useState(null);
	const [busy, setBusy] = useState(false);
	const start = async (e) => {
		e.preventDefault();
		setBusy(true); setErr(null);
		try {
			const run = await api.post(`${A}/collections/${encodeURIComponent(coll.id)}/run`, envId ? { environmentId: envId } : {});
			onClose();
			navigate('api-tester/runs/' + encodeURIComponent(run.id));
		} catch (x) { setErr(x); setBusy(false); }
	};
	return html`<${Dialog} open=${true} id="run-dialog" title=${'Run ' + coll.name} onClose=${onClose}>
		<form onSubmit=${start}>
			<${Field} id="run-env" label="Environment">
				<select id="run-env" value=${envId} onChange=${(e) => setEnvId(e.target.value)}>
					<option value="">No environment (the collection's own variables)</option>
					${envs.map((e) => html`<option value=${e.id}>${e.name}${e.isActive ? ' (active)' : ''}</option>`)}
				</select><//>
			<p class="muted">A runner agent with the <code>api_test</code> capability executes the run; it waits in the queue until one is free.</p>
			<${ErrorBox} error=${err} />
			<div class="row end">
				<button type="button" onClick=${onClose}>Cancel</button>
				<button class="primary" type="submit" disabled=${busy}>Start run</button>
			</div>
		</form>
	<//>`;
}

export function Collections({ canWrite, navigate }) {
	const list = useAsync(() => api.get(A + '/collections'), []);
	const envs = useAsync(() => api.get(A + '/environments'), []);
	const [creating, setCreating] = useState(false);
	const [running, setRunning] = useState(null);
	const [err, setErr] = useState(null);
	const rows = items(list.data, 'collections');
	const act = async (fn, msg) => {
		setErr(null);
		try { await fn(); toast(msg); await list.reload(); } catch (x) { setErr(x); }
	};
	const columns = [
		{ key: 'name', label: 'Name' },
		{ key: 'requestCount', label: 'Requests', num: true },
		{ key: 'description', label: 'Description', render: (c) => c.description || '' },
		{ key: 'updatedAt', label: 'Updated', render: (c) => html`<span class="when">${fmtTime(c.updatedAt || c.createdAt)}</span>` },
		{ key: 'actions', label: 'Actions', render: (c) => html`<div class="row" role="group" aria-label=${'Actions for ' + c.name}>
			${canWrite ? html`<button class="primary" onClick=${() => setRunning(c)}>Run<span class="sr-only"> ${c.name}</span></button>` : ''}
			<button onClick=${() => navigate('api-tester/runs?collection=' + encodeURIComponent(c.id))}>Runs<span class="sr-only"> of ${c.name}</span></button>
			${canWrite ? html`<${ConfirmButton} label="Delete" confirmLabel=${'Delete ' + c.name}
				onConfirm=${() => act(() => api.del(`${A}/collections/${encodeURIComponent(c.id)}`), `${c.name} deleted`)} />` : ''}
		</div>` },
	];
	return html`<h2>Collections</h2>
		${canWrite ? html`<div class="toolbar"><button class="primary" onClick=${() => setCreating(true)}>New collection</button></div>` : ''}
		<${ErrorBox} error=${err || list.error} />
		${list.loading && !list.data ? html`<${Loading} what="collections" />`
			: html`<${Table} label="Collections" columns=${columns} rows=${rows} empty="No collections yet: create one or import a Postman export." />`}
		${creating ? html`<${NewCollection} onClose=${() => setCreating(false)} onSaved=${list.reload} />` : ''}
		${running ? html`<${RunDialog} coll=${running} envs=${items(envs.data, 'environments')} navigate=${navigate} onClose=${() => setRunning(null)} />` : ''}`;
}

function EnvForm({ env, onClose, onSaved }) {
	const [name, setName] = useState(env ? env.name : '');
	const [text, setText] = useState(JSON.stringify(env ? env.variables || {} : { base: location.origin }, null, 2));
	const [vars, setVars] = useState(env ? env.variables || {} : { base: location.origin });
	const [err, setErr] = useState(null);
	const [busy, setBusy] = useState(false);
	const submit = async (e) => {
		e.preventDefault();
		if (vars === undefined || typeof vars !== 'object' || Array.isArray(vars)) {
			setErr(Object.assign(new Error('variables must be a JSON object of name: value'), { field: 'variables' }));
			return;
		}
		setBusy(true); setErr(null);
		try {
			const body = { name: name.trim(), variables: vars };
			if (env) await api.put(`${A}/environments/${encodeURIComponent(env.id)}`, body);
			else await api.post(A + '/environments', body);
			toast(env ? 'Environment saved' : 'Environment created');
			onSaved(); onClose();
		} catch (x) { setErr(x); } finally { setBusy(false); }
	};
	const nameErr = err && /name/.test(String(err.field)) ? err.message : '';
	return html`<${Dialog} open=${true} id="env-dialog" title=${env ? 'Edit environment' : 'New environment'} onClose=${onClose}>
		<form onSubmit=${submit} noValidate>
			<${Field} id="env-name" label="Name" error=${nameErr}>
				<input id="env-name" value=${name} required onInput=${(e) => setName(e.target.value)} /><//>
			<${JsonEditor} id="env-vars" label="Variables" hint="a JSON object: {{name}} in a request is replaced by its value" rows=${8}
				value=${text} error=${nameErr ? null : err} onChange=${(t, parsed) => { setText(t); setVars(parsed); }} />
			<div class="row end">
				<button type="button" onClick=${onClose}>Cancel</button>
				<button class="primary" type="submit" disabled=${busy}>${env ? 'Save environment' : 'Create environment'}</button>
			</div>
		</form>
	<//>`;
}

export function Environments({ canWrite }) {
	const list = useAsync(() => api.get(A + '/environments'), []);
	const [editing, setEditing] = useState(undefined);
	const [err, setErr] = useState(null);
	const rows = items(list.data, 'environments');
	const act = async (fn, msg) => {
		setErr(null);
		try { await fn(); toast(msg); await list.reload(); } catch (x) { setErr(x); }
	};
	const base = (e) => `${A}/environments/${encodeURIComponent(e.id)}`;
	const columns = [
		{ key: 'name', label: 'Name' },
		{ key: 'variables', label: 'Variables', render: (e) => Object.keys(e.variables || {}).join(', ') },
		{ key: 'isActive', label: 'Active', render: (e) => (e.isActive ? html`<span class="badge ok">active</span>` : '') },
		{ key: 'actions', label: 'Actions', render: (e) => (canWrite ? html`<div class="row" role="group" aria-label=${'Actions for ' + e.name}>
			<button onClick=${() => setEditing(e)}>Edit<span class="sr-only"> ${e.name}</span></button>
			${e.isActive ? '' : html`<button onClick=${() => act(() => api.post(base(e) + '/activate', {}), `${e.name} is active`)}>Activate<span class="sr-only"> ${e.name}</span></button>`}
			<${ConfirmButton} label="Delete" confirmLabel=${'Delete ' + e.name} onConfirm=${() => act(() => api.del(base(e)), `${e.name} deleted`)} />
		</div>` : '') },
	];
	return html`<h2>Environments</h2>
		${canWrite ? html`<div class="toolbar"><button class="primary" onClick=${() => setEditing(null)}>New environment</button></div>` : ''}
		<${ErrorBox} error=${err || list.error} />
		${list.loading && !list.data ? html`<${Loading} what="environments" />`
			: html`<${Table} label="Environments" columns=${columns} rows=${rows} empty="No environments yet." />`}
		${editing !== undefined ? html`<${EnvForm} env=${editing} onClose=${() => setEditing(undefined)} onSaved=${list.reload} />` : ''}`;
}
