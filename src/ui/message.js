// message: one message: its record (GET /api/message/detail), its status per consumer
// with the last attempt, and each consumer's attempt history (GET /api/message/attempts);
// retry, solve, cancel and reschedule. Refreshed every 2 s while a delivery is unsettled.
import { h, replace, link, when, clock, span, badge, pretty } from './dom.js';
import * as api from './api.js';
import * as state from './state.js';

const settled = (s) => s === 'done' || s === 'failure' || s === 'cancelled' || s === 'unknown';

// locate finds the message: detail needs a consumer (it names the project); without one,
// ask with one consumer of each project the caller may manage (or of the one given).
async function locate(id, consumer, project) {
  if (consumer) return { consumer, detail: await api.get('/api/message/detail', { msg_id: id, consumer }) };
  const projects = (await state.projects()).filter((p) => !project || p.project === project);
  let lastError = null;
  for (const p of projects) {
    if (!p.consumers.length) continue;
    try {
      return { consumer: p.consumers[0], detail: await api.get('/api/message/detail', { msg_id: id, consumer: p.consumers[0] }) };
    } catch (e) {
      if (e.code !== 114) lastError = e;
    }
  }
  if (lastError) throw lastError;
  throw new api.ApiError(114, `message ${id} not found (unknown or expired) in ${project ? `project ${project}` : 'the projects this caller may manage'}`, 200);
}

// consumersOf returns detail's per-consumer list; a dmq without it (older) has only the
// asked consumer's status.
async function consumersOf(id, asked, detail) {
  if (Array.isArray(detail.consumers)) return detail.consumers;
  const status = await api.get('/api/message/status', { msg_id: id, consumer: asked });
  return [{ consumer: asked, status, attempts: null, next_attempt_ms: null, last_attempt: null }];
}

// outcome shows what an attempt came to: "HTTP 500", "timeout", "refused", ...
export function outcomeText(a) {
  if (!a) return '—';
  const parts = [];
  if (Number(a.http_status) > 0) parts.push(`HTTP ${a.http_status}`);
  if (a.error && !(a.error === 'http' && Number(a.http_status) > 0)) parts.push(a.error);
  return parts.length ? parts.join(' · ') : a.outcome === 'done' ? 'ok' : '—';
}

function lastAttempt(a, c) {
  if (!a) return h('span', { class: 'muted' }, '—');
  // A retry starts a fresh count, and a first-try success keeps no entry: the latest entry
  // kept may be of the round before the retry.
  const earlier = Number(a.attempt) > Number(c.attempts) || (c.status === 'done' && a.outcome !== 'done');
  return h('div', { class: 'last-attempt' },
    earlier ? h('div', { class: 'small muted earlier' }, 'before the latest retry:') : null,
    h('div', {}, badge(a.outcome), ' ', h('strong', { class: 'last-error' }, outcomeText(a)),
      h('span', { class: 'small muted' }, ` · attempt ${a.attempt} · ${span(a.duration_ms)} · `), when(a.start_ms)),
    a.answer ? h('pre', { class: 'answer', title: 'the first bytes of the consumer’s answer' }, a.answer) : null);
}

