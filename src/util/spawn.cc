#include "util/spawn.h"

#include <cstdio>
#include <cstdlib>

namespace dmq::util {

namespace {

fatal_handler& handler() {
  static fatal_handler h;
  return h;
}

std::uint64_t failures = 0;  // dmq is single-threaded per process

}  // namespace

void set_fatal_handler(fatal_handler h) {
  handler() = std::move(h);
}

std::uint64_t spawn_failures() {
  return failures;
}

void report_spawn_failure(const char* what, const std::exception_ptr& e) {
  std::string why = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    why = x.what();
  } catch (...) {
  }
  ++failures;
  spdlog::critical("bug: {} ended by an exception: {}", what, why);
  if (auto& h = handler()) {
    h(what, why);
    return;
  }
  spdlog::default_logger()->flush();
  std::fprintf(stderr, "dmq: bug: %s ended by an exception: %s; aborting\n", what, why.c_str());
  std::abort();
}

}  // namespace dmq::util
