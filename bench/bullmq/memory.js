// Memory breakdown of the BullMQ peer (bench/bullmq.sh memory). See bench/bullmq/README.md.
//
// node memory.js QUEUE JOBS
//     SCANs every key of the Redis at 127.0.0.1:$REDIS_PORT, sorts it into a kind (job hash
//     bull:QUEUE:<id>, the delayed zset, the events stream, the other keys of the queue),
//     and sums MEMORY USAGE (SAMPLES 0: every element counted) per kind; per job = sum /
//     JOBS. Also the key count, Redis type and OBJECT ENCODING of each kind, and the field
//     sizes of one job hash. Prints one JSON object.
'use strict';
const IORedis = require('ioredis');
const { connection, die } = require('./common');

async function main() {
  const [queue, jobsArg] = process.argv.slice(2);
  const jobs = Number(jobsArg);
  if (!queue || !jobs) die('usage: node memory.js QUEUE JOBS');
  const r = new IORedis(connection(false));
  const prefix = `bull:${queue}:`;
  const kinds = {};
  const kindOf = (k) => {
    if (!k.startsWith(prefix)) return 'other (not the queue\'s)';
    const rest = k.slice(prefix.length);
    if (/^\d+$/.test(rest)) return 'job hash bull:Q:<id>';
    return `bull:Q:${rest}`;
  };
  let cursor = '0', keys = [];
  const deadline = Date.now() + 600000;
  do {
    if (Date.now() > deadline) die('SCAN took more than 10 min');
    const [c, ks] = await r.scan(cursor, 'COUNT', 5000);
    cursor = c; keys.push(...ks);
  } while (cursor !== '0');
  for (let i = 0; i < keys.length; i += 2000) {
    const part = keys.slice(i, i + 2000);
    const p = r.pipeline();
    for (const k of part) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    const res = await p.exec();
    part.forEach((k, j) => {
      const kind = kindOf(k);
      const e = kinds[kind] || (kinds[kind] = { keys: 0, bytes: 0, example: k });
      e.keys++; e.bytes += Number(res[j][1]) || 0;
    });
  }
  for (const e of Object.values(kinds)) {
    e.type = await r.type(e.example);
    e.encoding = await r.object('ENCODING', e.example);
    e.bytes_per_job = Math.round((e.bytes / jobs) * 10) / 10;
    if (e.type === 'zset') e.elements = await r.zcard(e.example);
    if (e.type === 'stream') e.elements = await r.xlen(e.example);
    if (e.type === 'list') e.elements = await r.llen(e.example);
    if (e.type === 'hash') e.fields = await r.hlen(e.example);
  }
  const jobKey = Object.values(kinds).find((e) => /:\d+$/.test(e.example));
  let jobFields = null;
  if (jobKey) {
    const h = await r.hgetall(jobKey.example);
    jobFields = Object.fromEntries(Object.entries(h).map(([f, v]) => [f, { bytes: Buffer.byteLength(v), value: v.length > 160 ? v.slice(0, 160) + '…' : v }]));
  }
  const cfg = await r.config('GET', 'hash-max-*');
  const total = Object.values(kinds).reduce((s, e) => s + e.bytes, 0);
  await r.quit();
  process.stdout.write(JSON.stringify({ keys: keys.length, memory_usage_sum: total,
    memory_usage_sum_per_job: Math.round((total / jobs) * 10) / 10, kinds, job_fields: jobFields,
    redis_hash_limits: Object.fromEntries(cfg.reduce((a, v, i) => (i % 2 ? a[a.length - 1].push(v) : a.push([v]), a), [])) }) + '\n');
}

main().catch((e) => die(`memory.js failed: ${e.stack || e}`));
