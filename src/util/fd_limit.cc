#include "util/fd_limit.h"

#include <sys/resource.h>

#include <algorithm>

namespace dmq::util {

std::string raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return {};
  auto want = r.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : std::min<rlim_t>(r.rlim_max, 1 << 20);
  if (r.rlim_cur >= want) return {};
  auto was = r.rlim_cur;
  r.rlim_cur = want;
  if (::setrlimit(RLIMIT_NOFILE, &r) != 0) return {};
  return "open files limit raised from " + std::to_string(was) + " to " + std::to_string(want);
}

}  // namespace dmq::util
