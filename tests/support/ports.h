// ports: free loopback ports and bounded waiting, for tests.
#pragma once

#include <chrono>
#include <functional>

namespace dmq::test {

// free_port returns a TCP port on 127.0.0.1 that nothing uses right now, outside the
// kernel's ephemeral range (so no outgoing connection can take it meanwhile).
int free_port();

// wait_until polls cond every few milliseconds until it holds or bound passes;
// returns whether it held. Tests wait on conditions, never on bare sleeps.
bool wait_until(const std::function<bool()>& cond,
                std::chrono::milliseconds bound = std::chrono::seconds(10));

}  // namespace dmq::test
