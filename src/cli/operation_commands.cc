// The subcommands that operate consumers and dmq itself: pause, resume, replay, solve,
// jobs, stats.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "cli/command_kit.h"
#include "cli/format.h"
#include "cli/table.h"

namespace json = boost::json;

namespace dmq::cli {

namespace {

constexpr const char* consumer_help = "The consumer (its name in the command's consumer_list)";
// --wait asks for a job's progress this often.
constexpr auto job_poll = std::chrono::milliseconds(500);

struct consumer_args {
  std::string consumer;
};

int pause(session& s, const consumer_args& a, bool pausing) {
  auto d = s.post(pausing ? "/api/consumer/pause" : "/api/consumer/resume",
                  json::object{{"consumer", a.consumer}});
  if (!d) return s.exit();
  if (s.json())
    s.print_json(*d);
  else if (pausing)
    s.out() << "paused " << a.consumer << " since " << time_ms(int_field(*d, "since_ms")) << "\n";
  else
    s.out() << "resumed " << a.consumer << "\n";
  return exit_ok;
}

// progress describes a job in one line: "job 7 replay of dgfa: running, 120/500 processed,
// 118 succeeded, 200/s".
std::string progress(const json::value& j) {
  std::string out = "job " + field(j, "job_id") + " " + field(j, "kind") + " of " +
                    field(j, "consumer") + ": " + field(j, "state") + ", " + field(j, "processed") +
                    "/" + field(j, "total") + " processed, " + field(j, "succeeded") +
                    " succeeded, " + field(j, "rate") + "/s";
  if (auto e = field(j, "error"); !e.empty() && e != "-") out += ", error: " + e;
  return out;
}

struct job_args {
  std::string consumer, cmd;
  std::int64_t start = 0, end = 0, rate = 0;
  bool wait = false;
};

// follow asks for job id's progress every job_poll until it is no longer running; prints
// each change for people. Exit 0 when it ends done, 1 when it ends otherwise.
int follow(session& s, const std::string& id) {
  std::string last;
  for (;;) {  // bounded by the job, which ends (dmq finishes, fails or interrupts it)
    auto j = s.get("/api/jobs" + query().add("id", id).str());
    if (!j) return s.exit();
    auto state = field(*j, "state");
    if (!s.json()) {
      auto line = progress(*j);
      if (line != last) s.out() << line << std::endl;
      last = line;
    }
    if (state != "running") {
      if (s.json()) s.print_json(*j);
      if (state == "done") return exit_ok;
      return s.fail(exit_api_error, "job " + id + " ended " + std::move(state));
    }
    std::this_thread::sleep_for(job_poll);
  }
}

int job(session& s, const job_args& a, const char* kind) {
  json::object body{{"kind", kind}, {"consumer", a.consumer}};
  if (a.start > 0) body["start"] = a.start;
  if (a.end > 0) body["end"] = a.end;
  if (a.rate > 0) body["rate"] = a.rate;
  if (!a.cmd.empty()) body["cmd"] = a.cmd;
  auto d = s.post("/api/jobs", body);
  if (!d) return s.exit();
  auto id = field(*d, "job_id");
  if (a.wait) return follow(s, id);
  if (s.json())
    s.print_json(*d);
  else
    s.out() << id << "\n";
  return exit_ok;
}

struct jobs_args {
  std::string id, cancel;
};

int jobs(session& s, const jobs_args& a) {
  if (!a.cancel.empty()) {
    auto d = s.post("/api/jobs/cancel", json::object{{"job_id", a.cancel}});
    if (!d) return s.exit();
    if (s.json())
      s.print_json(*d);
    else
      s.out() << "job " << a.cancel << ": " << field(*d, "state") << "\n";
    return exit_ok;
  }
  auto d = s.get("/api/jobs" + query().add_if("id", a.id).str());
  if (!d) return s.exit();
  if (s.json()) {
    s.print_json(*d);
    return exit_ok;
  }
  if (!a.id.empty()) {
    s.out() << progress(*d) << "\n";
    return exit_ok;
  }
  table t({"JOB_ID", "KIND", "CONSUMER", "STATE", "PROCESSED", "SUCCEEDED", "RATE", "CREATED"});
  const auto* l = d->is_object() ? d->as_object().if_contains("jobs") : nullptr;
  if (l && l->is_array())
    for (const auto& j : l->get_array())
      t.add({field(j, "job_id"), field(j, "kind"), field(j, "consumer"), field(j, "state"),
             field(j, "processed") + "/" + field(j, "total"), field(j, "succeeded"),
             field(j, "rate") + "/s", time_ms(int_field(j, "created_ms"))});
  t.print(s.out());
  return exit_ok;
}

struct stats_args {
  std::string project;
};

// rate prints a per-second figure with two decimals (one delivery a minute is 0.02).
std::string rate(const json::value& o, const char* name) {
  if (!o.is_object()) return "-";
  const auto* v = o.as_object().if_contains(name);
  if (!v || !v->is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v->to_number<double>());
  return buf;
}

std::string ms_or_dash(const json::value& o, const char* name) {
  if (!o.is_object()) return "-";
  const auto* v = o.as_object().if_contains(name);
  if (!v || !v->is_number()) return "-";
  return duration_ms(number(*v));
}

int stats(session& s, const stats_args& a) {
  auto d = s.get("/api/stats" + query().add_if("project", a.project).str());
  if (!d) return s.exit();
  if (s.json()) {
    s.print_json(*d);
    return exit_ok;
  }
  s.out() << "at " << time_ms(int_field(*d, "at_ms")) << ", " << field(*d, "dispatchers")
          << " dispatcher(s) reporting\n";
  table t({"PROJECT", "CONSUMER", "WAITING", "DUE", "IN FLIGHT", "FAILED", "PAUSED", "OLDEST DUE",
           "DELIVERED/S", "FAILED/S", "LATE P50", "LATE P99"});
  const auto* ps = d->is_object() ? d->as_object().if_contains("projects") : nullptr;
  if (ps && ps->is_array())
    for (const auto& p : ps->get_array()) {
      const auto* cs = p.is_object() ? p.as_object().if_contains("consumers") : nullptr;
      if (!cs || !cs->is_array()) continue;
      for (const auto& c : cs->get_array()) {
        const auto* paused = c.is_object() ? c.as_object().if_contains("paused") : nullptr;
        bool is_paused = paused && paused->is_bool() && paused->get_bool();
        t.add({field(p, "project"), field(c, "consumer"), field(c, "waiting"), field(c, "due"),
               field(c, "in_flight"), field(c, "failed"),
               is_paused ? "since " + time_ms(int_field(c, "paused_since_ms")) : "no",
               ms_or_dash(c, "oldest_due_age_ms"), rate(c, "deliveries_per_s"),
               rate(c, "failures_per_s"), ms_or_dash(c, "lateness_p50_ms"),
               ms_or_dash(c, "lateness_p99_ms")});
      }
    }
  t.print(s.out());
  return exit_ok;
}

}  // namespace

void add_operation_commands(registry& r) {
  for (bool pausing : {true, false}) {
    auto a = std::make_shared<consumer_args>();
    auto* c = r.add(pausing ? "pause" : "resume",
                    pausing ? "Pause a consumer's deliveries on every dispatcher (those in flight "
                              "finish)"
                            : "Resume a paused consumer's deliveries where they stopped",
                    [a, pausing](session& s) { return pause(s, *a, pausing); });
    c->add_option("CONSUMER,-c,--consumer", a->consumer, consumer_help)->required();
  }
  for (const char* kind : {"replay", "solve"}) {
    auto a = std::make_shared<job_args>();
    bool replay = std::string(kind) == "replay";
    auto* c = r.add(kind,
                    replay ? "Deliver a consumer's failed messages again, as a job inside dmq at "
                             "a given rate; prints the job's id"
                           : "Mark a consumer's failed messages solved, as a job inside dmq; "
                             "prints the job's id",
                    [a, kind](session& s) { return job(s, *a, kind); });
    c->add_option("CONSUMER,-c,--consumer", a->consumer, consumer_help)->required();
    c->add_option("--start", a->start, "Only those sent for this time or later (unix seconds)");
    c->add_option("--end", a->end, "Only those sent for this time or earlier (unix seconds)");
    c->add_option("--cmd", a->cmd, "Only those of this command");
    c->add_option("--rate", a->rate, "Messages per second (1..10000, default 200)");
    c->add_flag("--wait", a->wait,
                "Follow the job's progress until it ends (exit 0 if it ends done, else 1)");
  }
  {
    auto a = std::make_shared<jobs_args>();
    auto* c = r.add("jobs", "The bulk jobs (replay, solve), newest first, or one of them",
                    [a](session& s) { return jobs(s, *a); });
    auto* id = c->add_option("JOB_ID", a->id, "Only this job");
    c->add_option("--cancel", a->cancel, "Cancel this running job")->excludes(id);
  }
  {
    auto a = std::make_shared<stats_args>();
    auto* c = r.add("stats",
                    "Per project and consumer: waiting, due, in flight, failed, paused, oldest "
                    "due, rates and lateness over the last minute",
                    [a](session& s) { return stats(s, *a); });
    c->add_option("--project", a->project, "Only this project");
  }
}

}  // namespace dmq::cli
