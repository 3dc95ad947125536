// api.js - the UI kit's JSON client: the same REST endpoints the SDKs call, with the
// session cookie of the console (credentials: same-origin) and the CSRF token on every write.
//
//   import { api, ApiError } from '../kit/api.js';
//   const mocks = await api.get('/api/v1/mocks', { namespace: 'sandbox', limit: 50 });
//   await api.post('/api/v1/mocks', mock);            // throws ApiError on a non-2xx answer
//
// An ApiError carries the HTTP status, the server's error code and message, and the field path
// when the server named one (validation errors), so a form can show the error at its field.
// A 401 from any call fires the `unauthorized` listeners (the console then shows the sign-in).

let csrfToken = '';
let namespace = '';
const unauthorized = new Set();

export class ApiError extends Error {
	constructor(status, body, text) {
		const b = body && typeof body === 'object' ? body : {};
		super(b.error || b.message || text || `HTTP ${status}`);
		this.status = status;
		this.code = b.code || '';
		this.body = body;
		// the field a validation error names: "field", "path" or details[0].field, as each endpoint reports it
		this.field = b.field || b.path || (Array.isArray(b.details) && b.details[0] && (b.details[0].field || b.details[0].path)) || '';
	}
}

export function setCsrfToken(t) { csrfToken = t || ''; }
// The console's current namespace, sent as X-Namespace on every call (an explicit `namespace`
// in a body or query still wins, as the REST API defines).
export function setNamespace(ns) { namespace = ns || ''; }
export function currentNamespace() { return namespace; }
export function onUnauthorized(fn) { unauthorized.add(fn); return () => unauthorized.delete(fn); }

function readCookie(name) {
	for (const part of document.cookie.split(';')) {
		const [k, ...v] = part.trim().split('=');
		if (k === name) return decodeURIComponent(v.join('='));
	}
	return '';
}

// Builds "/path?a=1&b=2" from a query object, leaving out undefined, null and '' values.
export function withQuery(path, query) {
	if (!query) return path;
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(query)) {
		if (v === undefined || v === null || v === '') continue;
		q.set(k, String(v));
	}
	const s = q.toString();
	return s ? path + (path.includes('?') ? '&' : '?') + s : path;
}

// request(method, path, {query, body, raw, headers}) -> parsed JSON (or text when not JSON).
// raw: a Blob/FormData/string sent as is (its content type set by the caller or the browser).
export async function request(method, path, opts = {}) {
	const headers = { Accept: 'application/json', ...(namespace ? { 'X-Namespace': namespace } : {}), ...(opts.headers || {}) };
	let body;
	if (opts.raw !== undefined) body = opts.raw;
	else if (opts.body !== undefined) { body = JSON.stringify(opts.body); headers['Content-Type'] = 'application/json'; }
	if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken || readCookie('mockarty_csrf');
	const res = await fetch(withQuery(path, opts.query), { method, headers, body, credentials: 'same-origin', signal: opts.signal });
	const text = await res.text();
	let data = text;
	if ((res.headers.get('content-type') || '').includes('json') && text) {
		try { data = JSON.parse(text); } catch { data = text; }
	}
	if (res.status === 401 && !opts.noAuthEvent) for (const fn of unauthorized) fn();
	if (!res.ok) throw new ApiError(res.status, data, typeof data === 'string' ? data : '');
	return opts.withResponse ? { data, res } : data;
}

export const api = {
	get: (path, query, opts = {}) => request('GET', path, { ...opts, query }),
	post: (path, body, opts = {}) => request('POST', path, { ...opts, body }),
	put: (path, body, opts = {}) => request('PUT', path, { ...opts, body }),
	patch: (path, body, opts = {}) => request('PATCH', path, { ...opts, body }),
	del: (path, opts = {}) => request('DELETE', path, opts),
	request,
};

// A list endpoint's items whatever its envelope: an array, {items}, {data}, {mocks}, ...
export function items(data, ...keys) {
	if (Array.isArray(data)) return data;
	if (!data || typeof data !== 'object') return [];
	for (const k of [...keys, 'items', 'data', 'results', 'list']) if (Array.isArray(data[k])) return data[k];
	return [];
}
