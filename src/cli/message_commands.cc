// The subcommands about one message: send, status, detail, attempts, find, cancel,
// reschedule.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <memory>

#include "cli/command_kit.h"
#include "cli/format.h"
#include "cli/table.h"

namespace json = boost::json;

namespace dmq::cli {

namespace {

constexpr const char* id_help = "The message's id";
constexpr const char* consumer_help = "The consumer (its name in the command's consumer_list)";

struct send_args {
  std::string project, cmd, bucket, params, delay, request_id, idempotency_key;
  std::int64_t timestamp = 0;
};

int send(session& s, const send_args& a) {
  json::object m{{"project", a.project}, {"cmd", a.cmd}, {"bucket", a.bucket}};
  if (!a.params.empty()) {
    std::string why;
    auto text = read_argument(a.params, why);
    if (!text) return usage(s, "--params: " + why);
    m["params"] = *text;
  }
  if (a.timestamp > 0) m["timestamp"] = a.timestamp;
  if (!a.delay.empty()) {
    auto ms = parse_duration_ms(a.delay);
    if (!ms) return usage(s, "--delay: '" + a.delay + "' is no duration (500ms, 30s, 5m, 2h, 1d)");
    m["delay_ms"] = *ms;
  }
  if (!a.request_id.empty()) m["request_id"] = a.request_id;
  if (!a.idempotency_key.empty()) m["idempotency_key"] = a.idempotency_key;
  auto d = s.post("/api/message/single", m);
  if (!d) return s.exit();
  if (s.json())
    s.print_json(*d);
  else
    s.out() << scalar(*d) << "\n";
  return exit_ok;
}

struct one_message {
  std::string id, consumer;
};

int status(session& s, const one_message& a) {
  auto d =
      s.get("/api/message/status" + query().add("msg_id", a.id).add("consumer", a.consumer).str());
  if (!d) return s.exit();
  if (s.json())
    s.print_json(*d);
  else
    s.out() << scalar(*d) << "\n";
  return exit_ok;
}

// last_attempt describes an attempt history entry in a few words: "retry 503", "failure
// timeout", "done 200".
std::string last_attempt(const json::value& e) {
  if (!e.is_object()) return "-";
  std::string out = field(e, "outcome");
  auto http = int_field(e, "http_status");
  if (http) out += " " + std::to_string(http);
  if (auto err = attempt_error(e); !err.empty()) out += " " + err;
  return out + " at " + time_ms(int_field(e, "start_ms"));
}

int detail(session& s, const one_message& a) {
  auto d =
      s.get("/api/message/detail" + query().add("msg_id", a.id).add("consumer", a.consumer).str());
  if (!d) return s.exit();
  if (s.json()) {
    s.print_json(*d);
    return exit_ok;
  }
  auto& out = s.out();
  out << "id:          " << field(*d, "id") << "\n"
      << "project:     " << field(*d, "project") << "\n"
      << "cmd:         " << field(*d, "cmd") << "\n"
      << "bucket:      " << field(*d, "bucket") << "\n"
      << "request_id:  " << field(*d, "request_id") << "\n"
      << "params:      " << field(*d, "params") << "\n"
      << "due:         " << time_ms(int_field(*d, "due_ms")) << "\n"
      << "created:     " << time_ms(int_field(*d, "create_time_ms")) << "\n";
  const auto* cs = d->as_object().if_contains("consumers");
  if (cs && cs->is_array()) {
    table t({"CONSUMER", "STATUS", "ATTEMPTS", "NEXT ATTEMPT", "LAST ATTEMPT"});
    for (const auto& c : cs->get_array()) {
      const auto* next = c.is_object() ? c.as_object().if_contains("next_attempt_ms") : nullptr;
      const auto* last = c.is_object() ? c.as_object().if_contains("last_attempt") : nullptr;
      t.add({field(c, "consumer"), field(c, "status"), field(c, "attempts"),
             next ? time_ms(number(*next, 0)) : "-", last ? last_attempt(*last) : "-"});
    }
    out << "\n";
    t.print(out);
  }
  return exit_ok;
}

// printable returns an answer's first bytes on one line: newlines and tabs as \n and \t,
// at most max code points.
std::string printable(const std::string& s, std::size_t max) {
  std::string out;
  std::size_t points = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 && ++points > max) {
      out += "...";
      break;
    }
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20)
      out += '?';
    else
      out += c;
  }
  return out;
}

