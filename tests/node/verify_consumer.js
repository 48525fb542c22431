#!/usr/bin/env node
// verify_consumer: a webhook consumer for dmq's end-to-end tests that checks every delivery
// with the official Standard Webhooks library (the `standardwebhooks` npm package), not
// with dmq's code.
//
//   node verify_consumer.js CONFIG_JSON
//
// CONFIG_JSON: {"ready_file": F, "log_file": L, "routes": {"/name": ROUTE, ...}}, where a
// request to /name/... is checked by ROUTE: {"secrets": ["whsec_...", ...], "tamper": bool,
// "fail_first": n}. Each secret is a verifier of its own (one that knows only that secret);
// a delivery is verified when every one of them accepts it. With "tamper", the body is
// changed by one byte before it is verified (so it must be refused). The first fail_first
// deliveries of each webhook-id to the route are answered 500 even when verified (to make dmq retry).
// Answers 200 when verified, else 401. Each delivery appends one JSON line to L (written
// before the answer): route, the webhook-* headers, X-Dmq-Message-Id, the body, whether it
// was verified and by which verifier, and the library's reasons. It listens on 127.0.0.1 on
// a port of the kernel's choosing and writes it to F once listening.
"use strict";

const fs = require("fs");
const http = require("http");
const { Webhook } = require("standardwebhooks");

const config = JSON.parse(process.argv[2]);
const seen = new Map(); // route and webhook-id -> deliveries so far

function check(route, body, headers) {
  const results = [];
  for (const secret of route.secrets) {
    try {
      new Webhook(secret).verify(body, headers);
      results.push({ ok: true, reason: "" });
    } catch (e) {
      results.push({ ok: false, reason: `${e.name}: ${e.message}` });
    }
  }
  return results;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body = Buffer.concat(chunks).toString("utf8");
    const name = "/" + (req.url.split("/")[1] || "").split("?")[0];
    const route = config.routes[name];
    if (!route) {
      res.writeHead(404).end("no such route\n");
      return;
    }
    if (route.tamper) body = body.length ? (body[0] === "x" ? "y" : "x") + body.slice(1) : "x";
    const results = check(route, body, req.headers);
    const verified = results.length > 0 && results.every((r) => r.ok);
    const id = req.headers["webhook-id"] || "";
    const n = (seen.get(name + " " + id) || 0) + 1;
    seen.set(name + " " + id, n);
    const status = !verified ? 401 : n <= (route.fail_first || 0) ? 500 : 200;
    const line = {
      route: name,
      webhook_id: req.headers["webhook-id"] || null,
      webhook_timestamp: req.headers["webhook-timestamp"] || null,
      webhook_signature: req.headers["webhook-signature"] || null,
      message_id: req.headers["x-dmq-message-id"] || null,
      attempt: req.headers["x-dmq-attempt"] || null,
      body: Buffer.concat(chunks).toString("utf8"),
      verified,
      results,
      status,
      received_s: Math.floor(Date.now() / 1000),
    };
    fs.appendFileSync(config.log_file, JSON.stringify(line) + "\n");
    res.writeHead(status, { "Content-Type": "text/plain" }).end(verified ? "ok\n" : "refused\n");
  });
});

server.listen(0, "127.0.0.1", () => {
  const tmp = config.ready_file + ".tmp";
  fs.writeFileSync(tmp, String(server.address().port));
  fs.renameSync(tmp, config.ready_file);
});

process.on("SIGTERM", () => server.close(() => process.exit(0)));
