// pages/mocks.js - the console's "Mocks" page: /ui/mocks lists the namespace's mocks (search,
// tag, folder, show deleted, paging), /ui/mocks/new creates one from a protocol template and
// /ui/mocks/<id> opens one mock with its editor, versions (diff, restore), request log and, for
// HTTP mocks, "Test this mock". Everything goes through the REST API the SDKs use
// (/api/v1/mocks...); viewers (canWrite false) get no control that would change anything.

import { html, useState, useEffect, useRef, useAsync, Table, Field, Tabs, ConfirmButton, ErrorBox, Loading, toast, fmtTime } from '../kit/ui.js';
import { api, ApiError, items } from '../kit/api.js';
import { PROTOCOLS, PROTOCOL_LABEL, protocolOf, summary } from './mocks-model.js';
import { MockEditor } from './mocks-editor.js';
import { Versions, RequestLog, TestMock } from './mocks-detail.js';

const PAGE_SIZE = 50;

export default function Mocks(props) {
	const { route } = props;
	const id = route.parts[0];
	if (!id) return html`<${MockList} ...${props} />`;
	if (id === 'new') return html`<${NewMock} ...${props} />`;
	return html`<${MockDetail} key=${id} id=${id} ...${props} />`;
}

// Folders as a flat list in tree order, each with its depth (for an indented select).
function folderTree(list) {
	const byParent = new Map();
	for (const f of list) {
		const p = f.parentId || '';
		if (!byParent.has(p)) byParent.set(p, []);
		byParent.get(p).push(f);
	}
	const ids = new Set(list.map((f) => f.id));
	const out = [];
	const seen = new Set();
	const walk = (parent, depth) => {
		for (const f of (byParent.get(parent) || []).sort((a, b) => (a.sortOrder || 0) - (b.sortOrder || 0) || a.name.localeCompare(b.name))) {
			if (seen.has(f.id)) continue;
			seen.add(f.id);
			out.push({ ...f, depth });
			walk(f.id, depth + 1);
		}
	};
	walk('', 0);
	for (const f of list) if (!seen.has(f.id) && !ids.has(f.parentId)) { seen.add(f.id); out.push({ ...f, depth: 0 }); }
	return out;
}

export function useFolders() {
	return useAsync(async () => folderTree(items(await api.get('/api/v1/mock-folders'), 'folders')), []);
}

