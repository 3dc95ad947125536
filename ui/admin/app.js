// app.js - the admin console's shell: sign-in, the sidebar of pages, the namespace switcher,
// the theme switch and a small router over /ui/<page>/<rest> (history API; the admin node
// answers index.html for every such path). Each page is a component in pages/<name>.js,
// registered in pages/index.js, called with { me, ns, role, canWrite, route, navigate, namespaces,
// reloadNamespaces }: role is the user's effective role in the namespace ns (admin, editor, viewer)
// and canWrite is false for a viewer, so pages hide or disable every control that would change
// something (the REST API refuses such writes anyway).
//
// URLs: this file is served as /ui/app.js, the kit as /ui/kit/*, the vendored files as
// /ui/vendor/*; imports are relative to those URLs.

import { html, render, useState, useEffect, useCallback, ErrorBox, Field, Loading } from './kit/ui.js';
import { api, setCsrfToken, setNamespace, onUnauthorized, ApiError } from './kit/api.js';
import { PAGES } from './pages/index.js';

const BASE = '/ui/';

function parseRoute() {
	const rest = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
	const parts = rest.split('/').filter(Boolean).map(decodeURIComponent);
	return { page: parts[0] || '', parts: parts.slice(1), query: new URLSearchParams(location.search) };
}

function applyTheme(t) {
	if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
	else delete document.documentElement.dataset.theme;
}

function ThemeSwitch() {
	const [theme, setTheme] = useState(localStorage.getItem('mockarty.theme') || 'system');
	useEffect(() => { applyTheme(theme); localStorage.setItem('mockarty.theme', theme); }, [theme]);
	return html`<label class="inline row" style="font-weight:normal;margin:0">
		<span class="sr-only">Theme</span>
		<select aria-label="Theme" value=${theme} onChange=${(e) => setTheme(e.target.value)}>
			<option value="system">System theme</option><option value="light">Light</option><option value="dark">Dark</option>
		</select></label>`;
}

function Login({ onDone }) {
	const [login, setLogin] = useState('');
	const [password, setPassword] = useState('');
	const [error, setError] = useState(null);
	const [change, setChange] = useState(null); // the login answer while a new password is required
	const [next, setNext] = useState('');
	const [busy, setBusy] = useState(false);

	const submit = async (e) => {
		e.preventDefault();
		setBusy(true); setError(null);
		try {
			const r = await api.post('/api/v1/auth/login', { login, password }, { noAuthEvent: true });
			setCsrfToken(r.csrfToken);
			if (r.requires_password_change) setChange(r); else onDone();
		} catch (err) {
			setError(err.status === 429 ? new Error('Too many failed sign-ins: wait a few minutes and try again.') : err);
		} finally { setBusy(false); }
	};
	const submitNew = async (e) => {
		e.preventDefault();
		setBusy(true); setError(null);
		try {
			await api.post('/api/v1/auth/password', { current_password: password, new_password: next });
			onDone();
		} catch (err) { setError(err); } finally { setBusy(false); }
	};

	return html`<main class="login" id="main">
		<div class="card">
			<h1>Sign in to Mockarty</h1>
			${!change ? html`<form onSubmit=${submit}>
				<${Field} id="login" label="Login"><input id="login" autocomplete="username" value=${login} onInput=${(e) => setLogin(e.target.value)} required /><//>
				<${Field} id="password" label="Password"><input id="password" type="password" autocomplete="current-password" value=${password} onInput=${(e) => setPassword(e.target.value)} required /><//>
				<${ErrorBox} error=${error} />
				<button class="primary" type="submit" disabled=${busy}>Sign in</button>
			</form>` : html`<form onSubmit=${submitNew}>
				<p>This password was for one use only. Choose your own password (at least 8 characters).</p>
				<${Field} id="new-password" label="New password"><input id="new-password" type="password" autocomplete="new-password" minlength="8" value=${next} onInput=${(e) => setNext(e.target.value)} required /><//>
				<${ErrorBox} error=${error} />
				<button class="primary" type="submit" disabled=${busy}>Set password and continue</button>
			</form>`}
		</div></main>`;
}

function NamespaceSwitch({ ns, namespaces, onChange }) {
	return html`<label class="inline row" style="font-weight:normal;margin:0">
		<span>Namespace</span>
		<select id="namespace-switch" aria-label="Namespace" value=${ns} onChange=${(e) => onChange(e.target.value)}>
			${namespaces.map((n) => html`<option value=${n}>${n}</option>`)}
		</select></label>`;
}

function namespaceNames(data) {
	const list = Array.isArray(data) ? data : (data && data.namespaces) || [];
	return list.map((n) => (typeof n === 'string' ? n : n.name)).filter(Boolean);
}

// The user's role in namespace ns: admin everywhere for a system admin, else the namespace's
// membership role, else the system role.
export function effectiveRole(me, ns) {
	const sys = me.system_role || me.role || 'viewer';
	if (sys === 'admin') return 'admin';
	const m = (me.namespaces || []).find((x) => (typeof x === 'string' ? x : x.namespace) === ns);
	return (m && typeof m === 'object' && m.role) || sys;
}

