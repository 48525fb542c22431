// report: a dispatcher's report, which every dispatcher writes every 2 s to
// <prefix>:dispatcher:<id> (docs/storage.md, "Dispatcher reports"), for GET /api/stats.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dispatch/consumer_worker.h"

namespace dmq::dispatch {

// report_json returns the report of dispatcher id at at_ms (Redis's clock) on its workers,
// whose last minute is summed at now_s (recent_window's clock):
// {"id","at_ms","consumers":{"<consumer>":{"project","in_flight","delivered_60s",
// "failed_60s","paused","lateness_buckets":[...],"lateness_edges_ms":[...]}}}
std::string report_json(const std::string& id, std::int64_t at_ms, std::int64_t now_s,
                        const std::vector<std::unique_ptr<consumer_worker>>& workers);

// dispatcher_id returns "<host name>:<pid>".
std::string dispatcher_id();

}  // namespace dmq::dispatch
