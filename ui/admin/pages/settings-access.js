// pages/settings-access.js - Settings > Integrations and Settings > API tokens: the credentials
// that nodes (mki_ integration tokens: resolvers, runners, the orchestrator) and people or CI
// (mk_ API tokens) present. A secret is shown exactly once, in the dialog that created it, with
// a Copy button; closing the dialog drops it from the page's state (the server keeps only a hash,
// so nothing can show it again).

import { html, useState, useAsync, Table, Field, Dialog, ConfirmButton, CopyButton, ErrorBox, Loading, toast, fmtTime } from '../kit/ui.js';
import { api, items } from '../kit/api.js';

// A field's error when err names it ("name", "$.name", "namespace", ...), else ''.
export function fieldError(err, name) {
	if (!err || !err.field) return '';
	const f = String(err.field).replace(/^\$\.?/, '').replace(/^body\./, '');
	return f === name || f.startsWith(name + '[') || f.startsWith(name + '.') ? err.message : '';
}

// The one-time secret: the token text, a Copy button and the warning that it is not shown again.
export function SecretOnce({ token, what }) {
	return html`<div class="secret-once">
		<p role="alert" class="warn-strong">Copy the ${what} now: it is not shown again. Closing this dialog removes it from the page.</p>
		<div class="row">
			<code class="secret" id="secret-value" aria-label=${'The new ' + what}>${token}</code>
			<${CopyButton} text=${token} label=${'Copy ' + what} />
		</div>
	</div>`;
}

function EnabledBadge({ on }) {
	return html`<span class=${'badge ' + (on ? 'ok' : 'warn')}>${on ? 'enabled' : 'disabled'}</span>`;
}

const TYPES = [
	['mock_resolver', 'Mock resolver'],
	['test_runner', 'Test runner'],
	['orchestrator', 'Orchestrator'],
];

function CreateIntegration({ namespaces, onClose, onCreated }) {
	const [name, setName] = useState('');
	const [type, setType] = useState('mock_resolver');
	const [ns, setNs] = useState('');
	const [err, setErr] = useState(null);
	const [busy, setBusy] = useState(false);
	const [made, setMade] = useState(null); // { integration, token } until the dialog closes

	const submit = async (e) => {
		e.preventDefault();
		setBusy(true); setErr(null);
		try {
			const body = { name: name.trim(), type };
			if (ns) body.namespace = ns;
			const r = await api.post('/ui/api/integrations', body);
			setMade(r);
			onCreated();
		} catch (x) { setErr(x); } finally { setBusy(false); }
	};
	const close = () => { setMade(null); onClose(); };

	return html`<${Dialog} open=${true} id="integration-dialog" title=${made ? 'Integration created' : 'Create integration'} onClose=${close}>
		${made ? html`<p>Integration <strong>${made.integration && made.integration.name}</strong> (${made.integration && made.integration.type}) is ready.
				Give this token to the node as <code>API_TOKEN</code>.</p>
			<${SecretOnce} token=${made.token} what="integration token" />
			<div class="row end"><button class="primary" onClick=${close}>Close</button></div>`
		: html`<form onSubmit=${submit} noValidate>
			<${Field} id="int-name" label="Name" error=${fieldError(err, 'name')}>
				<input id="int-name" value=${name} required onInput=${(e) => setName(e.target.value)} aria-invalid=${fieldError(err, 'name') ? 'true' : 'false'} /><//>
			<${Field} id="int-type" label="Type" error=${fieldError(err, 'type')}>
				<select id="int-type" value=${type} onChange=${(e) => setType(e.target.value)}>
					${TYPES.map(([v, l]) => html`<option value=${v}>${l} (${v})</option>`)}
				</select><//>
			<${Field} id="int-ns" label="Namespace" hint="optional: a node bound to one namespace sees only its mocks and tasks" error=${fieldError(err, 'namespace')}>
				<select id="int-ns" value=${ns} onChange=${(e) => setNs(e.target.value)}>
					<option value="">Any namespace (shared)</option>
					${namespaces.map((n) => html`<option value=${n}>${n}</option>`)}
				</select><//>
			${err && !['name', 'type', 'namespace'].some((f) => fieldError(err, f)) ? html`<${ErrorBox} error=${err} />` : ''}
			<div class="row end">
				<button type="button" onClick=${close}>Cancel</button>
				<button class="primary" type="submit" disabled=${busy}>Create integration</button>
			</div>
		</form>`}
	<//>`;
}

