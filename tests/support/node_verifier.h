// node_verifier: tests/node/verify_consumer.js run by Node.js for one test: a webhook
// consumer on loopback that verifies each delivery with the official `standardwebhooks`
// npm package and logs what it saw (one JSON line per delivery), killed when the test ends.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dmq::test {

// node_route: how the deliveries to one path prefix ("/name") are checked.
struct node_route {
  std::vector<std::string> secrets;  // whsec_...: one verifier each; all must accept
  bool tamper = false;               // change the body by a byte before verifying
  int fail_first = 0;                // answer 500 to the first n deliveries of each webhook-id
};

// node_delivery: one delivery as the verifier saw it.
struct node_delivery {
  std::string route;
  std::optional<std::string> webhook_id, webhook_timestamp, webhook_signature;
  std::string message_id, attempt, body;
  bool verified = false;
  std::vector<std::string> reasons;  // per verifier: "" when it accepted, else the library's
  int status = 0;                    // what the verifier answered
  long long received_s = 0;          // its wall clock
};

class node_verifier {
 public:
  // why_unavailable says why Node.js or the package cannot run ("" if they can).
  static std::string why_unavailable();

  // starts node; throws if it is not listening within 10 s.
  explicit node_verifier(std::map<std::string, node_route> routes);
  ~node_verifier();
  node_verifier(const node_verifier&) = delete;
  node_verifier& operator=(const node_verifier&) = delete;

  int port() const { return port_; }
  // deliveries returns what it received so far, in order.
  std::vector<node_delivery> deliveries() const;
  // of returns the deliveries to route, in order.
  std::vector<node_delivery> of(const std::string& route) const;
  // log returns what node wrote to stdout and stderr.
  std::string log() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// node_binary returns the node to run: /usr/bin/node, else the first in PATH ("" if none).
std::string node_binary();

}  // namespace dmq::test
