// The subcommands about a consumer's lists: pending, scheduled, failed, retry, solved.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <memory>

#include "cli/command_kit.h"
#include "cli/format.h"
#include "cli/table.h"

namespace json = boost::json;

namespace dmq::cli {

namespace {

constexpr const char* consumer_help = "The consumer (its name in the command's consumer_list)";
// --all follows the cursor at most this many pages (of up to 1,000 entries each).
constexpr int max_pages = 10'000;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const json::array* list_of(const json::value& d) {
  const auto* l = d.is_object() ? d.as_object().if_contains("list") : nullptr;
  return l && l->is_array() ? &l->get_array() : nullptr;
}

struct pending_args {
  std::string consumer, start, end, limit;
};

int pending(session& s, const pending_args& a) {
  auto d = s.get("/api/message/pending" + query()
                                              .add("consumer", a.consumer)
                                              .add_if("start", a.start)
                                              .add_if("end", a.end)
                                              .add_if("limit", a.limit)
                                              .str());
  if (!d) return s.exit();
  if (s.json()) {
    s.print_json(*d);
    return exit_ok;
  }
  table t({"MSG_ID", "TIMESTAMP"});
  if (const auto* l = list_of(*d))
    for (const auto& e : *l) t.add({field(e, "Member"), time_s(int_field(e, "Score"))});
  t.print(s.out());
  s.out() << int_field(*d, "count") << " pending in all\n";
  return exit_ok;
}

// paged_args: a list read page by page (scheduled, failed).
struct paged_args {
  std::string consumer, start, end, cmd, q, limit, cursor;
  bool all = false;
};

// pages reads target's pages from a.cursor on: one, or with --all every one. Returns the
// data (with --all: every page's entries in one "list"), nullopt on failure.
std::optional<json::value> pages(session& s, const std::string& path, const query& base,
                                 const paged_args& a) {
  std::string cursor = a.cursor;
  json::value merged;
  for (int page = 0; page < max_pages; ++page) {
    auto q = base;
    q.add_if("cursor", cursor);
    auto d = s.get(path + q.str());
    if (!d) return std::nullopt;
    if (!a.all) return d;
    if (merged.is_null()) {
      merged = *d;
    } else if (const auto* l = list_of(*d)) {
      auto& into = merged.as_object()["list"].as_array();
      for (const auto& e : *l) into.push_back(e);
      merged.as_object()["next_cursor"] = d->at("next_cursor");
    }
    cursor = field(*d, "next_cursor");
    if (cursor.empty() || cursor == "-" || cursor == "0") break;
  }
  return merged;
}

void more(session& s, const json::value& d, const std::string& again) {
  auto next = field(d, "next_cursor");
  if (!next.empty() && next != "-" && next != "0")
    s.out() << "more: " << again << " --cursor " << next << "  (or --all)\n";
}

int scheduled(session& s, const paged_args& a) {
  auto d = pages(s, "/api/message/scheduled",
                 query()
                     .add("consumer", a.consumer)
                     .add_if("start_ms", a.start)
                     .add_if("end_ms", a.end)
                     .add_if("limit", a.limit),
                 a);
  if (!d) return s.exit();
  if (s.json()) {
    s.print_json(*d);
    return exit_ok;
  }
  table t({"MSG_ID", "DUE", "IN"});
  auto now = now_ms();
  if (const auto* l = list_of(*d))
    for (const auto& e : *l) {
      auto due = int_field(e, "due_ms");
      t.add({field(e, "msg_id"), time_ms(due), due > now ? duration_ms(due - now) : "due"});
    }
  t.print(s.out());
  s.out() << int_field(*d, "count") << " scheduled in the range\n";
  more(s, *d, "dmq scheduled " + a.consumer);
  return exit_ok;
}

int failed(session& s, const paged_args& a) {
  auto d = pages(s, "/api/message/failed",
                 query()
                     .add("consumer", a.consumer)
                     .add_if("start", a.start)
                     .add_if("end", a.end)
                     .add_if("cmd", a.cmd)
                     .add_if("q", a.q)
                     .add_if("limit", a.limit),
                 a);
  if (!d) return s.exit();
  if (s.json()) {
    s.print_json(*d);
    return exit_ok;
  }
  table t({"MSG_ID", "TIMESTAMP", "CMD", "REQUEST_ID"});
  if (const auto* l = list_of(*d))
    for (const auto& e : *l)
      t.add({field(e, "msg_id"), time_s(int_field(e, "timestamp")), field(e, "cmd"),
             field(e, "request_id")});
  t.print(s.out());
  s.out() << int_field(*d, "count") << " failed in all\n";
  more(s, *d, "dmq failed " + a.consumer);
  return exit_ok;
}

struct ids_args {
  std::string consumer;
  std::vector<std::string> ids;
};

// settle posts {consumer, msg_ids} to path (retry, solved) and prints per id whether it
// was done: {"<id>": true|false}.
int settle(session& s, const std::string& path, const ids_args& a, const char* done,
           const char* not_done) {
  auto d = s.post(path, json::object{{"consumer", a.consumer}, {"msg_ids", id_strings(a.ids)}});
  if (!d) return s.exit();
  if (s.json()) {
    s.print_json(*d);
    return exit_ok;
  }
  table t({"MSG_ID", "RESULT"});
  for (const auto& id : a.ids) {
    const auto* v = d->is_object() ? d->as_object().if_contains(id) : nullptr;
    t.add({id, v && v->is_bool() && v->get_bool() ? done : not_done});
  }
  t.print(s.out());
  return exit_ok;
}

CLI::Validator message_id() {
  return CLI::Validator(
      [](std::string& v) {
        return is_id(v) ? std::string{} : "'" + v + "' is not a message id (a positive integer)";
      },
      "MSG_ID");
}

}  // namespace

