// request_bench: reading a producer's request (http/request_reader.h: Beast's parser within
// the server's limits, then http::request) and parsing its body as JSON (ingest/json_body.h,
// into a monotonic arena as the handlers do): POST /api/message/single and /batch of 100.
#include <benchmark/benchmark.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <cstring>

#include "http/request_reader.h"
#include "ingest/json_body.h"
#include "samples.h"

using namespace dmq;

namespace {

std::string post(std::string_view path, const std::string& body) {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// read_request: the bytes of one request, read as the server reads them.
void read_request(benchmark::State& st, const std::string& wire) {
  for (auto _ : st) {
    boost::beast::flat_buffer buf;
    auto mb = buf.prepare(wire.size());
    std::memcpy(mb.data(), wire.data(), wire.size());
    buf.commit(wire.size());
    http::request_reader rd(1 << 20);
    auto ec = rd.feed(buf);
    if (!ec && !rd.done()) ec = rd.feed(buf);
    if (ec || !rd.done()) st.SkipWithError("the request did not parse");
    benchmark::DoNotOptimize(rd.release());
  }
  st.SetBytesProcessed(st.iterations() * static_cast<std::int64_t>(wire.size()));
}

void BM_read_request_single(benchmark::State& st) {
  read_request(st, post("/api/message/single", micro::message_json(0)));
}
BENCHMARK(BM_read_request_single);

void BM_read_request_batch(benchmark::State& st) {
  read_request(st, post("/api/message/batch", micro::batch_json(static_cast<int>(st.range(0)))));
}
BENCHMARK(BM_read_request_batch)->Arg(100);

void parse(benchmark::State& st, const std::string& body) {
  std::string why;
  for (auto _ : st) {
    boost::json::monotonic_resource arena;
    auto v = ingest::parse_body(body, why, &arena);
    if (!v) st.SkipWithError(why.c_str());
    benchmark::DoNotOptimize(v);
  }
  st.SetBytesProcessed(st.iterations() * static_cast<std::int64_t>(body.size()));
}

void BM_parse_body_single(benchmark::State& st) {
  parse(st, micro::message_json(0));
}
BENCHMARK(BM_parse_body_single);

void BM_parse_body_batch(benchmark::State& st) {
  parse(st, micro::batch_json(static_cast<int>(st.range(0))));
  st.SetItemsProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_parse_body_batch)->Arg(100);

}  // namespace
