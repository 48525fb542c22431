// The BullMQ Worker of the peer (bench/bullmq.sh). See bench/bullmq/README.md.
//
// node worker.js QUEUE CONCURRENCY SINK_URL
//     A Worker (BullMQ's defaults except concurrency) whose processor POSTs the job data
//     (JSON) to SINK_URL + "?msg_id=<job.id>&retry=<job.attemptsMade>" with header
//     X-Dmq-Scheduled-At: job.timestamp + job.opts.delay (ms), through one keep-alive
//     http.Agent (maxSockets 100); a non-2xx answer (or a socket error / 10 s timeout)
//     fails the job. Prints "READY <epoch ms>" once connected; on SIGTERM closes the
//     worker (waits for the jobs in flight) and prints a JSON line of counts.
'use strict';
const http = require('http');
const { Worker } = require('bullmq');
const { connection, die } = require('./common');

const [name, concurrency, sinkUrl] = process.argv.slice(2);
if (!name || !concurrency || !sinkUrl) die('usage: node worker.js QUEUE CONCURRENCY SINK_URL');
const sink = new URL(sinkUrl);
if (sink.hostname !== '127.0.0.1') die('the sink must be on 127.0.0.1');
const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });

function post(job) {
  const body = JSON.stringify(job.data);
  const due = Number(job.timestamp) + Number((job.opts && job.opts.delay) || 0);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: sink.hostname, port: sink.port, method: 'POST', agent, timeout: 10000,
      path: `${sink.pathname}?msg_id=${job.id}&retry=${job.attemptsMade}`,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
                 'X-Dmq-Scheduled-At': String(due) },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode >= 200 && res.statusCode < 300
        ? resolve(res.statusCode) : reject(new Error(`sink answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('sink timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

let completed = 0, failed = 0, firstError = null;
const worker = new Worker(name, post, { connection: connection(true), concurrency: Number(concurrency) });
worker.on('completed', () => { completed++; });
worker.on('failed', (job, err) => { failed++; if (!firstError) firstError = String(err && err.message); });
worker.on('error', (e) => { process.stderr.write(`worker error: ${e.message}\n`); });

let closing = false;
async function stop() {
  if (closing) return;
  closing = true;
  const t = setTimeout(() => die('worker.close() took more than 20 s'), 20000);
  await worker.close();
  clearTimeout(t);
  agent.destroy();
  process.stdout.write(JSON.stringify({ completed, failed, first_error: firstError }) + '\n');
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

worker.waitUntilReady().then(() => process.stdout.write(`READY ${Date.now()}\n`),
  (e) => die(`worker failed to connect: ${e.message}`));
