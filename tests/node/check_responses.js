#!/usr/bin/env node
// check_responses: validates the answers the e2e tests recorded (tests/support/http_client,
// DMQ_RESPONSE_LOG: one JSON line per answer: method, target, status, content_type, body)
// against docs/openapi.json, with Ajv (JSON Schema draft 2020-12, OpenAPI 3.1's dialect).
//
//   node check_responses.js OPENAPI_JSON RESPONSE_LOG
//
// Fails (exit 1) when an answer does not match its schema, its status or media type is not
// documented, an unknown path is not answered 404/120 or an undocumented method 405/121,
// or when an operation of the document has no recorded successful (2xx or 3xx) answer,
// whose schema is the one worth checking (save those in ALLOWED_MISSING, which must name
// only operations with none, so that it shrinks as they come). Ajv is used with strict off: OpenAPI keywords (summary, tags, ...) sit around the
// schemas, and annotations inside them are not validation keywords.
'use strict';

const fs = require('fs');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

// Operations allowed no recorded successful answer: one whose endpoint is not on main yet,
// or that no recorded suite calls through tests/support/http_client. Empty now that every
// endpoint of issue 14 has landed; an entry fails the check once the operation is answered.
const ALLOWED_MISSING = new Set([]);

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const MAX_REPORTED = 25;

function main(argv) {
  if (argv.length !== 2) {
    console.error('usage: check_responses.js OPENAPI_JSON RESPONSE_LOG');
    return 2;
  }
  const [docFile, logFile] = argv;
  const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
  const checker = makeChecker(doc);
  if (!fs.existsSync(logFile)) {
    console.error(`${logFile}: no recorded answers (did the recording test run?)`);
    return 1;
  }
  const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) {
    console.error(`${logFile}: empty: no recorded answers`);
    return 1;
  }

  const problems = [];
  const seen = new Map(); // "METHOD /path" -> statuses answered
  lines.forEach((line, i) => {
    let rec;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      problems.push(`line ${i + 1}: not JSON: ${e.message}`);
      return;
    }
    const why = checker.check(rec, seen);
    if (why) problems.push(`line ${i + 1}: ${rec.method} ${rec.target} -> ${rec.status}: ${why}`);
  });

  const succeeded = (op) => [...(seen.get(op) || [])].some((status) => status >= 200 && status < 400);
  for (const op of checker.operations()) {
    if (succeeded(op) && ALLOWED_MISSING.has(op))
      problems.push(`${op}: answered now: remove it from ALLOWED_MISSING in check_responses.js`);
    if (!succeeded(op) && !ALLOWED_MISSING.has(op))
      problems.push(
        `${op}: no recorded successful answer (${seen.has(op) ? 'only ' + [...seen.get(op)].join(' ') : 'none'}): ` +
          'add a test that calls it to the recorded suites (tests/CMakeLists.txt)',
      );
  }
  for (const op of ALLOWED_MISSING)
    if (!checker.operations().includes(op))
      problems.push(`${op}: in ALLOWED_MISSING but not an operation of ${docFile}`);

  console.log(`${lines.length} answers checked against ${docFile}:`);
  for (const op of checker.operations()) {
    const statuses = seen.get(op);
    const what = statuses ? [...statuses].sort().join(' ') : ALLOWED_MISSING.has(op) ? '(allowed missing)' : 'NONE';
    console.log(`  ${op.padEnd(32)} ${what}`);
  }
  if (problems.length) {
    console.error(`\n${problems.length} problem(s):`);
    for (const p of problems.slice(0, MAX_REPORTED)) console.error('  ' + p);
    if (problems.length > MAX_REPORTED) console.error(`  ... and ${problems.length - MAX_REPORTED} more`);
    return 1;
  }
  console.log('all answers match the document');
  return 0;
}

