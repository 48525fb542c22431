// ports: free loopback ports and bounded waiting, for tests.
#pragma once

#include <chrono>
#include <functional>

namespace dmq::test {

// free_port returns a TCP port on 127.0.0.1 that nothing uses right now, outside the
// kernel's ephemeral range (so no outgoing connection can take it meanwhile) and claimed
// for this process (so no other test process is handed it for the next minutes).
int free_port();

// listening_pid_has says whether process pid holds the socket listening on 127.0.0.1:port
// (or on any address), from /proc: that the server answering on a port is the one the test
// started, not another test's.
bool listening_pid_has(int pid, int port);

// wait_until polls cond every few milliseconds until it holds or bound passes;
// returns whether it held. Tests wait on conditions, never on bare sleeps.
bool wait_until(const std::function<bool()>& cond,
                std::chrono::milliseconds bound = std::chrono::seconds(10));

}  // namespace dmq::test