export function Integrations({ canWrite, namespaces }) {
	const list = useAsync(() => api.get('/ui/api/integrations'), []);
	const [creating, setCreating] = useState(false);
	const [err, setErr] = useState(null);
	const rows = items(list.data, 'integrations');

	const act = async (fn, msg) => {
		setErr(null);
		try { await fn(); toast(msg); await list.reload(); } catch (x) { setErr(x); }
	};
	const columns = [
		{ key: 'name', label: 'Name' },
		{ key: 'type', label: 'Type', render: (r) => html`<code>${r.type}</code>` },
		{ key: 'namespace', label: 'Namespace', render: (r) => r.namespace || html`<span class="muted">any</span>` },
		{ key: 'enabled', label: 'Status', render: (r) => html`<${EnabledBadge} on=${r.enabled} />` },
		{ key: 'createdAt', label: 'Created', render: (r) => html`<span class="when">${fmtTime(r.createdAt || r.created_at)}</span>` },
	];
	if (canWrite) columns.push({ key: 'actions', label: 'Actions', render: (r) => html`<div class="row" role="group" aria-label=${'Actions for ' + r.name}>
		<button onClick=${() => act(() => api.put('/ui/api/integrations/' + encodeURIComponent(r.id), { enabled: !r.enabled }), `${r.name} ${r.enabled ? 'disabled' : 'enabled'}`)}>
			${r.enabled ? 'Disable' : 'Enable'}<span class="sr-only"> ${r.name}</span></button>
		<${ConfirmButton} label=${'Delete'} confirmLabel=${'Delete ' + r.name}
			onConfirm=${() => act(() => api.del('/ui/api/integrations/' + encodeURIComponent(r.id)), `${r.name} deleted`)} />
	</div>` });

	return html`<h2>Integrations</h2>
		<p class="muted">Nodes (mock resolvers, runners, the orchestrator) sign in with an integration token (<code>mki_…</code>).</p>
		${canWrite ? html`<div class="toolbar"><button class="primary" onClick=${() => setCreating(true)}>Create integration</button></div>` : ''}
		<${ErrorBox} error=${err || list.error} />
		${list.loading && !list.data ? html`<${Loading} what="integrations" />`
			: html`<${Table} label="Integrations" columns=${columns} rows=${rows} empty="No integrations yet." />`}
		${creating ? html`<${CreateIntegration} namespaces=${namespaces} onClose=${() => setCreating(false)} onCreated=${list.reload} />` : ''}`;
}

