// pages/api-tester.js - the console's "API tester" page (placeholder until the page is built).

import { html } from '../kit/ui.js';

export default function Page() {
	return html`<h1>API tester</h1><p class="muted">This page is not built yet.</p>`;
}
