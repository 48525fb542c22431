// access: who a request comes from (its address, and its bearer token if it carries one)
// and what that caller may do. docs/security.md, "Who may call what":
//   - sending (/single, /batch) and managing (status, detail, pending, solved, retry,
//     cancel) the messages of a project: a project with tokens needs one of them, and an
//     address in its allow_ip too if that is set; a project without tokens needs an
//     address in its allow_ip (the seed's rule);
//   - an admin credential (admin.allow_ip or admin.tokens) manages every project;
//   - /metrics: metrics.allow_ip (default loopback), metrics.tokens, or an admin credential.
// Tokens are kept and compared as SHA-256 digests, each in constant time.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"
#include "http/message.h"
#include "ingest/caller_ip.h"
#include "util/crypto.h"

namespace dmq::ingest {

struct credential {
  caller from;
  std::optional<util::sha256_digest> token;  // digest of the Authorization: Bearer token
};

// identify returns the credential of req, or why its forwarding headers cannot be believed.
std::variant<credential, std::string> identify(const http::request& req,
                                               const config::settings& cfg);

// bearer_token returns the token of an "Authorization: Bearer TOKEN" value; empty if none.
std::string_view bearer_token(std::string_view authorization);

// may_act_for says whether who may send and manage the messages of project p.
bool may_act_for(const config::producer& p, const credential& who);
// why_not says why who may not send messages of p (which credential is missing): for
// /single and /batch, whose refusals the seed also explained.
std::string why_not(const config::producer& p, const credential& who);

// is_admin says whether who holds an admin credential.
bool is_admin(const config::settings& cfg, const credential& who);
// may_manage says whether who may manage the messages of project.
bool may_manage(const config::settings& cfg, std::string_view project, const credential& who);
// managed_projects returns the projects who may manage, in product_list order.
std::vector<std::string> managed_projects(const config::settings& cfg, const credential& who);
// may_read_metrics says whether who may read /metrics.
bool may_read_metrics(const config::settings& cfg, const credential& who);

// metrics_refusal returns the answer refusing req /metrics (403, code 103), or nullopt when
// its caller may read them; the API and dmq server's own port both ask it.
std::optional<http::response> metrics_refusal(const http::request& req,
                                              const config::settings& cfg);

// exposure_warnings returns what to warn about at start: the API listens beyond loopback
// while a project relies on addresses alone (or allows every address), or tokens would
// cross the network in clear text.
std::vector<std::string> exposure_warnings(const config::settings& cfg);

}  // namespace dmq::ingest