function CreateToken({ namespaces, me, onClose, onCreated }) {
	const [name, setName] = useState('');
	const [ns, setNs] = useState('');
	const [user, setUser] = useState('');
	const [err, setErr] = useState(null);
	const [busy, setBusy] = useState(false);
	const [made, setMade] = useState(null);

	const submit = async (e) => {
		e.preventDefault();
		setBusy(true); setErr(null);
		try {
			const body = { name: name.trim() };
			if (ns) body.namespace = ns;
			if (user.trim()) body.user = user.trim();
			setMade(await api.post('/api/v1/auth/tokens', body));
			onCreated();
		} catch (x) { setErr(x); } finally { setBusy(false); }
	};
	const close = () => { setMade(null); onClose(); };

	return html`<${Dialog} open=${true} id="token-dialog" title=${made ? 'API token created' : 'Create API token'} onClose=${close}>
		${made ? html`<p>Token <strong>${made.token_info && made.token_info.name}</strong> acts as
				<strong>${made.token_info && (made.token_info.user_login || made.token_info.user)}</strong>
				(${made.token_info && made.token_info.role}). Send it as <code>Authorization: Bearer …</code>.</p>
			<${SecretOnce} token=${made.token} what="API token" />
			<div class="row end"><button class="primary" onClick=${close}>Close</button></div>`
		: html`<form onSubmit=${submit} noValidate>
			<${Field} id="tok-name" label="Name" error=${fieldError(err, 'name')}>
				<input id="tok-name" value=${name} required onInput=${(e) => setName(e.target.value)} /><//>
			<${Field} id="tok-ns" label="Namespace" hint="optional: bind the token to one namespace" error=${fieldError(err, 'namespace')}>
				<select id="tok-ns" value=${ns} onChange=${(e) => setNs(e.target.value)}>
					<option value="">Not bound</option>
					${namespaces.map((n) => html`<option value=${n}>${n}</option>`)}
				</select><//>
			<${Field} id="tok-user" label="User" hint=${'optional: the login the token acts as (default admin' + (me && me.login && me.login !== 'local' ? ', you are ' + me.login : '') + ')'} error=${fieldError(err, 'user')}>
				<input id="tok-user" value=${user} autocomplete="off" onInput=${(e) => setUser(e.target.value)} /><//>
			${err && !['name', 'namespace', 'user'].some((f) => fieldError(err, f)) ? html`<${ErrorBox} error=${err} />` : ''}
			<div class="row end">
				<button type="button" onClick=${close}>Cancel</button>
				<button class="primary" type="submit" disabled=${busy}>Create token</button>
			</div>
		</form>`}
	<//>`;
}

export function Tokens({ canWrite, namespaces, me }) {
	const list = useAsync(() => api.get('/api/v1/auth/tokens'), []);
	const [creating, setCreating] = useState(false);
	const [err, setErr] = useState(null);
	const rows = items(list.data, 'tokens');
	const act = async (fn, msg) => {
		setErr(null);
		try { await fn(); toast(msg); await list.reload(); } catch (x) { setErr(x); }
	};
	const base = (r) => '/api/v1/auth/tokens/' + encodeURIComponent(r.id);
	const columns = [
		{ key: 'name', label: 'Name' },
		{ key: 'prefix', label: 'Prefix', render: (r) => html`<code>${r.prefix || ''}</code>` },
		{ key: 'user', label: 'User', render: (r) => r.user_login || r.user || '' },
		{ key: 'role', label: 'Role' },
		{ key: 'namespace', label: 'Namespace', render: (r) => r.namespace || html`<span class="muted">any</span>` },
		{ key: 'enabled', label: 'Status', render: (r) => html`<${EnabledBadge} on=${r.enabled} />` },
		{ key: 'createdAt', label: 'Created', render: (r) => html`<span class="when">${fmtTime(r.createdAt || r.created_at)}</span>` },
	];
	if (canWrite) columns.push({ key: 'actions', label: 'Actions', render: (r) => html`<div class="row" role="group" aria-label=${'Actions for ' + r.name}>
		<button onClick=${() => act(() => api.post(base(r) + (r.enabled ? '/disable' : '/enable'), {}), `${r.name} ${r.enabled ? 'disabled' : 'enabled'}`)}>
			${r.enabled ? 'Disable' : 'Enable'}<span class="sr-only"> ${r.name}</span></button>
		<${ConfirmButton} label="Delete" confirmLabel=${'Delete ' + r.name} onConfirm=${() => act(() => api.del(base(r)), `${r.name} deleted`)} />
	</div>` });

	return html`<h2>API tokens</h2>
		<p class="muted">People, scripts and CI call the REST API with an API token (<code>mk_…</code>); a disabled token is refused at once.</p>
		${canWrite ? html`<div class="toolbar"><button class="primary" onClick=${() => setCreating(true)}>Create API token</button></div>` : ''}
		<${ErrorBox} error=${err || list.error} />
		${list.loading && !list.data ? html`<${Loading} what="API tokens" />`
			: html`<${Table} label="API tokens" columns=${columns} rows=${rows} empty="No API tokens yet." />`}
		${creating ? html`<${CreateToken} namespaces=${namespaces} me=${me} onClose=${() => setCreating(false)} onCreated=${list.reload} />` : ''}`;
}
