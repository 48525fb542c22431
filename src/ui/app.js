// app: the dashboard's shell: the header (search, token), the flash messages and the
// hash router that draws one page at a time into <main>. Pages: docs/dashboard.md.
import { h, replace, route } from './dom.js';
import * as api from './api.js';
import * as state from './state.js';
import { overviewPage } from './overview.js';
import { consumerPage } from './consumer.js';
import { messagePage } from './message.js';
import { searchPage } from './search.js';
import { jobsPage } from './jobs.js';

const main = document.getElementById('main');
const flashBox = document.getElementById('flash');

// flash shows a line above the page: kind 'ok' fades after a while, 'error' stays until
// closed (or the next page).
export function flash(text, kind = 'ok') {
  const line = h('div', { class: `flash ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', {}, text),
    h('button', { type: 'button', class: 'close', 'aria-label': 'close', onclick: () => line.remove() }, '×'));
  flashBox.appendChild(line);
  if (kind !== 'error') setTimeout(() => line.remove(), 8000);
  while (flashBox.children.length > 5) flashBox.firstChild.remove();
}

// errorBox shows an error where a page's content would be.
export function errorBox(e) {
  const text = e instanceof api.ApiError ? e.toString() : String(e && e.message ? e.message : e);
  return h('p', { class: 'error', role: 'alert' }, text,
    e && e.auth ? h('span', {}, ' — ', h('button', { type: 'button', onclick: openToken }, 'Enter a token')) : null);
}

// ---------------------------------------------------------------- token
const tokenButton = document.getElementById('token-button');
let dialog = null;

function showTokenState() {
  tokenButton.textContent = api.token() ? 'Token: set' : 'Token: none';
  tokenButton.title = api.token()
    ? 'A bearer token is sent with every API call (kept in this tab only)'
    : 'No token: dmq allows this page by its address, or asks for one';
}

function openToken(reason) {
  if (!dialog) {
    const input = h('input', { id: 'token-input', type: 'password', autocomplete: 'off', size: 40, 'aria-label': 'token' });
    const why = h('p', { class: 'muted', id: 'token-why' });
    const form = h('form', { method: 'dialog',
      onsubmit: (ev) => {
        ev.preventDefault();
        api.setToken(input.value.trim());
        dialog.close();
        rerender();
      } },
      h('h2', {}, 'API token'),
      why,
      h('p', {}, 'The page calls dmq’s API with ', h('code', {}, 'Authorization: Bearer <token>'),
        '. It is kept in this tab (sessionStorage) until the tab closes.'),
      h('label', {}, 'Token ', input),
      h('div', { class: 'buttons' },
        h('button', { type: 'submit', id: 'token-save' }, 'Save'),
        h('button', { type: 'button', onclick: () => { api.setToken(''); input.value = ''; dialog.close(); rerender(); } }, 'Forget'),
        h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel')));
    dialog = h('dialog', { id: 'token-dialog' }, form);
    document.body.appendChild(dialog);
  }
  const why = dialog.querySelector('#token-why');
  why.textContent = reason && reason.message ? `dmq answered: ${reason.message}` : '';
  if (!dialog.open) dialog.showModal();
  dialog.querySelector('#token-input').focus();
}

tokenButton.addEventListener('click', () => openToken());
api.onTokenChange(() => {
  state.forget();
  showTokenState();
});
api.onAuthNeeded((e) => {
  // Asked once per page drawn: a refresh loop must not reopen a dialog the user closed.
  if (!current.asked) {
    current.asked = true;
    openToken(e);
  }
});
showTokenState();

// ---------------------------------------------------------------- search box
document.getElementById('search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = document.getElementById('search-q').value.trim();
  if (q) location.hash = route(['search'], { q });
});

// ---------------------------------------------------------------- router
const pages = {
  '': overviewPage,
  consumer: consumerPage,
  message: messagePage,
  search: searchPage,
  jobs: jobsPage,
};

let current = { gen: 0, timers: new Set(), asked: false };

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const at = raw.indexOf('?');
  const path = at < 0 ? raw : raw.slice(0, at);
  const query = new URLSearchParams(at < 0 ? '' : raw.slice(at + 1));
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, query };
}

// context: what a page gets to know whether it is still shown, and to refresh itself.
function context(gen) {
  const me = current;
  return {
    alive: () => current.gen === gen,
    // every runs f now and then every ms after each run ends, while the page is shown.
    every(ms, f) {
      const tick = async () => {
        if (current.gen !== gen) return;
        try {
          await f();
        } catch (e) {
          console.error(e);
        }
        if (current.gen !== gen) return;
        const t = setTimeout(() => {
          me.timers.delete(t);
          tick();
        }, ms);
        me.timers.add(t);
      };
      tick();
    },
    flash,
    errorBox,
    rerender,
  };
}

async function rerender() {
  for (const t of current.timers) clearTimeout(t);
  const gen = current.gen + 1;
  current = { gen, timers: new Set(), asked: false };
  const { parts, query } = parseHash();
  const page = pages[parts[0] || ''];
  for (const a of document.querySelectorAll('header nav a'))
    a.classList.toggle('active', a.getAttribute('href') === `#/${parts[0] || ''}`);
  if (parts[0] === 'search') document.getElementById('search-q').value = query.get('q') || '';
  if (!page) {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Overview')));
    return;
  }
  replace(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await page(main, parts.slice(1), query, context(gen));
  } catch (e) {
    if (current.gen === gen) replace(main, errorBox(e));
  }
}

window.addEventListener('hashchange', () => {
  flashBox.replaceChildren();
  rerender();
});
rerender();
