// pages/undefined.js - the console's "Undefined requests" page (placeholder until the page is built).

import { html } from '../kit/ui.js';

export default function Page() {
	return html`<h1>Undefined requests</h1><p class="muted">This page is not built yet.</p>`;
}
