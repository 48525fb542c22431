// envelope_bench: the API's response body (ingest/envelope.h): a /single answer (one id), a
// /batch answer (100 ids), a refusal, and the UTF-8 check every envelope's text goes through.
#include <benchmark/benchmark.h>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "ingest/envelope.h"
#include "samples.h"

using namespace dmq;

namespace {

void BM_envelope_single(benchmark::State& st) {
  boost::json::value data = micro::message(0).id;  // ids are JSON integers
  for (auto _ : st) benchmark::DoNotOptimize(ingest::envelope(ingest::errc::ok, "", data));
}
BENCHMARK(BM_envelope_single);

void BM_envelope_batch(benchmark::State& st) {
  boost::json::array ids;
  for (int i = 0; i < st.range(0); ++i) ids.emplace_back(micro::message(i).id);
  boost::json::value data = std::move(ids);
  for (auto _ : st) benchmark::DoNotOptimize(ingest::envelope(ingest::errc::ok, "", data));
  st.SetItemsProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_envelope_batch)->Arg(100);

void BM_envelope_refusal(benchmark::State& st) {
  std::string why = "bucket: must be a non-empty string";
  boost::json::value data = boost::json::string(why);
  for (auto _ : st) benchmark::DoNotOptimize(ingest::envelope(ingest::errc::invalid, why, data));
}
BENCHMARK(BM_envelope_refusal);

void BM_is_utf8_params(benchmark::State& st) {
  auto p = micro::params(0);
  for (auto _ : st) benchmark::DoNotOptimize(ingest::is_utf8(p));
  st.SetBytesProcessed(st.iterations() * static_cast<std::int64_t>(p.size()));
}
BENCHMARK(BM_is_utf8_params);

}  // namespace
