// config: the configuration of dmq, loaded from CONFIG_DIR/config.yaml and the
// command files it lists, in the seed's format plus dmq's own keys.
//
// Every key is declared once in config.cc (name, default, description); the
// table is what `dmq config-reference` prints and what config/config.yaml documents.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/secret.h"
#include "util/ip_range.h"

namespace dmq::config {

// consumer: one downstream endpoint of a command (seed: an entry of consumer_list).
struct consumer {
  std::string name;  // global across all command files
  std::string host;  // "127.0.0.1:8959", may carry http:// or https://
  std::string path;  // "/api/x", may carry a query
  int timeout_ms = 600;
  int retry_times = 0;
  int interval_ms = 0;
  // dmq's own:
  int concurrency = 64;            // deliveries in flight to this consumer, per dispatcher
  int rate_per_sec = 0;            // attempts started per second, per dispatcher; 0 = no limit
  bool rate_shared = false;        // rate_per_sec counts all dispatchers together (in Redis)
  std::string backoff = "linear";  // linear (seed: interval * n) | exponential
  int backoff_cap_ms = 600000;     // exponential: the longest wait
  bool jitter = true;              // exponential: wait a random 50-100% of the step
  std::filesystem::path ca_file;  // https: PEM of trusted CAs (absolute after load); empty = system
  bool tls_verify = true;         // https: verify the certificate and host name
  // Standard Webhooks signing keys (the bytes after "whsec_", base64-decoded), in order;
  // every delivery is signed with each (docs/security.md).
  std::vector<std::string> signing_secrets;
};

// command: a cmd string, the project it belongs to and its consumers.
struct command {
  std::string project;
  std::string cmd;
  std::vector<consumer> consumers;
  std::vector<std::string> consumer_names;  // the names of consumers, in order (load fills it)
  bool ordered = false;  // dmq's own: per consumer, one bucket's messages one at a time
  std::string file;      // the command file it came from, for messages
};

// producer: a project allowed to send messages, and from where.
struct producer {
  std::string project;
  std::vector<util::ip_range> allow_ip;  // exact addresses or CIDR ranges
  std::vector<token> tokens;             // bearer tokens (their digests); empty: allow_ip only
  std::int64_t idempotency_window_ms =
      std::int64_t{24} * 3600 * 1000;        // 0: idempotency keys ignored
  bool idempotency_from_request_id = false;  // request_id doubles as the idempotency key
  bool find_index = true;  // keep <base>f:<request_id> so /api/message/find answers
  int shards = 1;          // hash tags the project's messages spread over (docs/scaling.md)
};

// credentials: who may use an endpoint that is not a project's own: any address in
// allow_ip, or a bearer token among tokens.
struct credentials {
  std::vector<util::ip_range> allow_ip;
  std::vector<token> tokens;
};

struct redis_settings {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // resolved (env:/file: read at load)
  std::string username;  // Redis ACL user; empty: AUTH with the password alone
  int db = 0;
  int pool_size = 4;  // dmq pipelines: a few connections carry everything
  int max_retries = 3;
  int min_retry_backoff_ms = 8;
  int max_retry_backoff_ms = 400;
  int read_timeout_ms = 1000;   // seed: read_timeout in seconds
  int write_timeout_ms = 2000;  // seed: write_timeout in seconds
  int connect_timeout_ms = 2000;
  // dmq's own: a private redis-server child.
  bool embedded = false;
  std::filesystem::path data_dir;        // absolute after load (default CONFIG_DIR/data/redis)
  std::string appendfsync = "everysec";  // always | everysec | no
  bool allow_eviction = false;           // start on a Redis whose maxmemory-policy can evict keys
  std::string server_path = "redis-server";
  std::string key_prefix = "dmq";
  // Redis Cluster (docs/scaling.md): seed nodes "host:port"; non-empty selects cluster mode
  // (host, port and db are then not used).
  std::vector<std::string> cluster;
  int wait_replicas = 0;       // > 0: a save answers once WAIT says this many replicas have it
  int wait_timeout_ms = 1000;  // how long that WAIT waits
  bool is_cluster() const { return !cluster.empty(); }
};

// tls_settings: the API's own certificate (HTTPS on http_port when cert_file is set).
struct tls_settings {
  std::filesystem::path cert_file;       // PEM chain; absolute after load; empty: plain HTTP
  std::filesystem::path key_file;        // PEM private key
  std::filesystem::path client_ca_file;  // set: callers must present a certificate it signed
  bool enabled() const { return !cert_file.empty(); }
};

struct http_settings {
  std::string listen = "127.0.0.1";
  int port = 8989;                  // seed: http_port
  int read_timeout_ms = 10000;      // a request must arrive whole within this
  int idle_timeout_ms = 60000;      // keep-alive connections idle longer are closed
  int shutdown_timeout_ms = 10000;  // SIGTERM: requests in flight get this long
  int max_connections = 10000;
  bool reuse_port = false;  // SO_REUSEPORT: several processes serve one port
  std::vector<util::ip_range> trusted_proxies;
  tls_settings tls;
};

struct limit_settings {
  std::size_t max_body_bytes = 4 << 20;
  int max_batch_items = 1000;
  int max_queued_saves = 20000;  // messages waiting in dmq for Redis; more: 503
  std::size_t max_params_bytes = 64 << 10;
  std::size_t max_field_bytes = 256;  // project, cmd, bucket, request_id
  int max_solved_ids = 150;           // seed: 150
  int max_pending_list = 10000;       // ids returned by one /pending call
};

struct dispatch_settings {
  int lease_margin_ms = 10000;    // a claim's lease is the consumer's timeout plus this
  int heartbeat_lease_ms = 2000;  // leases this short, renewed while their dispatcher lives
  int claim_batch = 256;          // most deliveries claimed in one round trip
  int prefetch_ms = 50;           // claim this long before due; send at the due time
  int claim_ahead = 1000;  // claimed deliveries waiting for a slot or their due time, at most
  int shutdown_timeout_ms = 10000;  // SIGTERM: deliveries in flight get this long
  int max_idle_ms = 5000;           // re-check an idle queue at least this often
  int http_port = 0;        // dmq server's own /healthz and /metrics (on http.listen); 0 = none
  int attempt_history = 5;  // attempts kept per message and consumer; 0 = none
  int attempt_answer_bytes = 256;  // bytes of each attempt's answer kept in its history
};

struct log_settings {
  std::filesystem::path dir;      // empty: log to stderr only; else absolute after load
  std::string rotate = "hourly";  // hourly | daily | size
  int max_files = 72;             // rotated files kept (0 = keep all)
  int max_size_mb = 100;          // for rotate: size
  std::string level = "info";
  bool disable_success_log = true;  // seed: disable_success_log
};

// settings: everything dmq reads from CONFIG_DIR.
struct settings {
  std::filesystem::path dir;  // CONFIG_DIR, absolute
  http_settings http;
  redis_settings redis;
  limit_settings limits;
  dispatch_settings dispatch;
  log_settings log;
  int workers = 1;  // dmq client/server/run: processes under one supervisor (app/supervisor.h)
  int msg_save_days = 4;
  int msg_save_seconds = 0;  // dmq's own: when set, replaces msg_save_days (short retention)
  std::string request_trace_id_key = "Request-Id";
  std::vector<producer> producers;
  std::vector<command> commands;
  credentials admin;    // may call every management endpoint of every project
  credentials metrics;  // may read /metrics (admin may too); default: loopback

  // find_producer returns the producer of project, or nullptr.
  const producer* find_producer(std::string_view project) const;
  // find_command returns the command named cmd, or nullptr.
  const command* find_command(std::string_view cmd) const;
  // find_consumer returns the consumer named name and its command, or {nullptr, nullptr}.
  std::pair<const command*, const consumer*> find_consumer(std::string_view name) const;
};

// problem: one thing wrong with the configuration: where, which key, why.
struct problem {
  std::string file;  // path relative to CONFIG_DIR
  std::string key;   // dotted path, "product_list[1].allow_ip[0]"
  std::string reason;
  std::string to_string() const;  // "config.yaml: redis.port: must be 1..65535"
};

struct load_result {
  std::optional<settings> cfg;     // set only when problems is empty
  std::vector<problem> problems;   // every problem found, not just the first
  std::vector<std::string> notes;  // the seed's tuning keys knowingly ignored, one line each
};

// load reads CONFIG_DIR/config.yaml and its command files and validates all of it.
load_result load(const std::filesystem::path& dir);

// reference returns the documentation of every key: "key  default  description" lines.
std::string reference();

}  // namespace dmq::config