function MockList({ navigate, canWrite, route }) {
	const q = route.query;
	const [search, setSearch] = useState(q.get('search') || '');
	const [debounced, setDebounced] = useState(search);
	const [tag, setTag] = useState(q.get('tag') || '');
	const [folder, setFolder] = useState(q.get('folder') ?? '*');
	const [deleted, setDeleted] = useState(q.get('deleted') === '1');
	const [offset, setOffset] = useState(0);

	useEffect(() => {
		if (search === debounced) return undefined;
		const t = setTimeout(() => { setDebounced(search); setOffset(0); }, 300);
		return () => clearTimeout(t);
	}, [search]);

	const tags = useAsync(async () => items(await api.get('/api/v1/tags'), 'tags').map((t) => (typeof t === 'string' ? t : t.name)), []);
	const folders = useFolders();
	const list = useAsync(() => api.get('/api/v1/mocks', {
		search: debounced, tags: tag, offset, limit: PAGE_SIZE,
		includeDeleted: deleted ? 'true' : undefined, folderId: folder === '*' ? undefined : folder,
	}), [debounced, tag, folder, deleted, offset]);

	// keep the filters in the address, so a reload or a shared link shows the same list
	useEffect(() => {
		const p = new URLSearchParams();
		if (debounced) p.set('search', debounced);
		if (tag) p.set('tag', tag);
		if (folder !== '*') p.set('folder', folder);
		if (deleted) p.set('deleted', '1');
		const s = p.toString();
		history.replaceState(null, '', '/ui/mocks' + (s ? '?' + s : ''));
	}, [debounced, tag, folder, deleted]);

	const folderName = new Map((folders.data || []).map((f) => [f.id, f.name]));
	const data = list.data;
	const rows = data ? items(data, 'mocks') : [];
	const total = data && typeof data.total === 'number' ? data.total : rows.length;
	const open = (e, m) => {
		if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
		e.preventDefault();
		navigate('mocks/' + encodeURIComponent(m.id));
	};

	const columns = [
		{ key: 'id', label: 'ID', render: (m) => html`<a href=${'/ui/mocks/' + encodeURIComponent(m.id)} onClick=${(e) => open(e, m)}>${m.id}</a>` },
		{ key: 'protocol', label: 'Protocol', render: (m) => html`<span class="badge">${PROTOCOL_LABEL[protocolOf(m)] || '?'}</span>` },
		{ key: 'what', label: 'Method and route', render: (m) => html`<code>${summary(m)}</code>` },
		{ key: 'tags', label: 'Tags', render: (m) => (m.tags || []).map((t) => html`<span class="badge mk-tag">${t}</span> `) },
		{ key: 'folder', label: 'Folder', render: (m) => (m.folderId ? folderName.get(m.folderId) || m.folderId : '') },
		{ key: 'status', label: 'Status', render: (m) => (m.closedAt ? html`<span class="badge bad">deleted</span>` : html`<span class="badge ok">active</span>`) },
		{ key: 'updated', label: 'Updated', render: (m) => html`<span class="mk-time">${fmtTime(m.updatedAt || m.createdAt)}</span>` },
	];

	return html`<div class="mk">
		<div class="row"><h1>Mocks</h1><span class="spacer"></span>
			${canWrite ? html`<a class="button primary" href="/ui/mocks/new" onClick=${(e) => { e.preventDefault(); navigate('mocks/new'); }}>New mock</a>` : ''}</div>
		<div class="mk-filters" role="search" aria-label="Filter mocks">
			<${Field} id="mk-search" label="Search"><input id="mk-search" type="search" placeholder="id or route" value=${search}
				onInput=${(e) => setSearch(e.target.value)} /><//>
			<${Field} id="mk-tag" label="Tag"><select id="mk-tag" value=${tag} onChange=${(e) => { setTag(e.target.value); setOffset(0); }}>
				<option value="">All tags</option>
				${(tags.data || []).map((t) => html`<option value=${t}>${t}</option>`)}
			</select><//>
			<${Field} id="mk-folder" label="Folder"><select id="mk-folder" value=${folder} onChange=${(e) => { setFolder(e.target.value); setOffset(0); }}>
				<option value="*">All folders</option>
				<option value="">No folder</option>
				${(folders.data || []).map((f) => html`<option value=${f.id}>${'\u00a0\u00a0'.repeat(f.depth) + f.name}${f.mockCount !== undefined ? ` (${f.mockCount})` : ''}</option>`)}
			</select><//>
			<div class="field mk-check"><label class="inline"><input type="checkbox" checked=${deleted}
				onChange=${(e) => { setDeleted(e.target.checked); setOffset(0); }} /> Show deleted</label></div>
		</div>
		<${ErrorBox} error=${list.error} title="Mocks" />
		<${ErrorBox} error=${folders.error} title="Folders" />
		${list.loading && !data ? html`<${Loading} what="mocks" />` : ''}
		${data ? html`
			<p class="muted" role="status" id="mk-count">${total === 0 ? 'No mocks match.' : `Showing ${offset + 1}–${offset + rows.length} of ${total} mock${total === 1 ? '' : 's'}`}</p>
			<${Table} label="Mocks" columns=${columns} rows=${rows}
				empty=${debounced || tag || folder !== '*' ? 'No mock matches these filters.' : 'This namespace has no mocks yet.'} />
			${total > PAGE_SIZE ? html`<nav class="row mk-pager" aria-label="Pages of mocks">
				<button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE_SIZE))}>Previous page</button>
				<span>Page ${Math.floor(offset / PAGE_SIZE) + 1} of ${Math.ceil(total / PAGE_SIZE)}</span>
				<button disabled=${offset + PAGE_SIZE >= total} onClick=${() => setOffset(offset + PAGE_SIZE)}>Next page</button>
			</nav>` : ''}` : ''}
	</div>`;
}

function NewMock({ navigate, canWrite, route, ns }) {
	const proto = PROTOCOLS.includes(route.query.get('protocol')) ? route.query.get('protocol') : 'http';
	if (!canWrite) return html`<h1>New mock</h1><p>Your role in namespace <code>${ns}</code> is viewer: you cannot create mocks.</p>`;
	return html`<div class="mk">
		<p><a href="/ui/mocks" onClick=${(e) => { e.preventDefault(); navigate('mocks'); }}>← All mocks</a></p>
		<h1>New mock</h1>
		<${MockEditor} isNew=${true} protocol=${proto} canWrite=${canWrite}
			onSaved=${(m) => { toast(`Mock ${m.id} created`); navigate('mocks/' + encodeURIComponent(m.id), { replace: true }); }} />
	</div>`;
}

