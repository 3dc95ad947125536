// pages/settings-people.js - Settings > Users and roles and Settings > Namespaces. Users are
// managed through the admin user endpoints (/api/v1/admin/users..., admins only: another role
// gets 403, shown as the API's message): create with a password and a system role, change the
// role, set per-namespace roles, reset the password, disable/enable, delete. Namespaces: list and
// create (/api/v1/namespaces); a new one appears in the namespace switcher at once.

import { html, useState, useAsync, Table, Field, Dialog, ConfirmButton, ErrorBox, Loading, toast, fmtTime } from '../kit/ui.js';
import { api, items } from '../kit/api.js';
import { fieldError } from './settings-access.js';

const ROLES = ['admin', 'editor', 'viewer'];

function RoleSelect({ id, value, onChange, label, allowNone }) {
	return html`<select id=${id} aria-label=${label} value=${value} onChange=${(e) => onChange(e.target.value)}>
		${allowNone ? html`<option value="">none</option>` : ''}
		${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}
	</select>`;
}

function CreateUser({ onClose, onSaved }) {
	const [login, setLogin] = useState('');
	const [password, setPassword] = useState('');
	const [role, setRole] = useState('viewer');
	const [err, setErr] = useState(null);
	const [busy, setBusy] = useState(false);
	const submit = async (e) => {
		e.preventDefault();
		setBusy(true); setErr(null);
		try {
			await api.post('/api/v1/admin/users', { login: login.trim(), password, system_role: role });
			toast(`User ${login.trim()} created`);
			onSaved(); onClose();
		} catch (x) { setErr(x); } finally { setBusy(false); }
	};
	return html`<${Dialog} open=${true} id="user-dialog" title="Create user" onClose=${onClose}>
		<form onSubmit=${submit} noValidate>
			<${Field} id="user-login" label="Login" error=${fieldError(err, 'login')}>
				<input id="user-login" autocomplete="off" value=${login} required onInput=${(e) => setLogin(e.target.value)} /><//>
			<${Field} id="user-password" label="Password" hint="at least 8 characters" error=${fieldError(err, 'password')}>
				<input id="user-password" type="password" autocomplete="new-password" minlength="8" value=${password} required onInput=${(e) => setPassword(e.target.value)} /><//>
			<${Field} id="user-role" label="System role" error=${fieldError(err, 'system_role') || fieldError(err, 'role')}>
				<${RoleSelect} id="user-role" value=${role} onChange=${setRole} /><//>
			${err && !['login', 'password', 'system_role', 'role'].some((f) => fieldError(err, f)) ? html`<${ErrorBox} error=${err} />` : ''}
			<div class="row end">
				<button type="button" onClick=${onClose}>Cancel</button>
				<button class="primary" type="submit" disabled=${busy}>Create user</button>
			</div>
		</form>
	<//>`;
}

function EditUser({ user, namespaces, onClose, onSaved }) {
	const [role, setRole] = useState(user.system_role || user.role || 'viewer');
	const [nsRoles, setNsRoles] = useState(Object.fromEntries((user.namespaces || []).map((m) => [m.namespace, m.role])));
	const [password, setPassword] = useState('');
	const [err, setErr] = useState(null);
	const [busy, setBusy] = useState(false);
	const base = '/api/v1/admin/users/' + encodeURIComponent(user.id);
	const run = async (fn, msg) => {
		setBusy(true); setErr(null);
		try { await fn(); toast(msg); onSaved(); } catch (x) { setErr(x); } finally { setBusy(false); }
	};
	const allNs = [...new Set([...namespaces, ...Object.keys(nsRoles)])];
	return html`<${Dialog} open=${true} id="user-edit-dialog" title=${'User ' + user.login} onClose=${onClose}>
		<form onSubmit=${(e) => { e.preventDefault(); run(() => api.put(base, { system_role: role }), 'Role saved'); }}>
			<${Field} id="edit-role" label="System role"><${RoleSelect} id="edit-role" value=${role} onChange=${setRole} /><//>
			<button type="submit" disabled=${busy}>Save role</button>
		</form>
		<form onSubmit=${(e) => {
			e.preventDefault();
			const body = Object.entries(nsRoles).filter(([, r]) => r).map(([namespace, r]) => ({ namespace, role: r }));
			run(() => api.put(base + '/namespaces', body), 'Namespace roles saved');
		}}>
			<h3>Namespace roles</h3>
			<div class="ns-roles">
				${allNs.map((n) => html`<${Field} id=${'nsrole-' + n} label=${n}>
					<${RoleSelect} id=${'nsrole-' + n} label=${'Role in ' + n} value=${nsRoles[n] || ''} allowNone=${true}
						onChange=${(v) => setNsRoles({ ...nsRoles, [n]: v })} /><//>`)}
			</div>
			<button type="submit" disabled=${busy}>Save namespace roles</button>
		</form>
		<form onSubmit=${(e) => { e.preventDefault(); run(() => api.post(base + '/password', { new_password: password }), 'Password reset'); setPassword(''); }}>
			<h3>Reset password</h3>
			<${Field} id="reset-password" label="New password" hint="at least 8 characters" error=${fieldError(err, 'new_password')}>
				<input id="reset-password" type="password" autocomplete="new-password" minlength="8" value=${password} onInput=${(e) => setPassword(e.target.value)} /><//>
			<button type="submit" disabled=${busy || password.length === 0}>Reset password</button>
		</form>
		<${ErrorBox} error=${err && !fieldError(err, 'new_password') ? err : null} />
		<div class="row end"><button class="primary" onClick=${onClose}>Close</button></div>
	<//>`;
}

