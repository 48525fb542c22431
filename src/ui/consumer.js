// consumer: one consumer's page: its figures (refreshed every 2 s) and pause/resume; tabs
// for its scheduled queue (by due time), its failed list (filters, search, retry, solve,
// bulk replay or solve as a job) and its jobs.
import { h, replace, link, route, when, clock, span, num, rate, badge, fromLocalInput, toLocalInput } from './dom.js';
import * as api from './api.js';
import * as state from './state.js';
import { jobsPanel } from './jobs.js';

const PAGE = 100; // rows per request
const MAX_IDS = 150; // /retry and /solved take at most limits.max_solved_ids ids (default 150)

function card(label, value, cls = '') {
  return h('div', { class: `card ${cls}`.trim() }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
}

function head(box, name, ctx) {
  const figures = h('div', { class: 'cards' });
  const toggle = h('button', { type: 'button', id: 'pause-toggle', disabled: true }, 'Pause');
  let paused = null;
  toggle.addEventListener('click', async () => {
    const wasPaused = paused;
    toggle.disabled = true;
    try {
      if (wasPaused) {
        await api.post('/api/consumer/resume', { consumer: name });
        ctx.flash(`Resumed ${name}: deliveries go on where they stopped`);
      } else {
        const r = await api.post('/api/consumer/pause', { consumer: name });
        ctx.flash(`Paused ${name} (since ${clock(r.since_ms)}): deliveries stop after those in flight`);
      }
    } catch (e) {
      ctx.flash(`${wasPaused ? 'Resume' : 'Pause'} ${name}: ${e}`, 'error');
    }
    state.forget();
    await refresh();
  });
  const note = h('div');
  replace(box, h('div', { class: 'head-row' }, figures, h('div', { class: 'head-actions' }, toggle)), note);

  async function refresh() {
    let c;
    try {
      c = await state.consumerRow(name, 1500);
    } catch (e) {
      if (ctx.alive()) replace(note, ctx.errorBox(e));
      return;
    }
    if (!ctx.alive()) return;
    if (!c) {
      replace(note, h('p', { class: 'error' }, `No consumer “${name}” among the projects this caller may manage.`));
      return;
    }
    replace(note);
    paused = !!c.paused;
    toggle.disabled = false;
    toggle.textContent = paused ? 'Resume' : 'Pause';
    toggle.className = paused ? 'primary' : '';
    replace(figures,
      card('Project', c.project),
      card('Command', h('code', {}, c.cmd ?? '')),
      card('State', paused ? h('span', {}, badge('paused'), h('span', { class: 'small muted' }, ` since ${clock(c.paused_since_ms)}`)) : badge('running')),
      card('Waiting', num(c.waiting)),
      card('Due', num(c.due)),
      card('In flight', num(c.in_flight)),
      card('Failed', num(c.failed), Number(c.failed) > 0 ? 'bad' : ''),
      card('Oldest due', c.oldest_due_age_ms ? span(c.oldest_due_age_ms) : '—'),
      card('Deliveries/s', rate(c.deliveries_per_s)),
      card('Failures/s', rate(c.failures_per_s), Number(c.failures_per_s) > 0 ? 'bad' : ''),
      card('Lateness p50 / p99', `${c.lateness_p50_ms == null ? '—' : span(c.lateness_p50_ms)} / ${c.lateness_p99_ms == null ? '—' : span(c.lateness_p99_ms)}`));
  }
  ctx.every(2000, refresh);
}

// rowAction runs an action on some ids and reports; done(ids that it applied to).
async function idAction(path, name, ids, verb, ctx) {
  const applied = [];
  for (let i = 0; i < ids.length; i += MAX_IDS) {
    const chunk = ids.slice(i, i + MAX_IDS);
    const r = await api.post(path, { consumer: name, msg_ids: chunk });
    for (const id of chunk) if (r && r[id]) applied.push(id);
  }
  ctx.flash(`${verb} ${applied.length} of ${ids.length} message${ids.length === 1 ? '' : 's'}` +
    (applied.length < ids.length ? ' (the others were no longer failed, or expired)' : ''),
    applied.length ? 'ok' : 'error');
  return applied;
}

function failedTab(box, name, query, ctx) {
  const f = { start: query.get('start') || '', end: query.get('end') || '', cmd: query.get('cmd') || '', q: query.get('q') || '' };
  const from = h('input', { type: 'datetime-local', name: 'start', value: toLocalInput(f.start) });
  const to = h('input', { type: 'datetime-local', name: 'end', value: toLocalInput(f.end) });
  const cmd = h('input', { type: 'text', name: 'cmd', value: f.cmd, placeholder: 'any', size: 16 });
  const q = h('input', { type: 'search', name: 'q', id: 'failed-q', value: f.q, placeholder: 'request_id or params contain…', size: 28 });
  const filters = h('form', { class: 'filters', id: 'failed-filters', onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = route(['consumer', name], { tab: 'failed', start: fromLocalInput(from.value), end: fromLocalInput(to.value), cmd: cmd.value.trim(), q: q.value.trim() });
  } },
  h('label', {}, 'From ', from), h('label', {}, 'To ', to), h('label', {}, 'Cmd ', cmd), h('label', {}, 'Search ', q),
  h('button', { type: 'submit' }, 'Apply'),
  h('a', { href: route(['consumer', name], { tab: 'failed' }), class: 'button' }, 'Clear'));

  const summary = h('p', { class: 'muted', id: 'failed-summary' }, 'Loading…');
  const all = h('input', { type: 'checkbox', 'aria-label': 'select all' });
  const tbody = h('tbody', { id: 'failed-rows' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  let cursor = '';
  let shown = 0;

  const selected = () => [...tbody.querySelectorAll('input[type=checkbox]:checked:not(:disabled)')].map((c) => c.value);
  const settle = (ids, text) => {
    for (const id of ids) {
      const tr = tbody.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
      if (!tr) continue;
      tr.classList.add('settled');
      for (const b of tr.querySelectorAll('button, input')) b.disabled = true;
      tr.querySelector('.row-state').textContent = text;
    }
  };
  const act = async (kind, ids) => {
    if (!ids.length) return ctx.flash('Select messages first', 'error');
    try {
      if (kind === 'retry') settle(await idAction('/api/message/retry', name, ids, 'Retried', ctx), 'retried');
      else settle(await idAction('/api/message/solved', name, ids, 'Solved', ctx), 'solved');
    } catch (e) {
      ctx.flash(`${kind}: ${e}`, 'error');
    }
  };
  all.addEventListener('change', () => {
    for (const c of tbody.querySelectorAll('input[type=checkbox]:not(:disabled)')) c.checked = all.checked;
  });

  const row = (m) => h('tr', { 'data-id': m.msg_id },
    h('td', {}, h('input', { type: 'checkbox', value: m.msg_id, 'aria-label': `select ${m.msg_id}` })),
    h('td', {}, link(['message', m.msg_id], { consumer: name }, h('code', {}, m.msg_id))),
    h('td', { class: 'small' }, clock(Number(m.timestamp) * 1000)),
    h('td', {}, h('code', {}, m.cmd ?? '')),
    h('td', { class: 'rid' }, m.request_id ?? ''),
    h('td', { class: 'actions' },
      h('span', { class: 'row-state muted small' }),
      h('button', { type: 'button', onclick: () => act('retry', [m.msg_id]) }, 'Retry'),
      h('button', { type: 'button', onclick: () => act('solve', [m.msg_id]) }, 'Solve')));

  async function load() {
    more.disabled = true;
    let d;
    try {
      d = await api.get('/api/message/failed', { consumer: name, start: f.start, end: f.end, cmd: f.cmd, q: f.q, limit: PAGE, cursor });
    } catch (e) {
      if (ctx.alive()) replace(summary, ctx.errorBox(e));
      return;
    }
    if (!ctx.alive()) return;
    for (const m of d.list || []) tbody.appendChild(row(m));
    shown += (d.list || []).length;
    cursor = d.next_cursor || '';
    more.hidden = !cursor;
    more.disabled = false;
    const filtered = f.start || f.end || f.cmd || f.q;
    replace(summary, `${num(d.count)} failed in all · ${num(shown)} shown${filtered ? ' (filtered)' : ''}${cursor ? ' · more below' : ''}`);
  }
  more.addEventListener('click', load);

  // Bulk jobs: every failed message in the time range, at a rate, inside dmq.
  const rateInput = h('input', { type: 'number', min: 1, max: 10000, value: 200, size: 6, 'aria-label': 'rate per second' });
  const jobsBox = h('div');
  let reloadJobs = () => {};
  const startJob = async (kind) => {
    const what = `${kind} every failed message of ${name}${f.cmd ? ` of cmd ${f.cmd}` : ''}${f.start || f.end ? ' in the time range' : ''}`;
    if (!window.confirm(`Start a job to ${what} at ${rateInput.value}/s?`)) return;
    try {
      const body = { kind, consumer: name, rate: Number(rateInput.value) };
      if (f.start) body.start = Number(f.start);
      if (f.end) body.end = Number(f.end);
      if (f.cmd) body.cmd = f.cmd;
      const r = await api.post('/api/jobs', body);
      ctx.flash(`Started job ${r.job_id}: ${what}`);
    } catch (e) {
      ctx.flash(`Start ${kind} job: ${e}`, 'error');
    }
    reloadJobs();
  };

  replace(box,
    filters,
    summary,
    h('div', { class: 'bulk' },
      h('button', { type: 'button', id: 'retry-selected', onclick: () => act('retry', selected()) }, 'Retry selected'),
      h('button', { type: 'button', onclick: () => act('solve', selected()) }, 'Solve selected'),
      h('span', { class: 'sep' }),
      h('span', { class: 'small muted' }, 'All failed', f.cmd ? ' of this cmd' : '', f.start || f.end ? ' in the time range' : '', ' as a job at '), rateInput, h('span', { class: 'small muted' }, '/s: '),
      h('button', { type: 'button', id: 'replay-job', onclick: () => startJob('replay') }, 'Replay all'),
      h('button', { type: 'button', onclick: () => startJob('solve') }, 'Solve all'),
      f.q ? h('span', { class: 'small muted' }, ' (jobs take the time range and cmd, not the search)') : null),
    h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'failed-table' },
      h('thead', {}, h('tr', {}, h('th', {}, all), h('th', {}, 'Message'), h('th', {}, 'Time'), h('th', {}, 'Cmd'), h('th', {}, 'Request id'), h('th', {}, ''))),
      tbody)),
    more,
    h('h2', {}, 'Jobs'),
    jobsBox);
  reloadJobs = jobsPanel(jobsBox, name, ctx);
  load();
}

