// pages/mocks.js - the console's "Mocks" page (placeholder until the page is built).

import { html } from '../kit/ui.js';

export default function Page() {
	return html`<h1>Mocks</h1><p class="muted">This page is not built yet.</p>`;
}
