// pages/mocks-model.js - what the Mocks pages know about a mock document without drawing it:
// its protocol and one-line summary, a starting template per protocol the product serves, the
// server-managed fields left out of the editor, pretty JSON with the line of each field path
// (to point at a validation error) and a line diff of two documents.

// The protocol sections of a mock (exactly one is set; docs/rest-api.md, api-compat §3.3).
export const PROTOCOLS = ['http', 'grpc', 'graphql', 'soap', 'mcp', 'sse', 'socket', 'kafka', 'rabbitmq', 'smtp'];
export const PROTOCOL_LABEL = {
	http: 'HTTP', grpc: 'gRPC', graphql: 'GraphQL', soap: 'SOAP', mcp: 'MCP', sse: 'SSE',
	socket: 'WebSocket', kafka: 'Kafka', rabbitmq: 'RabbitMQ', smtp: 'SMTP',
};
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

// Fields the server sets; the editor neither shows nor sends them.
const SERVER_FIELDS = ['_meta', 'createdAt', 'updatedAt', 'lastUse', 'expireAt', 'closedAt', 'useCounter', 'version', 'namespace'];

export function protocolOf(m) {
	return (m && PROTOCOLS.find((p) => m[p] && typeof m[p] === 'object')) || '';
}

// "GET /api/users/:id", "user.UserService/GetUser", "topic orders" ...
export function summary(m) {
	const p = protocolOf(m);
	const s = (m && m[p]) || {};
	const j = (...a) => a.filter(Boolean).join(' ');
	switch (p) {
	case 'http': return j(s.httpMethod || 'ANY', (m.pathPrefix || '') + (s.route || s.routePattern || ''));
	case 'grpc': return j((s.service || s.serviceName || '') + '/' + (s.method || ''), s.methodType && s.methodType !== 'unary' ? `(${s.methodType})` : '');
	case 'graphql': return j(s.operation, s.field, s.path ? `at ${s.path}` : '');
	case 'soap': return j(s.path, s.action || s.method);
	case 'mcp': return j(s.method, s.tool || s.resource);
	case 'sse': return j(s.eventPath, s.eventName);
	case 'socket': return j(s.serverName, s.namespace, s.event);
	case 'kafka': return j('topic', s.topic);
	case 'rabbitmq': return j('queue', s.queue || s.routingKey);
	case 'smtp': return j('server', s.serverName);
	default: return '';
	}
}

// A mock document as the editor shows it: the server-managed fields removed.
export function editable(m) {
	const out = {};
	for (const [k, v] of Object.entries(m || {})) if (!SERVER_FIELDS.includes(k)) out[k] = v;
	return out;
}

// Starting documents, one per protocol (shapes of api-compat §3.8, as core/src/validate.c accepts them).
export const TEMPLATES = {
	http: { id: '', http: { route: '/api/users/:id', httpMethod: 'GET' },
		response: { statusCode: 200, headers: { 'Content-Type': ['application/json'] }, payload: { id: '$.pathParam.id', name: '$.fake.FirstName' } }, tags: [] },
	grpc: { id: '', grpc: { service: 'user.UserService', method: 'GetUser', methodType: 'unary', conditions: [{ path: '$.id', assertAction: 'notEmpty' }] },
		response: { statusCode: 0, payload: { id: '$.req.id', name: '$.fake.FirstName' } }, tags: [] },
	graphql: { id: '', graphql: { operation: 'query', field: 'getUser', path: '/graphql' },
		response: { statusCode: 200, payload: { data: { getUser: { id: '$.fake.UUID', name: '$.fake.FirstName' } } } }, tags: [] },
	soap: { id: '', soap: { service: 'AccountService', method: 'GetAccount', action: 'http://example.com/AccountService/GetAccount', path: '/ws/account' },
		response: { statusCode: 200, payload: { GetAccountResponse: { id: '42', status: 'active' } } }, tags: [] },
	mcp: { id: '', mcp: { method: 'tools/call', tool: 'get_weather', description: 'Weather by city' },
		response: { payload: { content: [{ type: 'text', text: 'Weather in $.req.city: 22C' }] } }, tags: [] },
	sse: { id: '', sse: { eventPath: '/events/deploy', eventName: 'deploy' },
		response: { statusCode: 200, sseEventChain: { events: [{ eventName: 'build', data: { status: 'started' }, delay: 0 }, { eventName: 'build', data: { status: 'done' }, delay: 1000 }], loop: false } }, tags: [] },
	socket: { id: '', socket: { serverName: 'ws-server', event: 'message', namespace: '/chat' },
		response: { payload: { echo: '$.req.text' } }, tags: [] },
	kafka: { id: '', kafka: { topic: 'orders.incoming', consumerGroup: 'g1', outputTopic: 'orders.processed', conditions: [{ path: '$.type', assertAction: 'equals', value: 'new_order' }] },
		response: { payload: { orderId: '$.req.orderId', status: 'ROUTED' } }, tags: [] },
	rabbitmq: { id: '', rabbitmq: { queue: 'orders', exchange: 'ex', routingKey: 'orders.new', outputExchange: 'ex.out', outputRoutingKey: 'orders.done' },
		response: { payload: { ok: true } }, tags: [] },
	smtp: { id: '', smtp: { serverName: 'email-server', subjectConditions: [{ path: 'subject', assertAction: 'contains', value: 'Welcome' }] },
		response: { statusCode: 200, payload: { messageId: '$.fake.UUID', status: 'DELIVERED' } }, tags: [] },
};

