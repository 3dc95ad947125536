// pages/stores.js - the console's "Stores" page (/ui/stores, /ui/stores/chain/<chainId>): the
// namespace's global store and the chain stores that mocks read and write ($.gS / $.cS), as a
// key / value table with JSON values. Add and edit open a dialog with a JSON editor (a syntax
// error is shown at its line and column and nothing is sent); delete asks first. Chain ids are
// offered from the chainId of the namespace's mocks, and any other id can be typed.
//
// Endpoints (docs/rest-api.md): GET/POST /api/v1/stores/global, DELETE /api/v1/stores/global/{key},
// GET/POST /api/v1/stores/chain/{chainId}, DELETE /api/v1/stores/chain/{chainId}/{key};
// GET /api/v1/mocks (for the chain ids).

import { html, useState, useAsync, Table, Field, Dialog, JsonEditor, ConfirmButton, ErrorBox, Loading, Tabs, toast } from '../kit/ui.js';
import { api, items } from '../kit/api.js';

const enc = encodeURIComponent;

function storePath(chainId) {
	return chainId ? `/api/v1/stores/chain/${enc(chainId)}` : '/api/v1/stores/global';
}

// The store's entries as rows whatever the envelope ({key: value} or {"store": {...}}/{"data":...}).
export function storeRows(data) {
	let obj = data;
	if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
		for (const k of ['store', 'data', 'values']) {
			if (obj[k] && typeof obj[k] === 'object' && !Array.isArray(obj[k]) && Object.keys(obj).length <= 3) { obj = obj[k]; break; }
		}
	}
	if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return [];
	return Object.keys(obj).sort().map((key) => ({ key, value: obj[key] }));
}

function EditDialog({ open, entry, chainId, onClose, onSaved }) {
	const isNew = !entry || entry.isNew;
	const [key, setKey] = useState(isNew ? '' : entry.key);
	const [text, setText] = useState(isNew ? '""' : JSON.stringify(entry.value, null, 2));
	const [parsed, setParsed] = useState(isNew ? '' : entry.value);
	const [valid, setValid] = useState(true);
	const [error, setError] = useState(null);
	const [keyError, setKeyError] = useState('');
	const [busy, setBusy] = useState(false);

	const save = async (e) => {
		e.preventDefault();
		setError(null); setKeyError('');
		if (!key.trim()) { setKeyError('A key is required.'); return; }
		if (!valid) return; // the editor already shows the syntax error at its line
		setBusy(true);
		try {
			await api.post(storePath(chainId), { key: key.trim(), value: parsed });
			toast(`Saved ${key.trim()}`);
			onSaved();
		} catch (err) {
			if (/key/i.test(err.field || '')) setKeyError(err.message); else setError(err);
		} finally { setBusy(false); }
	};

	return html`<${Dialog} open=${open} id="store-dlg" title=${isNew ? 'Add a key' : `Edit ${entry.key}`} onClose=${onClose}>
		<form onSubmit=${save}>
			<${Field} id="store-key" label="Key" error=${keyError}>
				<input id="store-key" value=${key} readOnly=${!isNew} aria-invalid=${keyError ? 'true' : 'false'} onInput=${(e) => setKey(e.target.value)} required /><//>
			<${JsonEditor} id="store-value" label="Value (JSON)" hint="any JSON: a string in quotes, a number, an object…" rows=${10}
				value=${text} error=${error} onChange=${(t, p) => { setText(t); setValid(p !== undefined); setParsed(p); setError(null); }} />
			<div class="row end">
				<button type="button" onClick=${onClose}>Cancel</button>
				<button class="primary" type="submit" disabled=${busy || !valid}>${busy ? 'Saving…' : 'Save'}</button>
			</div>
		</form>
	<//>`;
}

// A value as the table shows it: JSON, cut at 400 characters (Edit shows it whole).
export function shortJson(v) {
	const t = JSON.stringify(v, null, 1);
	return t.length > 400 ? t.slice(0, 400) + ' …' : t;
}

