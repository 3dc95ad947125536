// pages/settings-webhooks.js - Settings > Webhooks: subscriptions (URL, events, secret,
// enabled) and each webhook's delivery history (event, status, attempts, last HTTP code, error,
// next attempt) with the attempts of a delivery and a Retry button on failed ones. The history
// refreshes every 2 s while shown, so a retry's outcome appears without a reload. The secret is
// write-only: the API says only whether one is set (hasSecret).

import { html, useState, useAsync, usePoll, Table, Field, Dialog, ConfirmButton, ErrorBox, Loading, toast, fmtTime } from '../kit/ui.js';
import { api, items } from '../kit/api.js';
import { fieldError } from './settings-access.js';

export const EVENTS = ['mock.resolved', 'mock.created', 'mock.deleted', 'test_run.completed', 'undefined_request.received'];

function WebhookForm({ hook, onClose, onSaved }) {
	const [url, setUrl] = useState(hook ? hook.url : '');
	const [events, setEvents] = useState(hook ? hook.events || [] : ['mock.created']);
	const [secret, setSecret] = useState('');
	const [enabled, setEnabled] = useState(hook ? hook.enabled !== false : true);
	const [err, setErr] = useState(null);
	const [busy, setBusy] = useState(false);

	const toggle = (ev) => setEvents(events.includes(ev) ? events.filter((x) => x !== ev) : [...events, ev]);
	const submit = async (e) => {
		e.preventDefault();
		setBusy(true); setErr(null);
		try {
			const body = { url: url.trim(), events, enabled };
			if (secret) body.secret = secret;
			if (hook) await api.put('/ui/api/webhooks/' + encodeURIComponent(hook.id), body);
			else await api.post('/ui/api/webhooks', body);
			toast(hook ? 'Webhook saved' : 'Webhook created');
			onSaved();
			onClose();
		} catch (x) { setErr(x); } finally { setBusy(false); }
	};
	const evErr = fieldError(err, 'events');
	return html`<${Dialog} open=${true} id="webhook-dialog" title=${hook ? 'Edit webhook' : 'Create webhook'} onClose=${onClose}>
		<form onSubmit=${submit} noValidate>
			<${Field} id="wh-url" label="URL" hint="http:// or https://; the event is POSTed there as JSON" error=${fieldError(err, 'url')}>
				<input id="wh-url" type="url" value=${url} required onInput=${(e) => setUrl(e.target.value)} aria-invalid=${fieldError(err, 'url') ? 'true' : 'false'} /><//>
			<fieldset class="events" aria-describedby=${evErr ? 'wh-events-error' : undefined}>
				<legend>Events</legend>
				${EVENTS.map((ev) => html`<label class="check"><input type="checkbox" checked=${events.includes(ev)} onChange=${() => toggle(ev)} /> <code>${ev}</code></label>`)}
				${evErr ? html`<div class="error" id="wh-events-error" role="alert">${evErr}</div>` : ''}
			</fieldset>
			<${Field} id="wh-secret" label="Secret" hint=${hook && hook.hasSecret ? 'a secret is set; leave empty to keep it' : 'optional: deliveries are signed with it (X-Mockarty-Signature)'} error=${fieldError(err, 'secret')}>
				<input id="wh-secret" type="password" autocomplete="new-password" value=${secret} onInput=${(e) => setSecret(e.target.value)} /><//>
			<label class="check"><input type="checkbox" checked=${enabled} onChange=${(e) => setEnabled(e.target.checked)} /> Enabled</label>
			${err && !['url', 'events', 'secret'].some((f) => fieldError(err, f)) ? html`<${ErrorBox} error=${err} />` : ''}
			<div class="row end">
				<button type="button" onClick=${onClose}>Cancel</button>
				<button class="primary" type="submit" disabled=${busy}>${hook ? 'Save webhook' : 'Create webhook'}</button>
			</div>
		</form>
	<//>`;
}

function statusBadge(st) {
	const cls = st === 'succeeded' || st === 'delivered' ? 'ok' : st === 'failed' ? 'bad' : 'warn';
	return html`<span class=${'badge ' + cls}>${st}</span>`;
}

function Attempts({ d }) {
	const rows = d.history || [];
	return html`<div class="attempts">
		<h4 id=${'att-' + d.id}>Attempts of delivery ${d.id}</h4>
		<${Table} label=${'Attempts of delivery ' + d.id} rows=${rows} rowKey=${(a) => a.attempt} empty="No attempt yet."
			columns=${[
				{ key: 'attempt', label: '#', num: true },
				{ key: 'at', label: 'At', render: (a) => html`<span class="when">${fmtTime(a.at)}</span>` },
				{ key: 'statusCode', label: 'HTTP', num: true, render: (a) => a.statusCode ?? '–' },
				{ key: 'latencyMs', label: 'ms', num: true, render: (a) => html`<span class="when">${a.latencyMs ?? ''}</span>` },
				{ key: 'error', label: 'Error', render: (a) => a.error || '' },
				{ key: 'manual', label: 'By hand', render: (a) => (a.manual ? 'yes' : '') },
			]} />
	</div>`;
}

