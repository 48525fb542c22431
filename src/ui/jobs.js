// jobs: bulk replay and solve jobs (POST /api/jobs runs one inside dmq; GET /api/jobs
// shows their progress; POST /api/jobs/cancel stops one). The consumer page shows its
// consumer's; #/jobs shows every job.
import { h, replace, link, clock, num, badge } from './dom.js';
import * as api from './api.js';

function progress(j) {
  const total = Number(j.total || 0);
  const done = Number(j.processed || 0);
  const pct = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : j.state === 'done' ? 100 : 0;
  return h('div', { class: 'progress' },
    h('progress', { max: 100, value: pct, 'aria-label': `job ${j.job_id} progress` }),
    h('span', { class: 'small' }, ` ${num(done)} / ${num(total)} · ${num(j.succeeded)} ok · ${pct}%`));
}

// range shows a job's time range (unix s); 0 or a far bound (no year 10000) is open.
function range(j) {
  const bound = (v) => Number.isFinite(Number(v)) && Number(v) > 0 && Number(v) < 253402300800;
  const s = bound(j.start) ? clock(Number(j.start) * 1000) : '';
  const e = bound(j.end) ? clock(Number(j.end) * 1000) : '';
  if (!s && !e) return 'all';
  return `${s || '…'} – ${e || '…'}`;
}

// jobsTable draws jobs; onChange is called after one was cancelled.
export function jobsTable(jobs, { withConsumer = false, flash, onChange } = {}) {
  if (!jobs.length) return h('p', { class: 'muted' }, 'No jobs.');
  return h('div', { class: 'scroll' }, h('table', { class: 'grid jobs' },
    h('thead', {}, h('tr', {},
      h('th', {}, 'Job'), h('th', {}, 'Kind'), withConsumer ? h('th', {}, 'Consumer') : null,
      h('th', {}, 'State'), h('th', {}, 'Progress'), h('th', {}, 'Rate/s'), h('th', {}, 'Time range'),
      h('th', {}, 'Started'), h('th', {}, 'Updated'), h('th', {}, ''))),
    h('tbody', {}, jobs.map((j) => h('tr', { 'data-job': j.job_id },
      h('td', {}, h('code', {}, j.job_id)),
      h('td', {}, j.kind, j.cmd ? h('div', { class: 'small muted' }, j.cmd) : null),
      withConsumer ? h('td', {}, link(['consumer', j.consumer], { tab: 'jobs' }, j.consumer)) : null,
      h('td', {}, badge(j.state), j.error ? h('div', { class: 'error small' }, j.error) : null),
      h('td', {}, progress(j)),
      h('td', { class: 'n' }, num(j.rate)),
      h('td', { class: 'small' }, range(j)),
      h('td', { class: 'small' }, clock(j.created_ms)),
      h('td', { class: 'small' }, clock(j.updated_ms)),
      h('td', {}, j.state === 'running'
        ? h('button', { type: 'button', class: 'danger', onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            const r = await api.post('/api/jobs/cancel', { job_id: j.job_id });
            flash?.(`Job ${j.job_id}: ${r.state}`);
          } catch (e) {
            flash?.(`Cancel job ${j.job_id}: ${e}`, 'error');
          }
          onChange?.();
        } }, 'Cancel')
        : null))))));
}

// jobsPanel shows the jobs of consumer (all when empty) in box, refreshed every 1.5 s.
export function jobsPanel(box, consumer, ctx) {
  const inner = h('div', { class: 'jobs-list' }, h('p', { class: 'muted' }, 'Loading jobs…'));
  replace(box, inner);
  const load = async () => {
    let d;
    try {
      d = await api.get('/api/jobs');
    } catch (e) {
      if (ctx.alive()) replace(inner, ctx.errorBox(e));
      return;
    }
    if (!ctx.alive()) return;
    const jobs = (d.jobs || []).filter((j) => !consumer || j.consumer === consumer);
    replace(inner, jobsTable(jobs, { withConsumer: !consumer, flash: ctx.flash, onChange: load }));
  };
  ctx.every(1500, load);
  return load;
}

export async function jobsPage(root, _parts, _query, ctx) {
  const box = h('div');
  replace(root, h('h1', {}, 'Jobs'),
    h('p', { class: 'muted' }, 'Bulk replays and solves, newest first. Start one from a consumer’s failed list.'),
    box);
  jobsPanel(box, '', ctx);
}
