// pages/index.js - the console's pages in sidebar order. Each entry: id (the URL segment after
// /ui/), title, group (the sidebar heading), component (called with { me, ns, route, navigate,
// role, canWrite, namespaces, reloadNamespaces }; route = { page, parts, query } for /ui/<page>/<parts...>?query).

import Mocks from './mocks.js';
import Undefined from './undefined.js';
import Imports from './imports.js';
import Stores from './stores.js';
import ApiTester from './api-tester.js';
import Performance from './performance.js';
import Nodes from './nodes.js';
import Settings from './settings.js';

export const PAGES = [
	{ id: 'mocks', title: 'Mocks', group: 'Mocks', component: Mocks },
	{ id: 'undefined', title: 'Undefined requests', group: 'Mocks', component: Undefined },
	{ id: 'imports', title: 'Imports', group: 'Mocks', component: Imports },
	{ id: 'stores', title: 'Stores', group: 'Mocks', component: Stores },
	{ id: 'api-tester', title: 'API tester', group: 'Testing', component: ApiTester },
	{ id: 'performance', title: 'Performance', group: 'Testing', component: Performance },
	{ id: 'nodes', title: 'Nodes', group: 'Platform', component: Nodes },
	{ id: 'settings', title: 'Settings', group: 'Platform', component: Settings },
];
