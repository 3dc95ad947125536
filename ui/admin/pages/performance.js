// pages/performance.js - the console's "Performance" page (placeholder until the page is built).

import { html } from '../kit/ui.js';

export default function Page() {
	return html`<h1>Performance</h1><p class="muted">This page is not built yet.</p>`;
}