function Shell({ me, onSignOut }) {
	const [route, setRoute] = useState(parseRoute());
	const [namespaces, setNamespaces] = useState([]);
	const [ns, setNs] = useState(localStorage.getItem('mockarty.namespace') || 'sandbox');
	const [nsError, setNsError] = useState(null);

	const navigate = useCallback((path, { replace = false } = {}) => {
		const url = path.startsWith('/') ? path : BASE + path;
		if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
		setRoute(parseRoute());
		window.scrollTo(0, 0);
	}, []);

	useEffect(() => {
		const pop = () => setRoute(parseRoute());
		window.addEventListener('popstate', pop);
		return () => window.removeEventListener('popstate', pop);
	}, []);

	const reloadNamespaces = useCallback(async () => {
		try {
			const names = namespaceNames(await api.get('/api/v1/namespaces'));
			setNamespaces(names);
			setNsError(null);
			if (names.length && !names.includes(ns)) changeNs(names.includes('sandbox') ? 'sandbox' : names[0]);
		} catch (e) { setNsError(e); }
	}, [ns]);
	useEffect(() => { reloadNamespaces(); }, []);

	const changeNs = (n) => { setNs(n); localStorage.setItem('mockarty.namespace', n); };
	setNamespace(ns);

	const role = effectiveRole(me, ns);
	const page = PAGES.find((p) => p.id === route.page) || (route.page === '' ? PAGES[0] : null);
	useEffect(() => { document.title = (page ? page.title + ' · ' : '') + 'Mockarty'; }, [page]);

	const link = (p) => html`<li><a href=${BASE + p.id} aria-current=${page && page.id === p.id ? 'page' : undefined}
		onClick=${(e) => { if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return; e.preventDefault(); navigate(p.id); }}>${p.title}</a></li>`;
	const groups = [...new Set(PAGES.map((p) => p.group))];
	const Page = page && page.component;

	return html`<div class="shell">
		<a class="skip" href="#main">Skip to the page</a>
		<header class="topbar">
			<a class="brand" href=${BASE} onClick=${(e) => { e.preventDefault(); navigate(''); }}><img src="/ui/favicon.svg" alt="" />Mockarty</a>
			${namespaces.length ? html`<${NamespaceSwitch} ns=${ns} namespaces=${namespaces} onChange=${changeNs} />` : ''}
			<${ThemeSwitch} />
			<span class="muted" id="whoami">${me.login} (${role})</span>
			${me.local ? '' : html`<button onClick=${onSignOut}>Sign out</button>`}
		</header>
		<nav class="sidebar" aria-label="Pages">
			${groups.map((g) => html`<div class="group" aria-hidden="true">${g}</div><ul>${PAGES.filter((p) => p.group === g).map(link)}</ul>`)}
		</nav>
		<main class="page" id="main" tabindex="-1">
			<${ErrorBox} error=${nsError} title="Namespaces" />
			${Page ? html`<${Page} key=${page.id + ':' + ns} me=${me} ns=${ns} role=${role} canWrite=${role !== 'viewer'} route=${route} navigate=${navigate}
				namespaces=${namespaces} reloadNamespaces=${reloadNamespaces} />`
				: html`<h1>Page not found</h1><p>There is no console page at <code>${location.pathname}</code>.</p>`}
		</main>
	</div>`;
}

function App() {
	const [me, setMe] = useState(undefined); // undefined: asking; null: signed out
	const [error, setError] = useState(null);

	const loadMe = useCallback(async () => {
		setError(null);
		try {
			const r = await api.get('/api/v1/auth/me', undefined, { noAuthEvent: true });
			setCsrfToken(r.csrfToken);
			const u = r.user || r;
			setMe({ ...u, local: r.auth === 'local' || !!(r.local || u.local), csrfToken: r.csrfToken });
		} catch (e) {
			if (e instanceof ApiError && e.status === 401) setMe(null);
			else setError(e);
		}
	}, []);
	useEffect(() => { loadMe(); return onUnauthorized(() => setMe(null)); }, []);

	const signOut = async () => {
		try { await api.post('/api/v1/auth/logout', {}); } catch { /* the session is gone either way */ }
		setCsrfToken('');
		setMe(null);
	};

	if (error) return html`<main class="login" id="main"><${ErrorBox} error=${error} title="The admin node did not answer" />
		<button onClick=${loadMe}>Try again</button></main>`;
	if (me === undefined) return html`<main id="main"><${Loading} what="the console" /></main>`;
	if (me === null) return html`<${Login} onDone=${loadMe} />`;
	return html`<${Shell} me=${me} onSignOut=${signOut} />`;
}

applyTheme(localStorage.getItem('mockarty.theme'));
const root = document.getElementById('app');
root.textContent = ''; // the static "Loading" line: Preact renders next to existing children otherwise
render(html`<${App} />`, root);
