// Shared by the BullMQ peer's node scripts (bench/bullmq.sh). See bench/bullmq/README.md.
'use strict';

// Redis of the benchmark: 127.0.0.1:$REDIS_PORT only.
function connection(forWorker) {
  const port = Number(process.env.REDIS_PORT);
  if (!port) throw new Error('REDIS_PORT is not set');
  // BullMQ requires maxRetriesPerRequest: null for a Worker's connections; the Queue keeps
  // ioredis' defaults.
  return forWorker ? { host: '127.0.0.1', port, maxRetriesPerRequest: null }
                   : { host: '127.0.0.1', port };
}

// The job name: dmq stores the command with every message, BullMQ the job name.
const JOB_NAME = 'bench:one:consumer';

// ~90-100 bytes of JSON, the same object as dmq's bench (bench/lib/post.py params(k),
// bench/wrk/*.lua): the job data is these params, and the worker POSTs them as the body,
// as dmq POSTs a message's params.
function params(k) {
  return {
    order_id: String(k).padStart(8, '0'),
    user_id: k % 999983,
    amount: `${k % 10000}.${String(k % 100).padStart(2, '0')}`,
    sku: `SKU-${String(k % 99991).padStart(5, '0')}`,
    note: 'bench',
  };
}

// jobs(first, n, delayMs): n addBulk entries with data params(first..first+n-1)
function jobs(first, n, delayMs) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = { name: JOB_NAME, data: params(first + i), opts: delayMs > 0 ? { delay: delayMs } : {} };
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function die(msg) {
  process.stderr.write(`${msg}\n`);
  process.exit(1);
}

module.exports = { connection, JOB_NAME, params, jobs, sleep, die };
