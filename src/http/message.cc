#include "http/message.h"

#include <boost/url/parse.hpp>

namespace dmq::http {

std::string_view request::path() const {
  auto q = target.find('?');
  return std::string_view(target).substr(0, q);
}

std::string request::query_param(std::string_view name, bool* present) const {
  if (present) *present = false;
  auto u = boost::urls::parse_origin_form(target);
  if (!u) return {};
  for (auto p : u->params()) {
    if (p.key == name) {
      if (present) *present = true;
      return std::string(p.value);
    }
  }
  return {};
}

}  // namespace dmq::http