int attempts(session& s, const one_message& a) {
  auto d = s.get("/api/message/attempts" +
                 query().add("msg_id", a.id).add("consumer", a.consumer).str());
  if (!d) return s.exit();
  if (s.json()) {
    s.print_json(*d);
    return exit_ok;
  }
  s.out() << "message " << field(*d, "msg_id") << ", consumer " << field(*d, "consumer") << ": "
          << field(*d, "status") << " after " << field(*d, "attempts") << " attempt(s)\n";
  const auto* h = d->is_object() ? d->as_object().if_contains("history") : nullptr;
  if (!h || !h->is_array() || h->get_array().empty()) {
    s.out() << "no attempt history kept (a first-try success keeps none)\n";
    return exit_ok;
  }
  table t({"ATTEMPT", "START", "DURATION", "OUTCOME", "HTTP", "ERROR", "DISPATCHER", "ANSWER"});
  for (const auto& e : h->get_array()) {
    auto http = field(e, "http_status");
    auto err = attempt_error(e);
    t.add({field(e, "attempt"), time_ms(int_field(e, "start_ms")),
           duration_ms(int_field(e, "duration_ms")), field(e, "outcome"), http == "0" ? "-" : http,
           err.empty() ? "-" : err, field(e, "dispatcher"), printable(field(e, "answer"), 60)});
  }
  t.print(s.out());
  return exit_ok;
}

struct find_args {
  std::string project, request_id, idempotency_key;
};

int find(session& s, const find_args& a) {
  auto d = s.get("/api/message/find" + query()
                                           .add("project", a.project)
                                           .add_if("request_id", a.request_id)
                                           .add_if("idempotency_key", a.idempotency_key)
                                           .str());
  if (!d) return s.exit();
  if (s.json()) {
    s.print_json(*d);
    return exit_ok;
  }
  const auto* ids = d->is_object() ? d->as_object().if_contains("ids") : nullptr;
  if (!ids || !ids->is_array() || ids->get_array().empty()) {
    s.err() << "dmq: no message found\n";
    return exit_ok;
  }
  for (const auto& id : ids->get_array()) s.out() << scalar(id) << "\n";
  return exit_ok;
}

struct cancel_args {
  std::string id, project;
};

int cancel(session& s, const cancel_args& a) {
  json::object body{{"msg_id", a.id}};
  if (!a.project.empty()) body["project"] = a.project;
  auto d = s.post("/api/message/cancel", body);
  if (!d) return s.exit();
  if (s.json())
    s.print_json(*d);
  else
    s.out() << "cancelled " << a.id << "\n";
  return exit_ok;
}

struct reschedule_args {
  std::string id, project, delay;
  std::int64_t timestamp = 0, due_ms = 0;
};

int reschedule(session& s, const reschedule_args& a) {
  json::object body{{"msg_id", a.id}};
  if (!a.project.empty()) body["project"] = a.project;
  if (a.timestamp > 0) body["timestamp"] = a.timestamp;
  if (a.due_ms > 0) body["due_ms"] = a.due_ms;
  if (!a.delay.empty()) {
    auto ms = parse_duration_ms(a.delay);
    if (!ms) return usage(s, "--delay: '" + a.delay + "' is no duration (500ms, 30s, 5m, 2h, 1d)");
    body["delay_ms"] = *ms;
  }
  auto d = s.post("/api/message/reschedule", body);
  if (!d) return s.exit();
  if (s.json())
    s.print_json(*d);
  else
    s.out() << field(*d, "msg_id") << " due at " << time_ms(int_field(*d, "due_ms")) << "\n";
  return exit_ok;
}

}  // namespace

