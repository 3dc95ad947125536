// ui.js - the UI kit's components (Preact + htm, no build step), shared by the admin console's
// pages and the node dashboards. Every control has a label, every error is announced
// (role="alert"), dialogs are native <dialog> elements (focus trapped, Esc closes), and
// tables have captions or labels, so the pages pass an axe WCAG 2 A/AA scan.
//
//   import { html, useState, Table, Field, Dialog, useAsync } from '../kit/ui.js';

import { html, render, useState, useEffect, useRef, useMemo, useCallback } from '../vendor/htm-preact.mjs';

export { html, render, useState, useEffect, useRef, useMemo, useCallback };

// useAsync(fn, deps) -> { data, error, loading, reload }: runs fn() when deps change; a later
// answer never overwrites a newer one.
export function useAsync(fn, deps = []) {
	const [state, setState] = useState({ data: undefined, error: null, loading: true });
	const seq = useRef(0);
	const run = useCallback(async () => {
		const my = ++seq.current;
		setState((s) => ({ ...s, loading: true }));
		try {
			const data = await fn();
			if (my === seq.current) setState({ data, error: null, loading: false });
		} catch (error) {
			if (my === seq.current) setState((s) => ({ data: s.data, error, loading: false }));
		}
	}, deps);
	useEffect(() => { run(); }, [run]);
	return { ...state, reload: run };
}

// usePoll(fn, ms, deps): calls fn every ms while the component is mounted (and once at once);
// fn's errors are passed to onError and polling goes on (a node restart must not stop a chart).
export function usePoll(fn, ms, deps = [], onError) {
	useEffect(() => {
		let stop = false, timer;
		const tick = async () => {
			try { await fn(); } catch (e) { onError && onError(e); }
			if (!stop) timer = setTimeout(tick, ms);
		};
		tick();
		return () => { stop = true; clearTimeout(timer); };
	}, deps);
}

export function ErrorBox({ error, title }) {
	if (!error) return null;
	const msg = typeof error === 'string' ? error : error.message;
	const field = error.field ? html` (at ${html`<code>${error.field}</code>`})` : '';
	return html`<div class="alert" role="alert">${title ? html`<strong>${title}: </strong>` : ''}${msg}${field}</div>`;
}

export function Loading({ what }) {
	return html`<p class="muted" role="status">Loading${what ? ' ' + what : ''}…</p>`;
}

// Table({ label, columns: [{ key, label, num, render(row) }], rows, empty, rowKey, selected })
export function Table({ label, columns, rows, empty = 'Nothing here yet.', rowKey = (r, i) => r.id ?? i, selected }) {
	if (!rows || rows.length === 0) return html`<p class="muted">${empty}</p>`;
	return html`<div class="table-wrap"><table aria-label=${label}>
		<thead><tr>${columns.map((c) => html`<th scope="col" class=${c.num ? 'num' : ''}>${c.label}</th>`)}</tr></thead>
		<tbody>${rows.map((r, i) => html`<tr key=${rowKey(r, i)} class=${selected && selected(r) ? 'selected' : ''}>
			${columns.map((c) => html`<td class=${c.num ? 'num' : ''}>${c.render ? c.render(r) : fmt(r[c.key])}</td>`)}
		</tr>`)}</tbody></table></div>`;
}

function fmt(v) {
	if (v === undefined || v === null) return '';
	if (typeof v === 'object') return JSON.stringify(v);
	return String(v);
}

// Field({ id, label, hint, error, children }): a label tied to its control; the control passes
// aria-describedby={id + '-hint'} / aria-invalid itself when it wants them announced.
export function Field({ id, label, hint, error, children }) {
	return html`<div class="field">
		<label for=${id}>${label}${hint ? html` <span class="hint" id=${id + '-hint'}>${hint}</span>` : ''}</label>
		${children}
		${error ? html`<div class="error" id=${id + '-error'} role="alert">${error}</div>` : ''}
	</div>`;
}

// Dialog({ open, title, onClose, children }): a modal <dialog>; Esc and the close button call onClose.
export function Dialog({ open, title, onClose, children, id }) {
	const ref = useRef(null);
	useEffect(() => {
		const d = ref.current;
		if (!d) return;
		if (open && !d.open) d.showModal();
		if (!open && d.open) d.close();
	}, [open]);
	const titleId = (id || 'dlg') + '-title';
	return html`<dialog ref=${ref} aria-labelledby=${titleId} onCancel=${(e) => { e.preventDefault(); onClose && onClose(); }}>
		${open ? html`<h2 id=${titleId}>${title}</h2>${children}` : ''}
	</dialog>`;
}

