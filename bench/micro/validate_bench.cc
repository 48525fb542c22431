// validate_bench: checking one producer's message (ingest/validate.h) against a
// configuration like bench/'s: fields and types, the producer and caller, the command.
#include <benchmark/benchmark.h>

#include <boost/json/parse.hpp>

#include "ingest/validate.h"
#include "samples.h"

using namespace dmq;

namespace {

config::settings bench_settings() {
  config::settings s;
  for (const char* project : {"sds", "svs"}) {
    config::producer p;
    p.project = project;
    p.allow_ip = {*util::ip_range::parse("127.0.0.1")};
    s.producers.push_back(p);
  }
  config::command c;
  c.project = "svs";
  c.cmd = "svs:notice:user";
  config::consumer wet;
  wet.name = "wet234";
  wet.host = "127.0.0.1:1";
  wet.path = "/api/mytest/test/noticeuser";
  c.consumers = {wet};
  c.consumer_names = {"wet234"};
  s.commands = {c};
  return s;
}

void BM_validate_message(benchmark::State& st) {
  const auto cfg = bench_settings();
  const ingest::credential who{{*util::parse_ip("127.0.0.1"), "127.0.0.1"}, {}};
  const auto v = boost::json::parse(micro::message_json(0));
  for (auto _ : st) {
    auto r = ingest::validate_message(v, cfg, who, micro::now_ms);
    if (!std::holds_alternative<ingest::accepted>(r))
      st.SkipWithError(std::get<ingest::refusal>(r).text.c_str());
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_validate_message);

// A refusal (missing bucket): the path of bad input.
void BM_validate_refused(benchmark::State& st) {
  const auto cfg = bench_settings();
  const ingest::credential who{{*util::parse_ip("127.0.0.1"), "127.0.0.1"}, {}};
  auto v = boost::json::parse(micro::message_json(0));
  v.as_object().erase("bucket");
  for (auto _ : st) benchmark::DoNotOptimize(ingest::validate_message(v, cfg, who, micro::now_ms));
}
BENCHMARK(BM_validate_refused);

}  // namespace
