// chart.js - live time-series charts (uPlot, vendored, loaded by the page as the global
// `uPlot`) with the numbers as text beside them: a chart is an image to screen readers
// (role="img" + aria-label) and its latest values are plain text any test or person can read.
//
//   import { LiveChart } from '../kit/chart.js';
//   html`<${LiveChart} id="rps" label="Requests per second" unit="req/s"
//          series=${[{ label: 'req/s' }]} samples=${[{ t: 1733550000, v: [120] }, ...]} />`
//
// samples: [{ t: Unix seconds, v: [one number per series] }], oldest first. The figures column
// shows each series' latest value with the id `${id}-${index}` (e.g. "rps-0").

import { html, useEffect, useRef } from './ui.js';

const COLOURS = ['#2f6fde', '#d9622b', '#1f9d55', '#9b5de5', '#c2185b'];

export function LiveChart({ id, label, unit = '', series, samples, height = 200, digits = 0 }) {
	const box = useRef(null);
	const plot = useRef(null);
	const data = toColumns(series, samples);

	useEffect(() => {
		if (!box.current || typeof window.uPlot !== 'function') return undefined;
		const width = Math.max(240, box.current.clientWidth || 480);
		// a canvas does not resolve CSS's currentColor: take the theme's text colour
		// (read when the chart is made; a page change after a theme switch makes it again)
		const ink = getComputedStyle(box.current).color;
		const opts = {
			width, height,
			legend: { show: false },
			cursor: { show: false },
			// one sample spans no time: show the last minute rather than a span of years
			scales: { x: { time: true, range: (u, min, max) => (max - min < 1 ? [max - 60, max] : [min, max]) } },
			axes: [
				{ stroke: ink, grid: { stroke: 'rgba(127,127,127,.2)' }, ticks: { stroke: 'rgba(127,127,127,.35)' } },
				{ stroke: ink, grid: { stroke: 'rgba(127,127,127,.2)' }, ticks: { stroke: 'rgba(127,127,127,.35)' }, size: 56 },
			],
			series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.stroke || COLOURS[i % COLOURS.length], width: 2, points: { show: false } }))],
		};
		plot.current = new window.uPlot(opts, data, box.current);
		const ro = new ResizeObserver(() => {
			const w = box.current && box.current.clientWidth;
			if (w && plot.current) plot.current.setSize({ width: Math.max(240, w), height });
		});
		ro.observe(box.current);
		return () => { ro.disconnect(); plot.current && plot.current.destroy(); plot.current = null; };
	}, [series.length]);

	useEffect(() => { if (plot.current) plot.current.setData(data); });

	const last = samples && samples.length ? samples[samples.length - 1].v : [];
	const summary = series.map((s, i) => `${s.label} ${fmtVal(last[i], digits)}${unit ? ' ' + unit : ''}`).join(', ');
	return html`<div class="chart-wrap">
		<div class="chart" ref=${box} id=${id + '-chart'} role="img" aria-label=${`${label}: ${summary || 'no data yet'}`}></div>
		<dl class="figures" aria-label=${label + ' (latest)'}>
			${series.map((s, i) => html`<dt class="muted">${s.label}</dt>
				<dd id=${`${id}-${i}`} style="margin:0 0 6px;font-size:18px;font-weight:600">${fmtVal(last[i], digits)}${unit ? html` <span class="muted" style="font-size:12px">${unit}</span>` : ''}</dd>`)}
		</dl>
	</div>`;
}

function fmtVal(v, digits) {
	if (v === undefined || v === null || Number.isNaN(Number(v))) return '–';
	return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function toColumns(series, samples) {
	const cols = [[]];
	series.forEach(() => cols.push([]));
	for (const s of samples || []) {
		cols[0].push(s.t);
		series.forEach((_, i) => cols[i + 1].push(s.v[i] ?? null));
	}
	return cols;
}

// ring(samples, sample, max): a new array with sample appended, at most max long.
export function ring(samples, sample, max = 120) {
	const out = samples.length >= max ? samples.slice(samples.length - max + 1) : samples.slice();
	out.push(sample);
	return out;
}
