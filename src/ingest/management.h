// management: who may call the management endpoints (status, detail, pending, ... and the
// operators' ones) and how they name a consumer; shared by manage.cc, inspect.cc and
// operate.cc. The rules themselves are in access.h.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "config/config.h"
#include "http/message.h"
#include "ingest/access.h"
#include "ingest/validate.h"

namespace dmq::ingest {

struct consumer_ref {
  const config::command* command = nullptr;
  const config::consumer* consumer = nullptr;
};

// find_consumer reads the "consumer" query parameter or body field.
std::variant<consumer_ref, refusal> find_consumer(const config::settings& cfg,
                                                  const std::string& name, bool present);

// query_int reads an optional integer query parameter: fallback when absent or empty,
// nullopt (and ok false) when it is not an integer.
std::optional<std::int64_t> query_int(const http::request& req, std::string_view name,
                                      std::int64_t fallback, bool& ok);

// not_allowed refuses a caller who may not manage what it asked for. It names the project
// (from the configuration), never whether the message asked for exists.
http::response not_allowed(std::string_view project);

// manager returns the credential of a caller who may manage some project, or the refusal.
std::variant<credential, http::response> manager(const http::request& req,
                                                 const config::settings& cfg);

// managed_consumer reads the consumer a management call names, and checks that who may
// manage its project; the refusal to send back otherwise.
std::variant<consumer_ref, http::response> managed_consumer(const config::settings& cfg,
                                                            const credential& who,
                                                            const std::string& name, bool present);

// named_consumer: a consumer as a request names it, and where it is configured.
struct named_consumer {
  consumer_ref ref;
  std::string name;
};

// queried_consumer reads the consumer a GET names in its "consumer" query parameter, for a
// caller who may manage its project (manager, then managed_consumer); else the refusal.
std::variant<named_consumer, http::response> queried_consumer(const http::request& req,
                                                              const config::settings& cfg);

// attempt_json returns one attempt history entry (stored as JSON text) as JSON (inspect.cc).
boost::json::value attempt_json(const std::string& entry);

}  // namespace dmq::ingest
