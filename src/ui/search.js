// search: find messages by request_id or idempotency key (GET /api/message/find, in each
// project the caller may manage, or the one chosen), or open one by id.
import { h, replace, link, route, clock } from './dom.js';
import * as api from './api.js';
import * as state from './state.js';

const SHOW_DETAILS = 20; // fetch the record of at most this many results

export async function searchPage(root, _parts, query, ctx) {
  const q = (query.get('q') || '').trim();
  const only = query.get('project') || '';
  const projects = await state.projects();
  if (!ctx.alive()) return;
  const select = h('select', { name: 'project', id: 'search-project', value: only },
    h('option', { value: '' }, 'every project'),
    projects.map((p) => h('option', { value: p.project }, p.project)));
  select.addEventListener('change', () => { location.hash = route(['search'], { q, project: select.value }); });
  const results = h('div', { id: 'search-results' }, h('p', { class: 'muted' }, 'Searching…'));
  replace(root,
    h('h1', {}, 'Find ', h('q', {}, q)),
    h('p', { class: 'filters' }, h('label', {}, 'In ', select)),
    /^[1-9][0-9]{0,19}$/.test(q)
      ? h('p', {}, 'As a message id: ', link(['message', q], { project: only }, h('code', {}, q)))
      : null,
    results);
  if (!q) return replace(results, h('p', { class: 'muted' }, 'Type a request_id, an idempotency key or a message id in the box above.'));

  const where = projects.filter((p) => !only || p.project === only);
  const found = new Map(); // id -> {project, by: Set}
  const errors = [];
  await Promise.all(where.flatMap((p) => ['request_id', 'idempotency_key'].map(async (by) => {
    try {
      const d = await api.get('/api/message/find', { project: p.project, [by]: q });
      for (const id of d.ids || []) {
        const k = String(id);
        if (!found.has(k)) found.set(k, { project: p.project, consumer: p.consumers[0] || '', by: new Set() });
        found.get(k).by.add(by);
      }
    } catch (e) {
      errors.push(`${p.project} (${by}): ${e}`);
    }
  })));
  if (!ctx.alive()) return;
  const ids = [...found.keys()].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  const rows = ids.map((id) => {
    const f = found.get(id);
    const cmd = h('td', {});
    const created = h('td', { class: 'small' });
    const rid = h('td', { class: 'rid' });
    const tr = h('tr', { 'data-id': id },
      h('td', {}, link(['message', id], { project: f.project }, h('code', {}, id))),
      h('td', {}, f.project),
      h('td', { class: 'small' }, [...f.by].join(', ')),
      cmd, rid, created);
    return { id, f, tr, cmd, created, rid };
  });
  replace(results,
    errors.length ? h('div', {}, errors.map((e) => h('p', { class: 'error' }, e))) : null,
    ids.length === 0
      ? h('p', { class: 'muted' }, `No message with request_id or idempotency key “${q}” in ${only ? `project ${only}` : 'the projects this caller may manage'}.`)
      : h('div', {},
        h('p', { class: 'muted' }, `${ids.length} message${ids.length === 1 ? '' : 's'}, oldest first`),
        h('table', { class: 'grid' },
          h('thead', {}, h('tr', {}, ['Message', 'Project', 'Matched', 'Cmd', 'Request id', 'Created'].map((t) => h('th', {}, t)))),
          h('tbody', {}, rows.map((r) => r.tr)))));
  for (const r of rows.slice(0, SHOW_DETAILS)) {
    if (!r.f.consumer) continue;
    api.get('/api/message/detail', { msg_id: r.id, consumer: r.f.consumer }).then((d) => {
      r.cmd.appendChild(h('code', {}, d.cmd));
      r.rid.textContent = d.request_id || '';
      r.created.textContent = clock(d.create_time_ms ?? Number(d.create_time) * 1000);
    }, () => {
      r.created.textContent = 'expired?';
    });
  }
}