function MockDetail({ id, navigate, canWrite, route }) {
	const mock = useAsync(() => api.get('/api/v1/mocks/' + encodeURIComponent(id)), [id]);
	const [tab, setTab] = useState(route.query.get('tab') || 'edit');
	const [busy, setBusy] = useState(null);
	const [actionError, setActionError] = useState(null);
	const m = mock.data;
	const proto = m ? protocolOf(m) : '';
	const headingRef = useRef(null);
	// the mock as loaded: a change (a save, a restore within the same second) remounts the editor
	// and reloads the versions
	const stamp = m ? JSON.stringify(m) : '';

	useEffect(() => { if (m && headingRef.current) headingRef.current.focus(); }, [!!m]);

	const act = async (what, fn) => {
		setBusy(what); setActionError(null);
		try { await fn(); } catch (e) { setActionError(e); } finally { setBusy(null); }
	};
	const del = () => act('delete', async () => { await api.del('/api/v1/mocks/' + encodeURIComponent(id)); toast(`Mock ${id} deleted (it can be restored)`); await mock.reload(); });
	const restore = () => act('restore', async () => { await api.post('/api/v1/mocks/' + encodeURIComponent(id) + '/restore', {}); toast(`Mock ${id} restored`); await mock.reload(); });
	const purge = () => act('purge', async () => { await api.del('/api/v1/mocks/' + encodeURIComponent(id) + '/purge'); toast(`Mock ${id} purged`); navigate('mocks'); });

	if (mock.error && mock.error instanceof ApiError && mock.error.status === 404) {
		return html`<div class="mk"><p><a href="/ui/mocks" onClick=${(e) => { e.preventDefault(); navigate('mocks'); }}>← All mocks</a></p>
			<h1>Mock not found</h1><p>There is no mock <code>${id}</code> in this namespace.</p></div>`;
	}
	const tabs = [{ id: 'edit', label: canWrite ? 'Edit' : 'Definition' }, { id: 'versions', label: 'Versions' }, { id: 'logs', label: 'Request log' }];
	if (proto === 'http') tabs.push({ id: 'test', label: 'Test this mock' });
	const current = tabs.some((t) => t.id === tab) ? tab : 'edit';

	return html`<div class="mk">
		<p><a href="/ui/mocks" onClick=${(e) => { e.preventDefault(); navigate('mocks'); }}>← All mocks</a></p>
		<${ErrorBox} error=${mock.error} title="Mock" />
		${!m ? html`<${Loading} what="the mock" />` : html`
			<div class="row mk-head">
				<h1 tabindex="-1" ref=${headingRef}>Mock <code>${m.id}</code></h1>
				<span class="badge">${PROTOCOL_LABEL[proto] || '?'}</span>
				${m.closedAt ? html`<span class="badge bad">deleted</span>` : html`<span class="badge ok">active</span>`}
				<code class="muted">${summary(m)}</code>
				<span class="spacer"></span>
				${canWrite && !m.closedAt ? html`<${ConfirmButton} label="Delete" confirmLabel="Delete (it can be restored)" disabled=${!!busy} onConfirm=${del} />` : ''}
				${canWrite && m.closedAt ? html`<button class="primary" disabled=${!!busy} onClick=${restore}>Restore</button>
					<${ConfirmButton} label="Purge" confirmLabel="Purge for good (no undo)" disabled=${!!busy} onConfirm=${purge} />` : ''}
			</div>
			${m.closedAt ? html`<p class="notice">This mock is deleted (soft): it does not answer. Restore it to serve it again${canWrite ? ', or purge it to remove it and its versions for good' : ''}.</p>` : ''}
			<${ErrorBox} error=${actionError} />
			<${Tabs} label="Mock" tabs=${tabs} current=${current} onSelect=${setTab} />
			<div role="tabpanel" aria-labelledby=${'tab-' + current}>
				${current === 'edit' ? html`<${MockEditor} key=${stamp} mock=${m} canWrite=${canWrite && !m.closedAt}
					onSaved=${() => { toast(`Mock ${m.id} saved`); mock.reload(); }} />` : ''}
				${current === 'versions' ? html`<${Versions} mock=${m} stamp=${stamp} canWrite=${canWrite} onRestored=${() => mock.reload()} />` : ''}
				${current === 'logs' ? html`<${RequestLog} mock=${m} canWrite=${canWrite} />` : ''}
				${current === 'test' ? html`<${TestMock} mock=${m} />` : ''}
			</div>`}
	</div>`;
}
