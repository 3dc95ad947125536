// pages/api-tester.js - the console's "API tester" page: Postman collections (create, import,
// run, delete), environments (variables, the active one) and test runs (live progress, the
// report per request and test, JUnit and Markdown downloads, compare two runs). Each view has
// its URL: /ui/api-tester/collections, /environments, /runs, /runs/<id>, /compare/<a>/<b>, so
// a run's page can be reloaded or shared while it runs. Sub-components: api-tester-collections.js,
// api-tester-runs.js. Endpoints: docs/rest-api.md "API tester and load tests".

import { html, Tabs } from '../kit/ui.js';
import { Collections, Environments } from './api-tester-collections.js';
import { Runs, RunView, Compare } from './api-tester-runs.js';

const TABS = [
	{ id: 'collections', label: 'Collections' },
	{ id: 'environments', label: 'Environments' },
	{ id: 'runs', label: 'Runs' },
];

export default function ApiTester(props) {
	const { route, navigate } = props;
	const [view, a, b] = route.parts;
	const tab = view === 'compare' ? 'runs' : (TABS.find((t) => t.id === view) || TABS[0]).id;
	let body;
	if (view === 'runs' && a) body = html`<${RunView} key=${a} id=${a} ...${props} />`;
	else if (view === 'compare' && a && b) body = html`<${Compare} key=${a + b} a=${a} b=${b} ...${props} />`;
	else if (tab === 'environments') body = html`<${Environments} ...${props} />`;
	else if (tab === 'runs') body = html`<${Runs} ...${props} />`;
	else body = html`<${Collections} ...${props} />`;
	return html`<h1>API tester</h1>
		<${Tabs} label="API tester" tabs=${TABS} current=${tab} onSelect=${(id) => navigate('api-tester/' + id)} />
		<section role="tabpanel" aria-labelledby=${'tab-' + tab}>${body}</section>`;
}
