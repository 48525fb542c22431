// dom: building the page from data safely. Every piece of data becomes a text node or an
// attribute value set through the DOM, never markup: nothing here parses HTML.

// h makes an element: h('a', {href: '#/x', class: 'c', onclick: fn}, 'text', child, [more]).
// Attributes named on* are event listeners; false, null and undefined attributes are left
// out; children that are strings or numbers become text nodes, null and false are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  if (value !== undefined) el.value = value; // after a <select>'s options exist
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// replace empties el and puts children in it.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// link makes an in-page link to a route: link(['message', id], {consumer: c}, 'text').
export function link(parts, query, ...children) {
  return h('a', { href: route(parts, query) }, ...children);
}

// route returns the hash of a route: #/message/123?consumer=dgfa.
export function route(parts, query) {
  let s = '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {}))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return qs ? s + '?' + qs : s;
}

// Times. dmq speaks unix milliseconds (and seconds in the seed's fields); the page shows
// local time, with UTC in the tooltip.
const pad = (n, w = 2) => String(n).padStart(w, '0');

export function clock(ms) {
  if (ms === null || ms === undefined || ms === '' || !Number.isFinite(Number(ms))) return '—';
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return '—'; // past year 275760: "no bound"
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

// when shows a time and how far it is from now: "2026-12-05 01:02:03.456 (in 3 s)".
export function when(ms, now = Date.now()) {
  if (ms === null || ms === undefined || ms === '' || !Number.isFinite(Number(ms))) return h('span', {}, '—');
  const d = Number(ms) - now;
  const rel = d >= 0 ? `in ${span(d)}` : `${span(-d)} ago`;
  return h('time', { datetime: new Date(Number(ms)).toISOString(), title: new Date(Number(ms)).toISOString() },
    clock(ms), h('span', { class: 'rel' }, ` (${rel})`));
}

// span shows a duration in ms: "850 ms", "3.2 s", "5 min", "2.5 h", "3 d".
export function span(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(Number(ms))) return '—';
  ms = Number(ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60e3) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3600e3) return `${Math.round(ms / 60e3)} min`;
  if (ms < 86400e3) return `${(ms / 3600e3).toFixed(1)} h`;
  return `${(ms / 86400e3).toFixed(1)} d`;
}

// num shows a count or rate: integers as they are, rates with one decimal.
export function num(v, digits = 0) {
  if (v === null || v === undefined || v === '' || !Number.isFinite(Number(v))) return '—';
  return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

// rate shows a per-second rate: 2 decimals under 1/s (one delivery a minute is 0.02/s).
export function rate(v) {
  if (v === null || v === undefined || v === '' || !Number.isFinite(Number(v))) return '—';
  return num(v, Number(v) > 0 && Number(v) < 1 ? 2 : 1);
}

// status badge: waiting, doing, done, failure, cancelled, unknown, running, ...
export function badge(text, extra = '') {
  const t = String(text ?? '—');
  return h('span', { class: `badge s-${t.replace(/[^a-z_-]/gi, '')} ${extra}`.trim() }, t);
}

// toLocalInput / fromLocalInput convert unix seconds to and from <input type=datetime-local>.
export function fromLocalInput(value) {
  if (!value) return '';
  const t = new Date(value).getTime();
  return Number.isFinite(t) ? Math.floor(t / 1000) : '';
}
export function toLocalInput(s) {
  if (s === '' || s === undefined || s === null) return '';
  const d = new Date(Number(s) * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// pretty shows params: indented when they are JSON, as they are otherwise.
export function pretty(text) {
  if (typeof text !== 'string') return JSON.stringify(text, null, 2);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