// Tabs({ tabs: [{ id, label }], current, onSelect, label })
export function Tabs({ tabs, current, onSelect, label }) {
	return html`<div class="tabs" role="tablist" aria-label=${label}>
		${tabs.map((t) => html`<button role="tab" id=${'tab-' + t.id} aria-selected=${t.id === current ? 'true' : 'false'}
			onClick=${() => onSelect(t.id)}>${t.label}</button>`)}
	</div>`;
}

// ConfirmButton({ label, confirmLabel, onConfirm, danger }): asks once inline before acting.
export function ConfirmButton({ label, confirmLabel = 'Confirm', onConfirm, danger = true, disabled }) {
	const [asking, setAsking] = useState(false);
	if (!asking) return html`<button class=${danger ? 'danger' : ''} disabled=${disabled} onClick=${() => setAsking(true)}>${label}</button>`;
	return html`<span class="row inline" role="group" aria-label=${label}>
		<button class=${danger ? 'danger' : 'primary'} onClick=${async () => { setAsking(false); await onConfirm(); }}>${confirmLabel}</button>
		<button onClick=${() => setAsking(false)}>Cancel</button></span>`;
}

// CopyButton({ text, label }): copies text to the clipboard and says so.
export function CopyButton({ text, label = 'Copy' }) {
	const [done, setDone] = useState(false);
	return html`<button onClick=${async () => {
		try { await navigator.clipboard.writeText(text); setDone(true); } catch { setDone(false); }
	}}>${done ? 'Copied' : label}</button><span class="sr-only" role="status">${done ? 'Copied to the clipboard' : ''}</span>`;
}

export function Stat({ k, v, id, cls }) {
	return html`<div class="card stat"><div class="k" id=${id ? id + '-k' : undefined}>${k}</div>
		<div class=${'v ' + (cls || '')} id=${id} aria-labelledby=${id ? id + '-k ' + id : undefined}>${v}</div></div>`;
}

export function Progress({ pct, label }) {
	const p = Math.max(0, Math.min(100, Number(pct) || 0));
	return html`<div class="progress" role="progressbar" aria-label=${label} aria-valuemin="0" aria-valuemax="100" aria-valuenow=${Math.round(p)}>
		<div style=${{ width: p + '%' }}></div></div>`;
}

// JsonEditor({ id, label, value, onChange(text, parsed|undefined), errors, hint }): a textarea for
// JSON; a syntax error is shown with its line and column, server errors (ApiError with a field
// path) are shown under it naming the field.
export function JsonEditor({ id, label, value, onChange, error, hint, rows = 18 }) {
	const [syntax, setSyntax] = useState('');
	const onInput = (e) => {
		const text = e.target.value;
		let parsed;
		try { parsed = JSON.parse(text); setSyntax(''); } catch (err) { setSyntax(jsonErrorAt(text, err)); }
		onChange && onChange(text, parsed);
	};
	const msg = syntax || (error ? (error.field ? `${error.message} (field ${error.field})` : error.message || String(error)) : '');
	return html`<${Field} id=${id} label=${label} hint=${hint} error=${msg}>
		<textarea id=${id} class="code" rows=${rows} spellcheck=${false} aria-invalid=${msg ? 'true' : 'false'}
			aria-describedby=${msg ? id + '-error' : undefined} value=${value} onInput=${onInput}></textarea>
	<//>`;
}

// "Unexpected token } at line 3, column 7" from a JSON.parse error.
export function jsonErrorAt(text, err) {
	const m = /position (\d+)/.exec(err.message);
	if (!m) return err.message;
	const pos = Number(m[1]);
	const before = text.slice(0, pos).split('\n');
	return `${err.message.replace(/ in JSON at position \d+.*/, '')} at line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

let toastTimer;
// toast(message): a short status line, announced to screen readers.
export function toast(message) {
	let el = document.getElementById('toast');
	if (!el) {
		el = document.createElement('div');
		el.id = 'toast';
		el.setAttribute('role', 'status');
		document.body.appendChild(el);
	}
	el.className = 'toast';
	el.textContent = message;
	clearTimeout(toastTimer);
	toastTimer = setTimeout(() => { el.className = 'sr-only'; el.textContent = ''; }, 4000);
}

export function fmtTime(v) {
	if (!v) return '';
	const d = typeof v === 'number' ? new Date(v > 1e12 ? v : v * 1000) : new Date(v);
	if (isNaN(d)) return String(v);
	return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function fmtNum(v, digits = 0) {
	if (v === undefined || v === null || Number.isNaN(Number(v))) return '–';
	return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

// download(name, text, type): saves text as a file (reports, exports).
export function download(name, text, type = 'text/plain') {
	const url = URL.createObjectURL(new Blob([text], { type }));
	const a = document.createElement('a');
	a.href = url; a.download = name;
	document.body.appendChild(a); a.click(); a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 1000);
}
