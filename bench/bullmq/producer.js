// Producers of the BullMQ peer (bench/bullmq.sh). See bench/bullmq/README.md.
//
// node producer.js bulk QUEUE SECONDS INFLIGHT BATCH DELAY_MS [MAX_JOBS]
//     W2: INFLIGHT loops, each awaiting Queue.addBulk of BATCH delayed jobs after the
//     other, for SECONDS (and at most MAX_JOBS jobs, default 10^8). Prints a JSON summary.
// node producer.js preload QUEUE N BATCH INFLIGHT DELAY_MS IDS_OUT
//     N jobs in addBulk calls of BATCH, INFLIGHT calls at once; writes the job ids, one a
//     line, to IDS_OUT (empty: not written); prints a JSON summary.
// node producer.js paced QUEUE RATE SECONDS BATCH DELAY_MS IDS_OUT
//     RATE jobs/s for SECONDS: one addBulk of BATCH every BATCH/RATE s on an absolute
//     schedule (a late answer is caught up, never accumulated), awaited before the next,
//     as bench/lib/post.py paced does. Writes the ids; the summary says how far behind the
//     schedule the sender fell.
// Every call's answer is checked (BATCH jobs, each with an id); any error exits 1.
'use strict';
const { Queue } = require('bullmq');
const { connection, jobs, sleep, die } = require('./common');
const fs = require('fs');

const HARD_MAX_S = 3600; // no loop runs longer than this, whatever the arguments

function check(got, n) {
  if (!Array.isArray(got) || got.length !== n) throw new Error(`addBulk returned ${got && got.length} jobs, not ${n}`);
  for (const j of got) if (!j.id) throw new Error('addBulk returned a job without id');
  return got;
}

async function bulk(queue, seconds, inflight, batch, delay, maxJobs) {
  seconds = Math.min(Number(seconds), HARD_MAX_S);
  inflight = Number(inflight); batch = Number(batch); delay = Number(delay);
  maxJobs = Number(maxJobs || 1e8);
  let next = 1, calls = 0, added = 0, lat = [];
  const t0 = Date.now(), deadline = t0 + seconds * 1000;
  async function loop() {
    while (Date.now() < deadline && next + batch - 1 <= maxJobs) {
      const first = next; next += batch;
      const a = process.hrtime.bigint();
      check(await queue.addBulk(jobs(first, batch, delay)), batch);
      lat.push(Number(process.hrtime.bigint() - a) / 1e6);
      calls++; added += batch;
    }
  }
  await Promise.all(Array.from({ length: inflight }, loop));
  const dt = (Date.now() - t0) / 1000;
  lat.sort((x, y) => x - y);
  const q = (p) => (lat.length ? Math.round(lat[Math.min(lat.length - 1, Math.floor((lat.length - 1) * p))] * 100) / 100 : null);
  return { jobs: added, calls, seconds: dt, jobs_per_s: Math.round((added / dt) * 10) / 10,
           calls_per_s: Math.round((calls / dt) * 10) / 10, call_ms_p50: q(0.5), call_ms_p99: q(0.99),
           inflight, batch, delay_ms: delay };
}

async function preload(queue, n, batch, inflight, delay, idsOut) {
  n = Number(n); batch = Number(batch); inflight = Number(inflight); delay = Number(delay);
  const ids = new Array(n);
  let next = 0;
  const t0 = Date.now(), deadline = t0 + HARD_MAX_S * 1000;
  async function loop() {
    while (next < n) {
      if (Date.now() > deadline) throw new Error('preload took longer than 1 h');
      const first = next, m = Math.min(batch, n - first); next += m;
      const got = check(await queue.addBulk(jobs(first + 1, m, delay)), m);
      for (let i = 0; i < m; i++) ids[first + i] = got[i].id;
    }
  }
  await Promise.all(Array.from({ length: inflight }, loop));
  const dt = (Date.now() - t0) / 1000;
  if (idsOut) fs.writeFileSync(idsOut, ids.join('\n') + '\n');
  return { jobs: n, unique_ids: new Set(ids).size, seconds: dt, jobs_per_s: Math.round((n / dt) * 10) / 10,
           batch, inflight, delay_ms: delay };
}

async function paced(queue, rate, seconds, batch, delay, idsOut) {
  rate = Number(rate); seconds = Math.min(Number(seconds), HARD_MAX_S); batch = Number(batch); delay = Number(delay);
  const period = (batch / rate) * 1000;
  const ticks = Math.round((seconds * 1000) / period);
  const bodies = Array.from({ length: ticks }, (_, i) => jobs(1 + i * batch, batch, delay));
  const ids = [];
  let behindMax = 0;
  const t0 = performance.now();
  for (let i = 0; i < ticks; i++) {
    const at = t0 + i * period, now = performance.now();
    if (now < at) await sleep(at - now);
    else behindMax = Math.max(behindMax, now - at);
    for (const j of check(await queue.addBulk(bodies[i]), batch)) ids.push(j.id);
  }
  const dt = (performance.now() - t0) / 1000;
  fs.writeFileSync(idsOut, ids.join('\n') + '\n');
  return { jobs: ids.length, unique_ids: new Set(ids).size, seconds: dt,
           jobs_per_s: Math.round((ids.length / dt) * 10) / 10,
           max_behind_schedule_ms: Math.round(behindMax * 10) / 10 };
}

async function main() {
  const [mode, name, ...args] = process.argv.slice(2);
  const fns = { bulk, preload, paced };
  if (!fns[mode] || !name) die('usage: see the head of bench/bullmq/producer.js');
  const queue = new Queue(name, { connection: connection(false) });
  queue.on('error', (e) => die(`queue error: ${e.message}`));
  await queue.waitUntilReady();
  const res = await fns[mode](queue, ...args);
  await queue.close();
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch((e) => die(`producer failed: ${e.stack || e}`));
