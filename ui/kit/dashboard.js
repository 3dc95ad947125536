// dashboard.js - what the node dashboards share (resolver :6780, runner :6770, generated
// servers' DASHBOARD_PORT): a page frame with the theme switch, a 1 s poll of the node's own
// /api/status that keeps the last 120 one-second samples, and formatting helpers. The node
// answers its whole sample ring on the first call and only newer samples after
// (/api/status?since=<unix s>), so a page opened late draws two minutes of history at once.
//
//   import { Dashboard, useNodeStatus, mount } from './kit/dashboard.js';
//   function App() { const { status, samples, error } = useNodeStatus(); ... }
//   mount(App);
//
// URLs: a dashboard is served at the node's "/", this file as /kit/dashboard.js; imports are
// relative, data calls are the absolute /api/status of the same origin.

import { html, render, useState, useEffect, useRef, usePoll } from './ui.js';

export const MAX_SAMPLES = 120;

// useNodeStatus() -> { status, samples, error }: status is the latest /api/status document,
// samples the merged ring (oldest first, at most 120), error the last failed poll (null once a
// poll succeeds again).
export function useNodeStatus(ms = 1000) {
	const [state, setState] = useState({ status: null, samples: [], error: null });
	const ring = useRef([]);
	usePoll(async () => {
		const have = ring.current;
		const since = have.length ? have[have.length - 1].t : 0;
		const r = await fetch(since ? `/api/status?since=${since}` : '/api/status', { cache: 'no-store' });
		if (!r.ok) throw new Error(`/api/status answered ${r.status}`);
		const status = await r.json();
		const fresh = (status.samples || []).filter((x) => x.t > since);
		ring.current = have.concat(fresh).slice(-MAX_SAMPLES);
		setState({ status, samples: ring.current, error: null });
	}, ms, [], (error) => setState((s) => ({ ...s, error })));
	return state;
}

function applyTheme(t) {
	if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
	else delete document.documentElement.dataset.theme;
}

export function ThemeSwitch() {
	const [theme, setTheme] = useState(localStorage.getItem('mockarty.theme') || 'system');
	useEffect(() => { applyTheme(theme); localStorage.setItem('mockarty.theme', theme); }, [theme]);
	return html`<span class="inline"><select aria-label="Theme" value=${theme} onChange=${(e) => setTheme(e.target.value)}>
		<option value="system">System theme</option><option value="light">Light</option><option value="dark">Dark</option>
	</select></span>`;
}

// mount(App): renders the dashboard into #app in place of its "Loading" placeholder.
export function mount(App) {
	const root = document.getElementById('app');
	applyTheme(localStorage.getItem('mockarty.theme'));
	root.textContent = '';
	render(html`<${App} />`, root);
}

// Dashboard({ title, subtitle, state, error, children }): the page frame. state is a short
// word shown as a badge (the coordinator link), error the last polling failure.
export function Dashboard({ title, subtitle, badge, badgeClass, error, children }) {
	return html`<div class="dash">
		<header class="topbar" role="banner">
			<h1 class="brand" style="margin:0;font-size:18px;white-space:nowrap">${title}</h1>
			${subtitle ? html`<span class="muted">${subtitle}</span>` : ''}
			${badge ? html`<span class=${'badge ' + (badgeClass || '')} id="link-state">${badge}</span>` : ''}
			<span class="spacer"></span>
			<${ThemeSwitch} />
		</header>
		<main id="main" class="stack" style="padding:16px">
			${error ? html`<div class="alert" role="alert">The node does not answer: ${error.message}</div>` : ''}
			${children}
		</main>
		<footer class="muted" style="padding:0 16px 16px;font-size:12px">
			Data: <a href="/api/status">/api/status</a> (refreshed every second; the charts keep the last ${MAX_SAMPLES} seconds)
		</footer>
	</div>`;
}

// Section({ title, children }): a titled card.
export function Section({ title, id, children }) {
	return html`<section class="card" aria-labelledby=${id + '-h'}>
		<h2 id=${id + '-h'} style="font-size:15px;margin:0 0 8px">${title}</h2>${children}</section>`;
}

// linkBadge(coordinator) -> [text, class] for the coordinator link state.
export function linkBadge(c) {
	if (!c) return ['…', ''];
	return [String(c.state || '?').replace('_', ' '), c.connected ? 'ok' : c.authRefused ? 'bad' : 'warn'];
}

// ms(seconds) -> "1.23 ms" / "850 µs" for latencies given in seconds.
export function ms(s) {
	if (s === undefined || s === null) return '–';
	return s < 0.001 ? `${(s * 1e6).toFixed(0)} µs` : `${(s * 1e3).toFixed(2)} ms`;
}

// ago(epochMs, nowMs) -> "just now" / "3.2 s ago" / "never".
export function ago(t, now) {
	if (!t) return 'never';
	const d = (now - t) / 1000;
	return d < 1 ? 'just now' : `${d.toFixed(1)} s ago`;
}
