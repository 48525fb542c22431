// consumer_endpoint: a scripted HTTP/1.1 consumer (an "imposter") on a real loopback
// socket, for delivery tests. It listens on a free 127.0.0.1 port, serves each connection
// in its own thread (keep-alive, Content-Length bodies), records every request it reads,
// and answers as the test scripted it: 200 by default, or per path prefix, msg_id or body
// substring a status, a delay, a connection reset, optionally only for the first k
// attempts of a message.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace dmq::test {

// consumer_request: one request as the endpoint read it, and how it was answered.
struct consumer_request {
  std::int64_t arrived_ms = 0;   // system clock, when the request had been read whole
  std::int64_t answered_ms = 0;  // when the answer was written or the socket reset; 0: not yet
  std::string method;
  std::string target;                          // path and query, as sent
  std::string path;                            // target without its query
  std::uint64_t msg_id = 0;                    // query msg_id; 0 if absent
  int retry = -1;                              // query retry; -1 if absent
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  int status = 0;  // status answered; 0 for a reset (or not answered yet)

  // header returns the value of a header (name in any case), "" if absent.
  std::string header(const std::string& name) const;
};

// answer: how to answer a request.
struct answer {
  int status = 200;
  int delay_ms = 0;    // wait this long before answering (or resetting)
  bool reset = false;  // close the connection with a RST instead of answering
  int times = -1;      // a rule with this answer applies to the first `times` requests of
                       // each (path, msg_id); -1: to all of them

  static answer with_status(int s) { return {s, 0, false, -1}; }
  static answer slow(int ms, int s = 200) { return {s, ms, false, -1}; }
  static answer connection_reset() { return {0, 0, true, -1}; }
  // fail_times: 500 for the first k attempts of each message, then the next rule.
  static answer fail_times(int k) { return {500, 0, false, k}; }
  answer first(int k) const {
    auto a = *this;
    a.times = k;
    return a;
  }
};

class consumer_endpoint {
 public:
  consumer_endpoint();  // listens at once; throws if it cannot
  ~consumer_endpoint();
  consumer_endpoint(const consumer_endpoint&) = delete;
  consumer_endpoint& operator=(const consumer_endpoint&) = delete;

  int port() const { return port_; }

  // Rules: the most recently added rule that matches a request (and has uses left for its
  // path and msg_id) decides the answer; if none does, the default (200 at first). A default
  // with times = k answers the first k requests of each (path, msg_id), then 200.
  void set_default(answer a);
  // when_path: the request's path starts with prefix (and its body contains body_contains).
  void when_path(std::string prefix, answer a, std::string body_contains = "");
  void when_id(std::uint64_t id, answer a);         // query msg_id == id
  void when_body(std::string substring, answer a);  // the body contains substring
  void fail_times(std::uint64_t id, int k) { when_id(id, answer::fail_times(k)); }
  void clear_rules();

  // requests returns a snapshot of the requests read so far (whose path starts with
  // prefix), in arrival order.
  std::vector<consumer_request> requests(const std::string& prefix = "") const;
  // for_id returns the requests of one message (to paths starting with prefix).
  std::vector<consumer_request> for_id(std::uint64_t id, const std::string& prefix = "") const;
  std::size_t count() const;
  // distinct returns how many different msg_ids arrived at path prefix.
  std::size_t distinct(const std::string& prefix = "") const;
  // ids_received returns every msg_id that arrived (at path prefix), once per arrival.
  std::multiset<std::uint64_t> ids_received(const std::string& prefix = "") const;

  // Bounded waits (no polling: woken by every request read and answer written).
  bool wait_for_count(std::size_t n, std::chrono::milliseconds bound);
  // wait_for_distinct sums the distinct msg_ids of each path starting with prefix.
  bool wait_for_distinct(const std::string& prefix, std::size_t n, std::chrono::milliseconds bound);
  // wait_until waits until pred(requests so far) holds; pred runs under the endpoint's lock.
  bool wait_until(const std::function<bool(const std::vector<consumer_request>&)>& pred,
                  std::chrono::milliseconds bound);

  // stop closes the listener and every connection and joins the threads (the destructor
  // calls it); delayed answers are cut short.
  void stop();

 private:
  struct rule {
    std::string path_prefix;
    std::optional<std::uint64_t> id;
    std::optional<std::string> body;
    answer a;
    std::map<std::string, int> used;  // "<path>#<id>" -> requests it answered
  };
  struct connection {
    int fd = -1;
    std::thread thread;
    bool done = false;
  };

  void accept_loop();
  void serve(connection* c);
  answer decide(const consumer_request& r);  // under mu_
  void add_rule(rule r);

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool stopping_ = false;
  answer default_{};
  std::map<std::string, int> default_used_;  // "<path>#<id>" -> requests it answered
  std::vector<rule> rules_;
  std::vector<consumer_request> requests_;
  std::map<std::string, std::set<std::uint64_t>> seen_;  // path -> distinct msg_ids
  std::list<std::unique_ptr<connection>> connections_;
};

}  // namespace dmq::test