void add_list_commands(registry& r) {
  {
    auto a = std::make_shared<pending_args>();
    auto* c =
        r.add("pending", "A consumer's pending list (failed deliveries), as the seed keeps it",
              [a](session& s) { return pending(s, *a); });
    c->add_option("CONSUMER,-c,--consumer", a->consumer, consumer_help)->required();
    c->add_option("--start", a->start, "From this time (unix seconds)");
    c->add_option("--end", a->end, "Until this time (unix seconds)");
    c->add_option("--limit", a->limit, "At most this many ids");
  }
  {
    auto a = std::make_shared<paged_args>();
    auto* c = r.add("scheduled", "A consumer's waiting messages, by due time",
                    [a](session& s) { return scheduled(s, *a); });
    c->add_option("CONSUMER,-c,--consumer", a->consumer, consumer_help)->required();
    c->add_option("--start-ms", a->start, "Due from this time (unix milliseconds)");
    c->add_option("--end-ms", a->end, "Due until this time (unix milliseconds)");
    c->add_option("--limit", a->limit, "At most this many per page (1..1000, default 100)");
    c->add_option("--cursor", a->cursor, "Go on from a previous page's next cursor");
    c->add_flag("--all", a->all, "Read every page");
  }
  {
    auto a = std::make_shared<paged_args>();
    auto* c = r.add("failed", "A consumer's failed messages, filtered by time, cmd or text",
                    [a](session& s) { return failed(s, *a); });
    c->add_option("CONSUMER,-c,--consumer", a->consumer, consumer_help)->required();
    c->add_option("--start", a->start, "Sent for this time or later (unix seconds)");
    c->add_option("--end", a->end, "Sent for this time or earlier (unix seconds)");
    c->add_option("--cmd", a->cmd, "Only this command's");
    c->add_option("-q,--search", a->q, "Only those whose request_id or params hold this text");
    c->add_option("--limit", a->limit, "At most this many per page (default 100)");
    c->add_option("--cursor", a->cursor, "Go on from a previous page's next cursor");
    c->add_flag("--all", a->all, "Read every page");
  }
  for (const char* name : {"retry", "solved"}) {
    auto a = std::make_shared<ids_args>();
    bool retry = std::string(name) == "retry";
    auto* c = r.add(name,
                    retry ? "Deliver failed messages to a consumer again, now"
                          : "Mark failed messages solved for a consumer (out of its pending list)",
                    [a, retry](session& s) {
                      return retry ? settle(s, "/api/message/retry", *a, "queued", "not queued")
                                   : settle(s, "/api/message/solved", *a, "solved", "not solved");
                    });
    c->add_option("-c,--consumer", a->consumer, consumer_help)->required();
    c->add_option("MSG_ID", a->ids, "The messages' ids")->required()->check(message_id());
  }
}

}  // namespace dmq::cli