function Deliveries({ hook, canWrite }) {
	const [data, setData] = useState(null);
	const [err, setErr] = useState(null);
	const [open, setOpen] = useState(null); // the delivery id whose attempts are shown
	const load = async () => {
		const r = await api.get('/ui/api/webhooks/' + encodeURIComponent(hook.id) + '/deliveries', { limit: 50 });
		setData(items(r, 'deliveries'));
		setErr(null);
	};
	usePoll(load, 2000, [hook.id], setErr);
	const retry = async (d) => {
		setErr(null);
		try {
			await api.post('/ui/api/webhooks/deliveries/' + encodeURIComponent(d.id) + '/retry', {});
			toast(`Delivery ${d.id} retried`);
			await load();
		} catch (x) { setErr(x); }
	};
	const columns = [
		{ key: 'id', label: 'Delivery', num: true },
		{ key: 'event', label: 'Event', render: (d) => html`<code>${d.event}</code>` },
		{ key: 'status', label: 'Status', render: (d) => statusBadge(d.status) },
		{ key: 'attempts', label: 'Attempts', num: true, render: (d) => `${d.attempts}/${d.maxAttempts ?? '?'}` },
		{ key: 'lastStatusCode', label: 'Last HTTP', num: true, render: (d) => d.lastStatusCode ?? '–' },
		{ key: 'lastError', label: 'Error', render: (d) => d.lastError || '' },
		{ key: 'nextAttemptAt', label: 'Next attempt', render: (d) => html`<span class="when">${d.status === 'pending' ? fmtTime(d.nextAttemptAt) : ''}</span>` },
		{ key: 'actions', label: 'Actions', render: (d) => html`<div class="row" role="group" aria-label=${'Delivery ' + d.id}>
			<button aria-expanded=${open === d.id ? 'true' : 'false'} onClick=${() => setOpen(open === d.id ? null : d.id)}>Attempts<span class="sr-only"> of delivery ${d.id}</span></button>
			${canWrite && d.status === 'failed' ? html`<button onClick=${() => retry(d)}>Retry<span class="sr-only"> delivery ${d.id}</span></button>` : ''}
		</div>` },
	];
	const shown = data && data.find((d) => d.id === open);
	return html`<section class="deliveries" aria-labelledby="deliveries-title">
		<h3 id="deliveries-title">Delivery history: <span class="muted hook-url">${hook.url}</span></h3>
		<${ErrorBox} error=${err} />
		${data === null ? html`<${Loading} what="deliveries" />`
			: html`<${Table} label=${'Deliveries of ' + hook.url} columns=${columns} rows=${data} empty="No deliveries yet: they appear when a subscribed event happens." />`}
		${shown ? html`<${Attempts} d=${shown} />` : ''}
	</section>`;
}

export function Webhooks({ canWrite }) {
	const list = useAsync(() => api.get('/ui/api/webhooks'), []);
	const [editing, setEditing] = useState(undefined); // undefined: closed; null: new; a webhook: edit
	const [selected, setSelected] = useState(null);
	const [err, setErr] = useState(null);
	const rows = items(list.data, 'webhooks');
	const act = async (fn, msg) => {
		setErr(null);
		try { await fn(); toast(msg); await list.reload(); } catch (x) { setErr(x); }
	};
	const base = (r) => '/ui/api/webhooks/' + encodeURIComponent(r.id);
	const columns = [
		{ key: 'url', label: 'URL', render: (r) => html`<code class="hook-url">${r.url}</code>` },
		{ key: 'events', label: 'Events', render: (r) => (r.events || []).join(', ') },
		{ key: 'namespace', label: 'Namespace', render: (r) => r.namespace || html`<span class="muted">all</span>` },
		{ key: 'hasSecret', label: 'Signed', render: (r) => (r.hasSecret ? 'yes' : 'no') },
		{ key: 'enabled', label: 'Status', render: (r) => html`<span class=${'badge ' + (r.enabled ? 'ok' : 'warn')}>${r.enabled ? 'enabled' : 'disabled'}</span>` },
		{ key: 'actions', label: 'Actions', render: (r) => html`<div class="row" role="group" aria-label=${'Actions for ' + r.url}>
			<button aria-pressed=${selected === r.id ? 'true' : 'false'} onClick=${() => setSelected(selected === r.id ? null : r.id)}>Deliveries<span class="sr-only"> of ${r.url}</span></button>
			${canWrite ? html`<button onClick=${() => setEditing(r)}>Edit<span class="sr-only"> ${r.url}</span></button>
				<button onClick=${() => act(() => api.post(base(r) + (r.enabled ? '/disable' : '/enable'), {}), r.enabled ? 'Webhook disabled' : 'Webhook enabled')}>${r.enabled ? 'Disable' : 'Enable'}<span class="sr-only"> ${r.url}</span></button>
				<${ConfirmButton} label="Delete" confirmLabel="Delete webhook" onConfirm=${() => act(async () => { await api.del(base(r)); if (selected === r.id) setSelected(null); }, 'Webhook deleted')} />` : ''}
		</div>` },
	];
	const hook = rows.find((r) => r.id === selected);
	return html`<h2>Webhooks</h2>
		<p class="muted">Events are POSTed to each subscribed URL; failed deliveries are retried on a schedule and can be retried by hand.</p>
		${canWrite ? html`<div class="toolbar"><button class="primary" onClick=${() => setEditing(null)}>Create webhook</button></div>` : ''}
		<${ErrorBox} error=${err || list.error} />
		${list.loading && !list.data ? html`<${Loading} what="webhooks" />`
			: html`<${Table} label="Webhooks" columns=${columns} rows=${rows} empty="No webhooks yet." selected=${(r) => r.id === selected} />`}
		${hook ? html`<${Deliveries} key=${hook.id} hook=${hook} canWrite=${canWrite} />` : ''}
		${editing !== undefined ? html`<${WebhookForm} hook=${editing} onClose=${() => setEditing(undefined)} onSaved=${list.reload} />` : ''}`;
}