export function template(protocol) {
	return JSON.parse(JSON.stringify(TEMPLATES[protocol] || TEMPLATES.http));
}

// pretty(value) -> { text, lines: Map(path -> 1-based line) }: the text JSON.stringify(v, null, 2)
// gives, plus the line where each JSON path ("$.http.conditions[0].assertAction") starts.
export function pretty(value) {
	const out = [];
	const lines = new Map();
	const walk = (v, path, indent, prefix, suffix) => {
		lines.set(path, out.length + 1);
		const pad = '  '.repeat(indent);
		if (Array.isArray(v) && v.length) {
			out.push(pad + prefix + '[');
			v.forEach((x, i) => walk(x, `${path}[${i}]`, indent + 1, '', i < v.length - 1 ? ',' : ''));
			out.push(pad + ']' + suffix);
		} else if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
			out.push(pad + prefix + '{');
			const ks = Object.keys(v).filter((k) => v[k] !== undefined);
			ks.forEach((k, i) => walk(v[k], /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`,
				indent + 1, JSON.stringify(k) + ': ', i < ks.length - 1 ? ',' : ''));
			out.push(pad + '}' + suffix);
		} else {
			out.push(pad + prefix + JSON.stringify(v) + suffix);
		}
	};
	walk(value, '$', 0, '', '');
	return { text: out.join('\n'), lines };
}

// The line of path in lines, or of its nearest ancestor that is there.
export function lineOf(lines, path) {
	let p = path;
	while (p) {
		if (lines.has(p)) return lines.get(p);
		const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
		if (cut <= 0) break;
		p = p.slice(0, cut);
	}
	return 0;
}

// diffLines(a, b) -> [{ op: ' ' | '-' | '+', text }]: a line diff (longest common subsequence)
// of texts a (old) and b (new).
export function diffLines(a, b) {
	const x = a.split('\n'), y = b.split('\n');
	const n = x.length, m = y.length;
	if (n * m > 4e6) return [...x.map((t) => ({ op: '-', text: t })), ...y.map((t) => ({ op: '+', text: t }))];
	const w = m + 1;
	const L = new Uint32Array((n + 1) * w);
	for (let i = n - 1; i >= 0; i--) {
		for (let j = m - 1; j >= 0; j--) {
			L[i * w + j] = x[i] === y[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
		}
	}
	const out = [];
	let i = 0, j = 0;
	while (i < n && j < m) {
		if (x[i] === y[j]) { out.push({ op: ' ', text: x[i] }); i++; j++; }
		else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) out.push({ op: '-', text: x[i++] });
		else out.push({ op: '+', text: y[j++] });
	}
	while (i < n) out.push({ op: '-', text: x[i++] });
	while (j < m) out.push({ op: '+', text: y[j++] });
	return out;
}

// "/api/users/:id" -> "/api/users/1": a path a test request can use.
export function samplePath(route) {
	return (route || '/').replace(/:([A-Za-z_][\w]*)/g, '1').replace(/\{[^}]*\}/g, '1').replace(/\*+/g, 'x');
}

// "Name: value" lines -> headers object (blank lines and lines without ':' skipped).
export function parseHeaders(text) {
	const h = {};
	for (const line of (text || '').split('\n')) {
		const i = line.indexOf(':');
		if (i <= 0) continue;
		const k = line.slice(0, i).trim(), v = line.slice(i + 1).trim();
		if (k) h[k] = v;
	}
	return h;
}
