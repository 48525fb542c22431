#include "cli/session.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <ostream>

namespace json = boost::json;

namespace dmq::cli {

int exit_for(int http_status, std::int64_t code) {
  if (http_status == 403 || code == 103) return exit_not_allowed;
  if (code == 114) return exit_not_found;
  if (code != 0) return exit_api_error;
  return exit_ok;
}

std::string percent_encoded(const std::string& s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

query& query::add(const char* name, const std::string& value) {
  text_ += text_.empty() ? '?' : '&';
  text_ += name;
  text_ += '=';
  text_ += percent_encoded(value);
  return *this;
}

int session::fail(int code, const std::string& why) {
  err_ << "dmq: " << why << "\n";
  exit_ = code;
  return code;
}

void session::print_json(const json::value& v) {
  out_ << json::serialize(v) << "\n";
}

std::optional<json::value> session::call(const std::string& method, const std::string& target,
                                         const json::value* body) {
  auto r = http_call(conn_.at, conn_.options, method, target, body ? json::serialize(*body) : "");
  if (r.status == 0) {
    fail(exit_unreachable, "cannot reach dmq at " + conn_.url + ": " + r.error);
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  const json::object* env = !ec && v.is_object() ? &v.get_object() : nullptr;
  const json::value* code = env ? env->if_contains("code") : nullptr;
  if (!code || !code->is_number()) {
    auto excerpt = r.body.substr(0, 200);
    if (r.status == 403) {
      fail(exit_not_allowed, "HTTP 403 from " + conn_.url + ": " + excerpt);
      return std::nullopt;
    }
    fail(exit_unreachable, method + " " + conn_.url + target + ": HTTP " +
                               std::to_string(r.status) + " without dmq's JSON envelope" +
                               (excerpt.empty() ? "" : ": " + excerpt));
    return std::nullopt;
  }
  auto c = code->to_number<std::int64_t>();
  auto rc = exit_for(r.status, c);
  if (rc == exit_ok) {
    const auto* data = env->if_contains("data");
    return data ? *data : json::value(nullptr);
  }
  std::string message;
  if (const auto* m = env->if_contains("message"); m && m->is_string()) message = m->get_string();
  if (message.empty()) message = "error";
  std::string why =
      message + " (code " + std::to_string(c) + ", HTTP " + std::to_string(r.status) + ")";
  if (rc == exit_not_allowed && conn_.options.token.empty())
    why += "; no token was sent: give --token, --token-file or DMQ_TOKEN";
  if (c == 120)
    why +=
        "; this dmq does not serve " + target.substr(0, target.find('?')) + " (an older version?)";
  fail(rc, why);
  return std::nullopt;
}

}  // namespace dmq::cli