function scheduledTab(box, name, query, ctx) {
  const f = { start_ms: query.get('start_ms') || '', end_ms: query.get('end_ms') || '' };
  const from = h('input', { type: 'datetime-local', value: f.start_ms ? toLocalInput(Math.floor(f.start_ms / 1000)) : '' });
  const to = h('input', { type: 'datetime-local', value: f.end_ms ? toLocalInput(Math.floor(f.end_ms / 1000)) : '' });
  const ms = (input) => (input.value ? new Date(input.value).getTime() : '');
  const filters = h('form', { class: 'filters', onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = route(['consumer', name], { tab: 'scheduled', start_ms: ms(from), end_ms: ms(to) });
  } },
  h('label', {}, 'Due from ', from), h('label', {}, 'to ', to),
  h('button', { type: 'submit' }, 'Apply'),
  h('a', { href: route(['consumer', name], { tab: 'scheduled' }), class: 'button' }, 'Clear'));
  const summary = h('p', { class: 'muted', id: 'scheduled-summary' }, 'Loading…');
  const tbody = h('tbody', { id: 'scheduled-rows' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  let cursor = '';
  let shown = 0;
  let project = '';

  const mark = (tr, text) => {
    tr.classList.add('settled');
    for (const b of tr.querySelectorAll('button')) b.disabled = true;
    tr.querySelector('.row-state').textContent = text;
  };
  const row = (m) => {
    const tr = h('tr', { 'data-id': m.msg_id },
      h('td', {}, link(['message', m.msg_id], { consumer: name }, h('code', {}, m.msg_id))),
      h('td', {}, when(m.due_ms)),
      h('td', { class: 'actions' },
        h('span', { class: 'row-state muted small' }),
        h('button', { type: 'button', title: 'deliver now (reschedule to now)', onclick: async () => {
          try {
            const r = await api.post('/api/message/reschedule', { msg_id: m.msg_id, project: project || undefined, delay_ms: 0 });
            ctx.flash(`Message ${m.msg_id} is due now (${clock(r.due_ms)})`);
            mark(tr, 'due now');
          } catch (e) {
            ctx.flash(`Reschedule ${m.msg_id}: ${e}`, 'error');
          }
        } }, 'Deliver now'),
        h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!window.confirm(`Cancel message ${m.msg_id}? No consumer will receive it.`)) return;
          try {
            await api.post('/api/message/cancel', { msg_id: m.msg_id, project: project || undefined });
            ctx.flash(`Cancelled message ${m.msg_id}`);
            mark(tr, 'cancelled');
          } catch (e) {
            ctx.flash(`Cancel ${m.msg_id}: ${e}`, 'error');
          }
        } }, 'Cancel')));
    return tr;
  };
  async function load() {
    more.disabled = true;
    let d;
    try {
      if (!project) project = (await state.consumerRow(name, 10000))?.project || '';
      d = await api.get('/api/message/scheduled', { consumer: name, start_ms: f.start_ms, end_ms: f.end_ms, limit: PAGE, cursor });
    } catch (e) {
      if (ctx.alive()) replace(summary, ctx.errorBox(e));
      return;
    }
    if (!ctx.alive()) return;
    for (const m of d.list || []) tbody.appendChild(row(m));
    shown += (d.list || []).length;
    cursor = d.next_cursor || '';
    more.hidden = !cursor;
    more.disabled = false;
    replace(summary, `${num(d.count)} scheduled${f.start_ms || f.end_ms ? ' in the range' : ''} · ${num(shown)} shown, soonest first`);
  }
  more.addEventListener('click', load);
  replace(box, filters, summary,
    h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'scheduled-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Message'), h('th', {}, 'Due'), h('th', {}, ''))), tbody)),
    more);
  load();
}

const tabs = [
  ['failed', 'Failed'],
  ['scheduled', 'Scheduled'],
  ['jobs', 'Jobs'],
];

export async function consumerPage(root, parts, query, ctx) {
  const name = parts[0];
  if (!name) throw new Error('no consumer in the address');
  const tab = tabs.some(([t]) => t === query.get('tab')) ? query.get('tab') : 'failed';
  const headBox = h('div', { class: 'consumer-head' });
  const content = h('div', { class: 'tab-content' });
  replace(root,
    h('p', { class: 'crumbs' }, link([], {}, 'Overview'), ' / consumer'),
    h('h1', {}, 'Consumer ', h('code', {}, name)),
    headBox,
    h('nav', { class: 'tabs' }, tabs.map(([t, label]) =>
      h('a', { href: route(['consumer', name], { tab: t }), class: t === tab ? 'active' : '', 'data-tab': t }, label))),
    content);
  head(headBox, name, ctx);
  if (tab === 'failed') failedTab(content, name, query, ctx);
  else if (tab === 'scheduled') scheduledTab(content, name, query, ctx);
  else jobsPanel(content, name, ctx);
}
