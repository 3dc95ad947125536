// app.js - the dashboard of a generated server (DASHBOARD_PORT): its identity (type,
// serverName, admin node), the coordinator link, mocks loaded, live charts of requests per
// second, latency percentiles and hits and misses (numbers as text beside each), and the
// requests answered per route and status. Data: the node's /api/status (the node library's
// document plus "generatedServer"), polled every second (kit/dashboard.js).

import { html, Stat, Table, fmtNum } from './kit/ui.js';
import { LiveChart } from './kit/chart.js';
import { Dashboard, Section, useNodeStatus, linkBadge, mount } from './kit/dashboard.js';

function App() {
	const { status: s, samples, error } = useNodeStatus();
	if (!s) return html`<${Dashboard} title="generated server" error=${error}><p class="muted" role="status">Waiting for the node…</p><//>`;
	const c = s.coordinator || {};
	const g = s.generatedServer || {};
	const [badge, cls] = linkBadge(c);
	const rps = samples.map((x) => ({ t: x.t, v: [x.rps] }));
	const lat = samples.map((x) => ({ t: x.t, v: [x.p50 * 1e6, x.p95 * 1e6, x.p99 * 1e6] }));
	const hm = samples.map((x) => ({ t: x.t, v: [x.hits, x.misses] }));
	return html`<${Dashboard} title=${`generated ${g.type || ''} server`} subtitle=${`${s.name} · namespace ${s.namespace}`}
			badge=${badge} badgeClass=${cls} error=${error}>
		<div class="cards">
			<${Stat} k="Coordinator" id="coordinator" v=${badge} cls=${cls} />
			<${Stat} k="serverName" id="server-name" v=${g.serverName || '(all of the namespace)'} />
			<${Stat} k="Admin node" id="admin" v=${g.adminUrl || ''} />
			<${Stat} k="Applied version" id="ver" v=${fmtNum(s.appliedVersion)} />
			<${Stat} k="Mocks loaded" id="mocks" v=${fmtNum(s.mocksLoaded)} />
			<${Stat} k="Requests" id="requests" v=${fmtNum(s.requests)} />
			<${Stat} k="Hits (local)" id="hits-total" v=${fmtNum(s.cacheHits)} />
			<${Stat} k="Hits (coordinator, stateful)" id="remote" v=${fmtNum(s.remoteResolves)} />
			<${Stat} k="Misses" id="misses" v=${fmtNum(s.misses)} />
			<${Stat} k="Uptime" id="uptime" v=${s.uptime} />
		</div>
		<${Section} title="Requests per second" id="sec-rps">
			<${LiveChart} id="rps" label="Requests per second" unit="req/s" digits=${1} series=${[{ label: 'requests' }]} samples=${rps} />
		<//>
		<${Section} title="Latency percentiles" id="sec-lat">
			<${LiveChart} id="latency" label="Latency percentiles in microseconds" unit="µs" digits=${0}
				series=${[{ label: 'p50' }, { label: 'p95' }, { label: 'p99' }]} samples=${lat} />
		<//>
		<${Section} title="Hits and misses per second" id="sec-hits">
			<${LiveChart} id="hits" label="Hits and misses per second" unit="/s" digits=${1}
				series=${[{ label: 'hits' }, { label: 'misses', stroke: '#c0262d' }]} samples=${hm} />
		<//>
		<${Section} title="Requests per route" id="sec-routes">
			<${Table} label="Requests per route" rows=${g.routes || []} rowKey=${(r) => r.route + ' ' + r.status}
				empty="No request answered yet."
				columns=${[{ key: 'route', label: 'Route' }, { key: 'status', label: 'Status', num: true }, { key: 'count', label: 'Count', num: true }]} />
		<//>
		<p class="muted">/metrics, /health and /spec on port ${g.httpPort}.</p>
	<//>`;
}

mount(App);
