// record_bench: a message's record, the STRING each save writes and each claim and status
// read (storage/record.h): encoding a new record, decoding it, re-encoding a changed one.
#include <benchmark/benchmark.h>

#include <array>

#include "samples.h"
#include "storage/record.h"

using namespace dmq;

namespace {

const std::array<std::string, 2> two_consumers{"dgfa", "fghyds"};

void BM_encode_record(benchmark::State& st) {
  auto m = micro::message(0);
  std::span<const std::string> consumers(two_consumers.data(),
                                         static_cast<std::size_t>(st.range(0)));
  for (auto _ : st) benchmark::DoNotOptimize(storage::encode_record(m, micro::now_ms, consumers));
}
BENCHMARK(BM_encode_record)->Arg(1)->Arg(2);

void BM_decode_record(benchmark::State& st) {
  auto s = storage::encode_record(micro::message(0), micro::now_ms,
                                  {two_consumers.data(), static_cast<std::size_t>(st.range(0))});
  for (auto _ : st) benchmark::DoNotOptimize(storage::decode_record(s));
  st.SetBytesProcessed(st.iterations() * static_cast<std::int64_t>(s.size()));
}
BENCHMARK(BM_decode_record)->Arg(1)->Arg(2);

// A status change as the dispatcher's scripts make it: decode, set a consumer done, encode.
void BM_record_status_change(benchmark::State& st) {
  auto s = storage::encode_record(micro::message(0), micro::now_ms, two_consumers);
  for (auto _ : st) {
    auto r = storage::decode_record(s);
    r->consumers[0].status = "done";
    r->consumers[0].attempts = 1;
    benchmark::DoNotOptimize(storage::encode(*r));
  }
}
BENCHMARK(BM_record_status_change);

}  // namespace
