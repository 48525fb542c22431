// overview: every project and consumer the caller may manage, from GET /api/stats,
// refreshed every 2 s.
import { h, replace, link, clock, span, num, rate, badge } from './dom.js';
import * as api from './api.js';
import * as state from './state.js';

const columns = [
  ['Consumer', 'the consumer (its page)'],
  ['Command', 'the command it receives'],
  ['Waiting', 'stored, not yet due'],
  ['Due', 'due now, not yet delivered'],
  ['In flight', 'being delivered'],
  ['Failed', 'failed for good (the failed list)'],
  ['State', 'paused or running'],
  ['Oldest due', 'how long the oldest due message has waited'],
  ['Deliveries/s', 'done per second, last 60 s'],
  ['Failures/s', 'failed attempts per second, last 60 s'],
  ['Lateness p50', 'delivery start after due time, median, last 60 s'],
  ['p99', 'delivery start after due time, 99th percentile, last 60 s'],
];

function consumerRow(c) {
  return h('tr', { 'data-consumer': c.consumer, class: c.paused ? 'paused' : '' },
    h('td', {}, link(['consumer', c.consumer], {}, c.consumer)),
    h('td', {}, h('code', {}, c.cmd ?? '')),
    h('td', { class: 'n' }, num(c.waiting)),
    h('td', { class: 'n' }, num(c.due)),
    h('td', { class: 'n' }, num(c.in_flight)),
    h('td', { class: 'n' },
      Number(c.failed) > 0 ? link(['consumer', c.consumer], { tab: 'failed' }, h('span', { class: 'bad' }, num(c.failed))) : num(c.failed)),
    h('td', {}, c.paused ? badge('paused') : badge('running')),
    h('td', { class: 'n' }, c.oldest_due_age_ms ? span(c.oldest_due_age_ms) : '—'),
    h('td', { class: 'n' }, rate(c.deliveries_per_s)),
    h('td', { class: 'n' }, Number(c.failures_per_s) > 0 ? h('span', { class: 'bad' }, rate(c.failures_per_s)) : rate(c.failures_per_s)),
    h('td', { class: 'n' }, c.lateness_p50_ms === null || c.lateness_p50_ms === undefined ? '—' : span(c.lateness_p50_ms)),
    h('td', { class: 'n' }, c.lateness_p99_ms === null || c.lateness_p99_ms === undefined ? '—' : span(c.lateness_p99_ms)));
}

function projectSection(p) {
  const consumers = p.consumers || [];
  const totals = consumers.reduce((t, c) => ({
    waiting: t.waiting + Number(c.waiting || 0),
    due: t.due + Number(c.due || 0),
    failed: t.failed + Number(c.failed || 0),
  }), { waiting: 0, due: 0, failed: 0 });
  return h('section', { class: 'project', 'data-project': p.project },
    h('h2', {}, p.project,
      h('span', { class: 'muted small' },
        ` · ${consumers.length} consumer${consumers.length === 1 ? '' : 's'} · ${num(totals.waiting)} waiting · ${num(totals.due)} due · ${num(totals.failed)} failed`)),
    consumers.length === 0
      ? h('p', { class: 'muted' }, 'No consumers configured.')
      : h('div', { class: 'scroll' },
        h('table', { class: 'grid' },
          h('thead', {}, h('tr', {}, columns.map(([t, title]) => h('th', { title }, t)))),
          h('tbody', {}, consumers.map(consumerRow)))));
}

export async function overviewPage(root, _parts, _query, ctx) {
  const info = h('p', { class: 'muted', id: 'overview-info' }, 'Loading…');
  const body = h('div', { id: 'overview' });
  replace(root, h('h1', {}, 'Overview'), info, body);
  ctx.every(2000, async () => {
    let s;
    try {
      s = await api.get('/api/stats');
    } catch (e) {
      if (ctx.alive()) replace(info, ctx.errorBox(e));
      return;
    }
    if (!ctx.alive()) return;
    state.remember(s);
    const n = Number(s.dispatchers || 0);
    replace(info,
      `Updated ${clock(s.at_ms)} · ${n} dispatcher${n === 1 ? '' : 's'} reporting · refreshes every 2 s`,
      n === 0 ? h('span', { class: 'bad' }, ' · no dispatcher is running: nothing is delivered') : null);
    const projects = s.projects || [];
    if (projects.length === 0) replace(body, h('p', { class: 'muted' }, 'This caller may manage no project.'));
    else replace(body, projects.map(projectSection));
  });
}
