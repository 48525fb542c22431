// state: what several pages need from GET /api/stats (which projects and consumers the
// caller may manage), fetched at most every few seconds.
import * as api from './api.js';

let last = null;
let lastAt = 0;

// stats returns GET /api/stats's data, fetched again when older than maxAgeMs.
export async function stats(maxAgeMs = 3000) {
  if (last && Date.now() - lastAt < maxAgeMs) return last;
  last = await api.get('/api/stats');
  lastAt = Date.now();
  return last;
}

// remember keeps a fresh answer fetched elsewhere (the overview's refresh).
export function remember(s) {
  last = s;
  lastAt = Date.now();
}

export function forget() {
  last = null;
}

// consumerRow returns the stats of consumer name, with its project, or null.
export async function consumerRow(name, maxAgeMs) {
  const s = await stats(maxAgeMs);
  for (const p of s.projects || [])
    for (const c of p.consumers || []) if (c.consumer === name) return { project: p.project, ...c };
  return null;
}

// projects returns [{project, consumers: [names]}] the caller may manage.
export async function projects() {
  const s = await stats(10000);
  return (s.projects || []).map((p) => ({
    project: p.project,
    consumers: (p.consumers || []).map((c) => c.consumer),
  }));
}
