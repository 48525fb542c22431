#include "redis/reply.h"

#include <charconv>

namespace dmq::redis {

std::optional<long long> reply::as_int() const {
  if (type == kind::integer) return integer;
  if (type != kind::string && type != kind::status) return std::nullopt;
  long long v = 0;
  auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), v);
  if (ec != std::errc() || p != str.data() + str.size()) return std::nullopt;
  return v;
}

command& command::begin(std::size_t n) {
  buf_ += '*';
  buf_ += std::to_string(n);
  buf_ += "\r\n";
  ++count_;
  return *this;
}

command& command::arg(std::string_view a) {
  buf_ += '$';
  buf_ += std::to_string(a.size());
  buf_ += "\r\n";
  buf_.append(a);
  buf_ += "\r\n";
  return *this;
}

command& command::arg(long long v) {
  return arg(std::string_view(std::to_string(v)));
}
command& command::arg(unsigned long long v) {
  return arg(std::string_view(std::to_string(v)));
}

}  // namespace dmq::redis
