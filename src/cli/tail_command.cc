// tail: follow deliveries and failures live, one line per attempt's outcome, from
// GET /api/events (a cursor into dmq's events stream, asked about every 500 ms). Ctrl-C
// ends it with exit 0; --count and --for end it too (for scripts and tests).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

#include "cli/command_kit.h"
#include "cli/format.h"

namespace json = boost::json;

namespace dmq::cli {

namespace {

constexpr auto poll_every = std::chrono::milliseconds(500);
constexpr auto nap = std::chrono::milliseconds(50);  // how soon Ctrl-C is seen while waiting

volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_interrupt(int) {
  interrupted = 1;
}

struct tail_args {
  std::string consumer;
  std::int64_t count = 0;  // 0: no limit
  double for_s = 0;        // 0: no limit
  int limit = 100;
};

// line describes an event for people:
// "2026-12-05T01:40:00.123Z sds/dgfa 1234567 #2 retry http=503 12ms"
std::string line(const json::value& e) {
  std::string out = time_ms(int_field(e, "t")) + " " + field(e, "project") + "/" +
                    field(e, "consumer") + " " + field(e, "msg_id") + " #" + field(e, "attempt") +
                    " " + field(e, "outcome");
  if (auto http = int_field(e, "http_status"); http != 0) out += " http=" + std::to_string(http);
  if (auto err = attempt_error(e); !err.empty()) out += " error=" + err;
  return out + " " + duration_ms(int_field(e, "duration_ms"));
}

int tail(session& s, const tail_args& a) {
  interrupted = 0;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  using clock = std::chrono::steady_clock;
  auto until =
      a.for_s > 0
          ? clock::now() + std::chrono::milliseconds(static_cast<std::int64_t>(a.for_s * 1000))
          : clock::time_point::max();
  std::string cursor;  // "": from now on
  std::int64_t printed = 0;
  // Each round asks once and then waits: it ends by Ctrl-C, --count, --for or an error.
  while (!interrupted && clock::now() < until) {
    auto d = s.get("/api/events" + query()
                                       .add("cursor", cursor)
                                       .add("limit", std::to_string(a.limit))
                                       .add_if("consumer", a.consumer)
                                       .str());
    if (!d) return interrupted ? exit_ok : s.exit();
    std::size_t got = 0;
    if (const auto* ev = d->is_object() ? d->as_object().if_contains("events") : nullptr;
        ev && ev->is_array()) {
      got = ev->get_array().size();
      for (const auto& e : ev->get_array()) {
        if (s.json())
          s.print_json(e);
        else
          s.out() << line(e) << "\n";
        if (a.count > 0 && ++printed >= a.count) {
          s.out().flush();
          return exit_ok;
        }
      }
      s.out().flush();
    }
    if (auto next = field(*d, "next_cursor"); next != "-" && !next.empty()) cursor = next;
    // A full page means more are waiting: ask again at once.
    if (got >= static_cast<std::size_t>(a.limit)) continue;
    auto wake = std::min(clock::now() + poll_every, until);
    while (!interrupted && clock::now() < wake) std::this_thread::sleep_for(nap);
  }
  return exit_ok;
}

}  // namespace

void add_tail_command(registry& r) {
  auto a = std::make_shared<tail_args>();
  auto* c = r.add("tail", "Follow deliveries and failures live, one line per attempt, until Ctrl-C",
                  [a](session& s) { return tail(s, *a); });
  c->add_option("CONSUMER,-c,--consumer", a->consumer, "Only this consumer's");
  c->add_option("--count", a->count, "Stop after this many events")->check(CLI::NonNegativeNumber);
  c->add_option("--for", a->for_s, "Stop after this many seconds")->check(CLI::NonNegativeNumber);
  c->add_option("--limit", a->limit, "Events per request (1..1000)")->check(CLI::Range(1, 1000));
}

}  // namespace dmq::cli