void add_message_commands(registry& r) {
  {
    auto a = std::make_shared<send_args>();
    auto* c = r.add("send", "Send a message (POST /api/message/single); prints its id",
                    [a](session& s) { return send(s, *a); });
    c->add_option("--project", a->project, "Its project (a producer in product_list)")->required();
    c->add_option("--cmd", a->cmd, "Its command (command_list)")->required();
    c->add_option("--bucket", a->bucket, "Its bucket (ordered commands: the order's key)")
        ->required();
    c->add_option("--params", a->params, "Its params: text (JSON, say), or @FILE, or @- for stdin");
    auto* ts = c->add_option("--timestamp", a->timestamp, "When it is due (unix seconds)");
    auto* dl = c->add_option("--delay", a->delay, "Due after this long: 500ms, 30s, 5m, 2h, 1d");
    ts->excludes(dl);
    c->add_option("--request-id", a->request_id, "Its request_id (find finds it by it)");
    c->add_option("--idempotency-key", a->idempotency_key,
                  "Its idempotency key: sent again within the project's window, it is not stored "
                  "twice and the first id is answered");
  }
  for (const char* name : {"status", "detail", "attempts"}) {
    auto a = std::make_shared<one_message>();
    std::string n = name;
    runner run = n == "status"   ? runner([a](session& s) { return status(s, *a); })
                 : n == "detail" ? runner([a](session& s) { return detail(s, *a); })
                                 : runner([a](session& s) { return attempts(s, *a); });
    const char* what = n == "status"   ? "A message's delivery status for one consumer"
                       : n == "detail" ? "A message: its record and per consumer its status, "
                                         "attempts, next attempt and last attempt"
                                       : "A message's attempt history for one consumer: when, "
                                         "how long, HTTP status or error, the answer's first bytes";
    auto* c = r.add(name, what, run);
    c->add_option("MSG_ID", a->id, id_help)->required()->check([](const std::string& v) {
      return is_id(v) ? std::string{} : "must be a message id (a positive integer)";
    });
    c->add_option("CONSUMER,-c,--consumer", a->consumer, consumer_help)->required();
  }
  {
    auto a = std::make_shared<find_args>();
    auto* c =
        r.add("find", "The ids of a project's messages sent with a request_id or idempotency key",
              [a](session& s) { return find(s, *a); });
    c->add_option("--project", a->project, "The project")->required();
    auto* rid = c->add_option("--request-id", a->request_id, "Their request_id");
    auto* key = c->add_option("--idempotency-key", a->idempotency_key, "Their idempotency key");
    rid->excludes(key);
    c->callback([a] {
      if (a->request_id.empty() && a->idempotency_key.empty())
        throw CLI::ValidationError("find", "give --request-id or --idempotency-key");
    });
  }
  {
    auto a = std::make_shared<cancel_args>();
    auto* c = r.add("cancel", "Cancel a message none of whose deliveries has started",
                    [a](session& s) { return cancel(s, *a); });
    c->add_option("MSG_ID", a->id, id_help)->required()->check([](const std::string& v) {
      return is_id(v) ? std::string{} : "must be a message id (a positive integer)";
    });
    c->add_option("--project", a->project, "Its project (else every project the token manages)");
  }
  {
    auto a = std::make_shared<reschedule_args>();
    auto* c =
        r.add("reschedule", "Move a message none of whose deliveries has started to a new due time",
              [a](session& s) { return reschedule(s, *a); });
    c->add_option("MSG_ID", a->id, id_help)->required()->check([](const std::string& v) {
      return is_id(v) ? std::string{} : "must be a message id (a positive integer)";
    });
    c->add_option("--project", a->project, "Its project (else every project the token manages)");
    auto* ts = c->add_option("--timestamp", a->timestamp, "New due time (unix seconds)");
    auto* due = c->add_option("--due-ms", a->due_ms, "New due time (unix milliseconds)");
    auto* dl = c->add_option("--delay", a->delay, "Due after this long from now: 500ms, 30s, 5m");
    ts->excludes(due)->excludes(dl);
    due->excludes(dl);
    c->callback([a] {
      if (a->timestamp <= 0 && a->due_ms <= 0 && a->delay.empty())
        throw CLI::ValidationError("reschedule", "give --timestamp, --due-ms or --delay");
    });
  }
}

}  // namespace dmq::cli