function StoreTable({ chainId, canWrite, label }) {
	const { data, error, loading, reload } = useAsync(() => api.get(storePath(chainId)), [chainId]);
	const [editing, setEditing] = useState(null);
	const [delError, setDelError] = useState(null);
	const rows = storeRows(data);

	const del = async (key) => {
		setDelError(null);
		try {
			await api.del(`${storePath(chainId)}/${enc(key)}`);
			toast(`Deleted ${key}`);
			reload();
		} catch (err) { setDelError(err); }
	};

	const columns = [
		{ key: 'key', label: 'Key', render: (r) => html`<code>${r.key}</code>` },
		{ key: 'value', label: 'Value', render: (r) => html`<code class="store-value">${shortJson(r.value)}</code>` },
	];
	if (canWrite) {
		columns.push({
			key: 'actions', label: 'Actions', render: (r) => html`<div class="row">
				<button aria-label=${'Edit ' + r.key} onClick=${() => setEditing(r)}>Edit</button>
				<${ConfirmButton} label=${'Delete ' + r.key} confirmLabel=${'Delete ' + r.key + ' for good'} onConfirm=${() => del(r.key)} /></div>`,
		});
	}

	return html`<section aria-label=${label}>
		<div class="toolbar">
			${canWrite ? html`<button class="primary" onClick=${() => setEditing({ isNew: true })}>Add a key</button>` : ''}
			<button onClick=${reload}>Refresh</button>
			<span class="muted" role="status">${loading ? 'Loading…' : `${rows.length} key(s)`}</span>
		</div>
		<${ErrorBox} error=${error} title="Could not read the store" />
		<${ErrorBox} error=${delError} title="Could not delete" />
		${loading && data === undefined ? html`<${Loading} what="the store" />` : html`<${Table} label=${label} rows=${rows} rowKey=${(r) => r.key} columns=${columns}
			empty=${canWrite ? 'This store is empty. Mocks fill it with $.gS / $.cS writes, or add a key here.' : 'This store is empty.'} />`}
		${editing ? html`<${EditDialog} open=${true} entry=${editing} chainId=${chainId} onClose=${() => setEditing(null)}
			onSaved=${() => { setEditing(null); reload(); }} />` : ''}
	</section>`;
}

function ChainPicker({ chainId, onOpen }) {
	const [value, setValue] = useState(chainId || '');
	const known = useAsync(async () => {
		const d = await api.get('/api/v1/mocks', { limit: 1000 });
		return [...new Set(items(d, 'mocks').map((m) => m.chainId).filter(Boolean))].sort();
	}, []);
	const ids = known.data || [];
	return html`<form class="row store-chain" onSubmit=${(e) => { e.preventDefault(); if (value.trim()) onOpen(value.trim()); }}>
		<div class="spacer"><${Field} id="chain-id" label="Chain id" hint=${ids.length ? `${ids.length} known from the mocks; or type one` : 'type the chainId of your mocks'}>
			<input id="chain-id" list="chain-ids" value=${value} onInput=${(e) => setValue(e.target.value)} required /><//></div>
		<datalist id="chain-ids">${ids.map((c) => html`<option value=${c}></option>`)}</datalist>
		<button type="submit">Open</button>
	</form>
	${ids.length ? html`<p class="muted">Chains of this namespace's mocks: ${ids.map((c, i) => html`${i ? ', ' : ''}<button class="link" onClick=${() => { setValue(c); onOpen(c); }}>${c}</button>`)}</p>` : ''}`;
}

export default function Stores({ ns, canWrite, route, navigate }) {
	const tab = route.parts[0] === 'chain' ? 'chain' : 'global';
	const chainId = tab === 'chain' ? route.parts[1] || '' : '';
	return html`<h1>Stores</h1>
	<p class="muted">Values mocks share in namespace <strong>${ns}</strong>: the global store, and one store per chain of mocks (chainId).</p>
	<${Tabs} label="Store" current=${tab} tabs=${[{ id: 'global', label: 'Global store' }, { id: 'chain', label: 'Chain stores' }]}
		onSelect=${(id) => navigate(id === 'chain' ? 'stores/chain' : 'stores')} />
	${tab === 'global' ? html`<${StoreTable} key="global" canWrite=${canWrite} label="Global store" />`
		: html`<${ChainPicker} key=${'p:' + chainId} chainId=${chainId} onOpen=${(c) => navigate('stores/chain/' + enc(c))} />
			${chainId ? html`<h2>Chain <code>${chainId}</code></h2><${StoreTable} key=${'c:' + chainId} chainId=${chainId} canWrite=${canWrite} label=${'Store of chain ' + chainId} />` : ''}`}`;
}