// pointer escapes one JSON Pointer token (RFC 6901).
function pointer(token) {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

function makeChecker(doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi.json');
  const compiled = new Map();
  const validatorAt = (ptr) => {
    if (!compiled.has(ptr)) compiled.set(ptr, ajv.compile({ $ref: 'openapi.json#' + ptr }));
    return compiled.get(ptr);
  };

  // Paths with templates ("/ui/{asset}") match by a pattern; exact paths first.
  const templates = Object.keys(doc.paths).map((p) => ({
    path: p,
    re: new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
  }));
  const findPath = (path) =>
    doc.paths[path] !== undefined ? path : (templates.find((t) => t.re.test(path)) || {}).path;

  const resolve = (obj) => {
    let o = obj;
    for (let depth = 0; o && o.$ref && depth < 10; ++depth) {
      const parts = o.$ref.replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      o = parts.reduce((x, k) => (x ? x[k] : undefined), doc);
    }
    return o;
  };

  const baseType = (t) => String(t || '').split(';')[0].trim().toLowerCase();
  const validateJson = (ptr, body) => {
    let value;
    try {
      value = JSON.parse(body);
    } catch (e) {
      return `the body is not JSON: ${e.message}: ${body.slice(0, 200)}`;
    }
    const validate = validatorAt(ptr);
    if (validate(value)) return null;
    const errs = validate.errors
      .slice(0, 6)
      .map((e) => `${e.instancePath || '/'} ${e.message}${e.params && e.params.allowedValues ? ' ' + JSON.stringify(e.params.allowedValues) : ''}`)
      .join('; ');
    return `does not match ${ptr}: ${errs}; body: ${body.slice(0, 300)}`;
  };

  return {
    operations() {
      const out = [];
      for (const [p, item] of Object.entries(doc.paths))
        for (const m of METHODS) if (item[m]) out.push(`${m.toUpperCase()} ${p}`);
      return out;
    },

    // check returns why rec does not match the document, or null; it notes in seen the
    // operations answered.
    check(rec, seen) {
      const path = rec.target.split('?')[0];
      const docPath = findPath(path);
      const head = rec.method === 'HEAD';
      const method = head ? 'get' : rec.method.toLowerCase();
      if (!docPath) {
        if (rec.status !== 404) return 'a path the document does not describe, not answered 404';
        return validateJson('/components/schemas/NoSuchPath', rec.body);
      }
      const item = doc.paths[docPath];
      // dmq server's own port (dispatch.http_port) serves only /healthz and /metrics: any
      // other path is 404 there. Such an answer does not count as the operation's.
      const documented404 = item[method] && item[method].responses['404'];
      if (rec.status === 404 && !documented404)
        return validateJson('/components/schemas/NoSuchPath', rec.body);
      if (!item[method]) {
        if (rec.status !== 405) return `${rec.method} is not an operation of ${docPath}, not answered 405`;
        return validateJson('/components/schemas/MethodNotAllowed', rec.body);
      }
      const op = `${method.toUpperCase()} ${docPath}`;
      if (!seen.has(op)) seen.set(op, new Set());
      seen.get(op).add(rec.status);

      const responses = item[method].responses;
      const key = [String(rec.status), `${String(rec.status)[0]}XX`, 'default'].find((k) => responses[k]);
      if (!key) return `status ${rec.status} is not documented for ${op}`;
      const response = resolve(responses[key]);
      const content = response.content || {};
      const types = Object.keys(content);
      if (types.length === 0) return rec.body === '' ? null : `${op} ${key} documents no body`;
      const got = rec.content_type;
      const type =
        types.find((t) => t.toLowerCase() === String(got).toLowerCase()) ||
        types.find((t) => baseType(t) === baseType(got)) ||
        types.find((t) => t === '*/*');
      if (!type) return `media type "${got}" is not documented for ${op} ${key} (${types.join(', ')})`;
      if (head) return null; // no body to check
      // The pointer into the document of the schema, through the response's $ref if any.
      const ref = responses[key].$ref;
      const base = ref
        ? ref.replace(/^#/, '')
        : `/paths/${pointer(docPath)}/${method}/responses/${pointer(key)}`;
      const ptr = `${base}/content/${pointer(type)}/schema`;
      if (baseType(type) === 'application/json') return validateJson(ptr, rec.body);
      const validate = validatorAt(ptr);
      return validate(rec.body) ? null : `the body does not match ${ptr}`;
    },
  };
}

process.exitCode = main(process.argv.slice(2));
