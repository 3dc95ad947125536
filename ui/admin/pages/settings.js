// pages/settings.js - the console's "Settings" page: one tab per concern, each with its own URL
// (/ui/settings/<tab>) so a link or a reload lands on the same tab. The tabs are sub-components:
// settings-access.js (integrations, API tokens), settings-webhooks.js (webhooks and their
// delivery history), settings-people.js (users and roles, namespaces). Every tab reads and writes
// through the same REST endpoints the SDKs use (docs/rest-api.md); a viewer sees the lists only.

import { html, Tabs } from '../kit/ui.js';
import { Integrations, Tokens } from './settings-access.js';
import { Webhooks } from './settings-webhooks.js';
import { Users, Namespaces } from './settings-people.js';

const TABS = [
	{ id: 'integrations', label: 'Integrations', component: Integrations },
	{ id: 'tokens', label: 'API tokens', component: Tokens },
	{ id: 'webhooks', label: 'Webhooks', component: Webhooks },
	{ id: 'users', label: 'Users and roles', component: Users },
	{ id: 'namespaces', label: 'Namespaces', component: Namespaces },
];

export default function Settings(props) {
	const { route, navigate } = props;
	const tab = TABS.find((t) => t.id === route.parts[0]) || TABS[0];
	const Tab = tab.component;
	return html`<h1>Settings</h1>
		<${Tabs} label="Settings" tabs=${TABS} current=${tab.id} onSelect=${(id) => navigate('settings/' + id)} />
		<section role="tabpanel" aria-labelledby=${'tab-' + tab.id} class="settings-panel">
			<${Tab} key=${tab.id} ...${props} />
		</section>`;
}
