// api: dmq's HTTP API as the page calls it: the seed's envelope {code, message, data}
// unwrapped, errors thrown as ApiError, the token (if any) sent as Authorization: Bearer.
// The token stays in sessionStorage: gone when the tab closes, never in a cookie (so no
// other site can make the browser use it) and never in the URL.

const KEY = 'dmq.token';

export function token() {
  return sessionStorage.getItem(KEY) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
  for (const f of listeners) f();
}

const listeners = [];
// onTokenChange calls f whenever the token is set or forgotten.
export function onTokenChange(f) {
  listeners.push(f);
}

export class ApiError extends Error {
  constructor(code, message, status, data) {
    super(message);
    this.code = code;
    this.status = status;
    this.data = data;
  }
  // auth: the caller may not do this (code 103 / HTTP 403): a token is missing or wrong.
  get auth() {
    return this.code === 103 || this.status === 401 || this.status === 403;
  }
  toString() {
    return this.code > 0 ? `error ${this.code}: ${this.message}` : this.message;
  }
}

let authNeeded = () => {};
// onAuthNeeded sets what to do when an answer says the caller is not allowed.
export function onAuthNeeded(f) {
  authNeeded = f;
}

async function call(method, path, params, body) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(-1, `cannot reach dmq: ${e.message}`, 0);
  }
  let env;
  try {
    env = await r.json();
  } catch {
    throw new ApiError(-1, `${method} ${path}: HTTP ${r.status}, not a JSON answer`, r.status);
  }
  if (!env || typeof env.code !== 'number')
    throw new ApiError(-1, `${method} ${path}: HTTP ${r.status}, not an envelope`, r.status);
  if (env.code !== 0) {
    const err = new ApiError(env.code, env.message || `HTTP ${r.status}`, r.status, env.data);
    if (err.auth) authNeeded(err);
    throw err;
  }
  return env.data;
}

export const get = (path, params) => call('GET', path, params);
export const post = (path, body) => call('POST', path, undefined, body ?? {});