export function Users({ canWrite, namespaces }) {
	const list = useAsync(() => api.get('/api/v1/admin/users'), []);
	const [creating, setCreating] = useState(false);
	const [editing, setEditing] = useState(null);
	const [err, setErr] = useState(null);
	const rows = items(list.data, 'users');
	const act = async (fn, msg) => {
		setErr(null);
		try { await fn(); toast(msg); await list.reload(); } catch (x) { setErr(x); }
	};
	const base = (u) => '/api/v1/admin/users/' + encodeURIComponent(u.id);
	const enabled = (u) => u.enabled !== false && !u.disabled;
	const columns = [
		{ key: 'login', label: 'Login' },
		{ key: 'system_role', label: 'System role', render: (u) => u.system_role || u.role || '' },
		{ key: 'namespaces', label: 'Namespace roles', render: (u) => (u.namespaces || []).map((m) => `${m.namespace}: ${m.role}`).join(', ') },
		{ key: 'enabled', label: 'Status', render: (u) => html`<span class=${'badge ' + (enabled(u) ? 'ok' : 'warn')}>${enabled(u) ? 'enabled' : 'disabled'}</span>` },
		{ key: 'createdAt', label: 'Created', render: (u) => html`<span class="when">${fmtTime(u.createdAt || u.created_at)}</span>` },
	];
	if (canWrite) columns.push({ key: 'actions', label: 'Actions', render: (u) => html`<div class="row" role="group" aria-label=${'Actions for ' + u.login}>
		<button onClick=${() => setEditing(u)}>Edit<span class="sr-only"> ${u.login}</span></button>
		<button onClick=${() => act(() => api.post(base(u) + (enabled(u) ? '/disable' : '/enable'), {}), `${u.login} ${enabled(u) ? 'disabled' : 'enabled'}`)}>${enabled(u) ? 'Disable' : 'Enable'}<span class="sr-only"> ${u.login}</span></button>
		<${ConfirmButton} label="Delete" confirmLabel=${'Delete ' + u.login} onConfirm=${() => act(() => api.del(base(u)), `${u.login} deleted`)} />
	</div>` });
	return html`<h2>Users and roles</h2>
		<p class="muted">A user has a system role (admin, editor, viewer) and optional roles per namespace; an admin is admin everywhere.</p>
		${canWrite ? html`<div class="toolbar"><button class="primary" onClick=${() => setCreating(true)}>Create user</button></div>` : ''}
		<${ErrorBox} error=${err || list.error} title=${list.error ? 'Users' : undefined} />
		${list.loading && !list.data ? html`<${Loading} what="users" />`
			: list.data !== undefined ? html`<${Table} label="Users" columns=${columns} rows=${rows} empty="No users yet." />` : ''}
		${creating ? html`<${CreateUser} onClose=${() => setCreating(false)} onSaved=${list.reload} />` : ''}
		${editing ? html`<${EditUser} user=${editing} namespaces=${namespaces} onClose=${() => setEditing(null)} onSaved=${list.reload} />` : ''}`;
}

export function Namespaces({ canWrite, namespaces, reloadNamespaces }) {
	const list = useAsync(() => api.get('/api/v1/namespaces'), []);
	const [name, setName] = useState('');
	const [err, setErr] = useState(null);
	const [busy, setBusy] = useState(false);
	const rows = items(list.data, 'namespaces').map((n) => (typeof n === 'string' ? { name: n } : n));
	const submit = async (e) => {
		e.preventDefault();
		setBusy(true); setErr(null);
		try {
			await api.post('/api/v1/namespaces', { name: name.trim() });
			toast(`Namespace ${name.trim()} created`);
			setName('');
			await list.reload();
			reloadNamespaces && reloadNamespaces();
		} catch (x) { setErr(x); } finally { setBusy(false); }
	};
	return html`<h2>Namespaces</h2>
		<p class="muted">Mocks, stores, collections and runs live in a namespace; tokens, integrations and users can be bound to one.</p>
		${canWrite ? html`<form class="row ns-create" onSubmit=${submit} noValidate>
			<${Field} id="ns-name" label="New namespace" error=${err ? err.message : ''}>
				<input id="ns-name" value=${name} required onInput=${(e) => setName(e.target.value)} aria-invalid=${err ? 'true' : 'false'} /><//>
			<button class="primary" type="submit" disabled=${busy}>Create namespace</button>
		</form>` : ''}
		<${ErrorBox} error=${list.error} />
		${list.loading && !list.data ? html`<${Loading} what="namespaces" />`
			: html`<${Table} label="Namespaces" rowKey=${(r) => r.name} rows=${rows} empty="No namespaces."
				columns=${[{ key: 'name', label: 'Name' }, { key: 'current', label: 'Note', render: (r) => (namespaces.includes(r.name) ? '' : html`<span class="muted">new</span>`) }]} />`}`;
}
