// app.js - the mock-resolver's dashboard (DASHBOARD_PORT, 6780): the coordinator link, versions,
// mocks loaded, and live charts of requests per second, latency percentiles and hits and misses
// per second, each with its numbers as text beside it. Data: the node's /api/status, polled
// every second (kit/dashboard.js).

import { html, Stat, fmtNum } from './kit/ui.js';
import { LiveChart } from './kit/chart.js';
import { Dashboard, Section, useNodeStatus, linkBadge, ms, ago, mount } from './kit/dashboard.js';

export function TrafficCharts({ samples }) {
	const rps = samples.map((s) => ({ t: s.t, v: [s.rps] }));
	const lat = samples.map((s) => ({ t: s.t, v: [s.p50 * 1e6, s.p95 * 1e6, s.p99 * 1e6] }));
	const hm = samples.map((s) => ({ t: s.t, v: [s.hits, s.misses] }));
	return html`
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
		<//>`;
}

function App() {
	const { status: s, samples, error } = useNodeStatus();
	if (!s) return html`<${Dashboard} title="mock-resolver" error=${error}><p class="muted" role="status">Waiting for the node…</p><//>`;
	const c = s.coordinator || {};
	const [badge, cls] = linkBadge(c);
	const l = s.latencySeconds || {};
	return html`<${Dashboard} title="mock-resolver" subtitle=${`${s.name} · namespace ${s.namespace} · ${s.releaseId}`}
			badge=${badge} badgeClass=${cls} error=${error}>
		<div class="cards">
			<${Stat} k="Coordinator" id="conn" v=${badge} cls=${cls} />
			<${Stat} k="Applied / head version" id="ver" v=${`${s.appliedVersion} / ${s.headVersion}`} />
			<${Stat} k="Mocks loaded" id="mocks" v=${fmtNum(s.mocksLoaded) + (s.ready ? '' : ' (no snapshot yet)')} />
			<${Stat} k="Requests/s (last second)" id="rps-now" v=${fmtNum(s.requestsPerSecond, 1)} />
			<${Stat} k="Latency p50 / p90 / p99 (10 s)" id="lat" v=${`${ms(l.p50)} / ${ms(l.p90)} / ${ms(l.p99)}`} />
			<${Stat} k="Requests (local / remote)" id="req" v=${`${fmtNum(s.cacheHits)} / ${fmtNum(s.remoteResolves)}`} />
			<${Stat} k="Misses" id="miss" v=${fmtNum(s.misses)} />
			<${Stat} k="Dropped log rows" id="drop" v=${fmtNum(s.dropped)} />
			<${Stat} k="Last heartbeat" id="hb" v=${ago(c.lastHeartbeatMs, s.nowMs)} />
			<${Stat} k="Reconnects / resyncs" id="rc" v=${`${c.reconnects ?? 0} / ${c.resyncs ?? 0}`} />
		</div>
		${!c.connected && c.lastError ? html`<p class="muted">${c.lastError} (${c.addr})</p>` : ''}
		<${TrafficCharts} samples=${samples} />
	<//>`;
}

mount(App);