function historyTable(d) {
  const rows = d.history || [];
  if (!rows.length)
    return h('p', { class: 'muted small' }, Number(d.attempts) === 1 && d.status === 'done'
      ? 'Delivered at the first attempt (a first-try success keeps no history).'
      : 'No attempt kept.');
  return h('table', { class: 'grid history' },
    h('thead', {}, h('tr', {}, ['#', 'Started', 'Took', 'Outcome', 'HTTP', 'Error', 'Answer', 'Dispatcher'].map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.map((a) => h('tr', {},
      h('td', { class: 'n' }, String(a.attempt)),
      h('td', { class: 'small' }, clock(a.start_ms)),
      h('td', { class: 'n' }, span(a.duration_ms)),
      h('td', {}, badge(a.outcome)),
      h('td', { class: 'n' }, Number(a.http_status) > 0 ? String(a.http_status) : '—'),
      h('td', {}, a.error || '—'),
      h('td', {}, a.answer ? h('pre', { class: 'answer' }, a.answer) : '—'),
      h('td', { class: 'small' }, a.dispatcher || '—')))));
}

export async function messagePage(root, parts, query, ctx) {
  const id = parts[0] || '';
  if (!/^[1-9][0-9]{0,19}$/.test(id)) throw new Error(`“${id}” is not a message id`);
  replace(root, h('h1', {}, 'Message ', h('code', {}, id)), h('p', { class: 'muted' }, 'Looking for it…'));
  const found = await locate(id, query.get('consumer') || '', query.get('project') || '');
  if (!ctx.alive()) return;
  const asked = found.consumer;
  let detail = found.detail;
  const project = detail.project;

  const record = h('dl', { class: 'record' });
  const consumersBody = h('tbody', { id: 'consumers-rows' });
  const histories = new Map(); // consumer -> the open history's row
  const refreshNote = h('span', { class: 'small muted' });

  const drawRecord = () => replace(record,
    h('dt', {}, 'Id'), h('dd', {}, h('code', { id: 'msg-id' }, String(detail.id ?? id))),
    h('dt', {}, 'Project'), h('dd', {}, detail.project),
    h('dt', {}, 'Command'), h('dd', {}, h('code', {}, detail.cmd)),
    h('dt', {}, 'Bucket'), h('dd', {}, detail.bucket ?? ''),
    h('dt', {}, 'Request id'), h('dd', { id: 'msg-request-id' }, detail.request_id || h('span', { class: 'muted' }, '—')),
    h('dt', {}, 'Created'), h('dd', {}, when(detail.create_time_ms ?? Number(detail.create_time) * 1000)),
    h('dt', {}, 'Due'), h('dd', {}, when(detail.due_ms ?? Number(detail.timestamp) * 1000)),
    h('dt', {}, 'Params'), h('dd', {}, h('pre', { class: 'params', id: 'msg-params' }, pretty(detail.params ?? ''))));

  async function showHistory(consumer, tr) {
    const open = histories.get(consumer);
    if (open) {
      open.remove();
      histories.delete(consumer);
      return;
    }
    const cell = h('td', { colspan: 6 }, h('p', { class: 'muted small' }, 'Loading…'));
    const hr = h('tr', { class: 'history-row', 'data-history': consumer }, cell);
    tr.after(hr);
    histories.set(consumer, hr);
    try {
      const d = await api.get('/api/message/attempts', { msg_id: id, consumer });
      replace(cell, h('div', { class: 'small muted' }, `History of ${consumer}: ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}, status ${d.status}`), historyTable(d));
    } catch (e) {
      replace(cell, ctx.errorBox(e));
    }
  }

  async function idAction(path, verb, consumer) {
    try {
      const r = await api.post(path, { consumer, msg_ids: [id] });
      if (r && r[id]) ctx.flash(`${verb} message ${id} for ${consumer}`);
      else ctx.flash(`${verb}: message ${id} had not failed for ${consumer} (or expired)`, 'error');
    } catch (e) {
      ctx.flash(`${verb} ${id} for ${consumer}: ${e}`, 'error');
    }
    await refresh();
  }

  const consumerRow = (c) => {
    const tr = h('tr', { 'data-consumer': c.consumer },
      h('td', {}, link(['consumer', c.consumer], {}, c.consumer)),
      h('td', { class: 'status' }, badge(c.status)),
      h('td', { class: 'n' }, c.attempts === null || c.attempts === undefined ? '—' : String(c.attempts)),
      h('td', {}, c.next_attempt_ms ? when(c.next_attempt_ms) : h('span', { class: 'muted' }, '—')),
      h('td', {}, lastAttempt(c.last_attempt, c)),
      h('td', { class: 'actions' },
        c.status === 'failure' ? h('button', { type: 'button', class: 'primary retry', onclick: () => idAction('/api/message/retry', 'Retried', c.consumer) }, 'Retry') : null,
        c.status === 'failure' ? h('button', { type: 'button', class: 'solve', onclick: () => idAction('/api/message/solved', 'Solved', c.consumer) }, 'Solve') : null,
        h('button', { type: 'button', class: 'history', onclick: () => showHistory(c.consumer, tr) }, 'History')));
    return tr;
  };

  let consumers = [];
  const drawConsumers = () => {
    const open = [...histories.keys()];
    histories.clear();
    replace(consumersBody, consumers.map(consumerRow));
    for (const c of open) {
      const tr = consumersBody.querySelector(`tr[data-consumer="${CSS.escape(c)}"]`);
      if (tr) showHistory(c, tr);
    }
    // Cancel and reschedule apply while no delivery has started.
    actionsBar.hidden = !consumers.some((c) => c.status === 'waiting');
  };

  async function refresh() {
    try {
      detail = await api.get('/api/message/detail', { msg_id: id, consumer: asked });
      consumers = await consumersOf(id, asked, detail);
    } catch (e) {
      ctx.flash(`Refresh: ${e}`, 'error');
      return;
    }
    if (!ctx.alive()) return;
    drawRecord();
    drawConsumers();
    replace(refreshNote, consumers.every((c) => settled(c.status))
      ? `Every delivery is settled · ${clock(Date.now())}`
      : `Deliveries under way: refreshes every 2 s · ${clock(Date.now())}`);
  }

  const cancelButton = h('button', { type: 'button', class: 'danger', id: 'cancel-message', onclick: async () => {
    if (!window.confirm(`Cancel message ${id}? No consumer will receive it.`)) return;
    try {
      await api.post('/api/message/cancel', { msg_id: id, project });
      ctx.flash(`Cancelled message ${id}`);
    } catch (e) {
      ctx.flash(`Cancel ${id}: ${e}`, 'error');
    }
    await refresh();
  } }, 'Cancel message');
  const at = h('input', { type: 'datetime-local', 'aria-label': 'deliver at' });
  const reschedule = h('form', { class: 'inline', onsubmit: async (ev) => {
    ev.preventDefault();
    const due = at.value ? new Date(at.value).getTime() : Date.now();
    try {
      const r = await api.post('/api/message/reschedule', { msg_id: id, project, due_ms: due });
      ctx.flash(`Message ${id} is now due ${clock(r.due_ms)}`);
    } catch (e) {
      ctx.flash(`Reschedule ${id}: ${e}`, 'error');
    }
    await refresh();
  } }, h('label', {}, 'Deliver at ', at), h('button', { type: 'submit' }, 'Reschedule'), h('span', { class: 'small muted' }, ' (empty: now)'));

  const actionsBar = h('div', { class: 'actions-bar' }, cancelButton, reschedule);
  consumers = await consumersOf(id, asked, detail);
  if (!ctx.alive()) return;
  replace(root,
    h('p', { class: 'crumbs' }, link([], {}, 'Overview'), ' / ', project, ' / message'),
    h('h1', {}, 'Message ', h('code', {}, id)),
    actionsBar,
    record,
    h('h2', {}, 'Deliveries ', refreshNote),
    h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'consumers-table' },
      h('thead', {}, h('tr', {}, ['Consumer', 'Status', 'Attempts', 'Next attempt', 'Last attempt', ''].map((t) => h('th', {}, t)))),
      consumersBody)));
  drawRecord();
  drawConsumers();
  // Refresh while a delivery is unsettled (waiting, doing), and once more after a click.
  ctx.every(2000, async () => {
    if (consumers.every((c) => settled(c.status))) return;
    await refresh();
  });
}
