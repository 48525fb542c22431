// util::spawn: an exception that ends a detached coroutine is never silent.
#include "util/spawn.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <stdexcept>

namespace dmq::util {
namespace {

boost::asio::awaitable<void> throws() {
  throw std::runtime_error("boom");
  co_return;
}

boost::asio::awaitable<int> returns() {
  co_return 7;
}

TEST(spawn, an_exception_reaches_the_fatal_handler_and_is_counted) {
  boost::asio::io_context ioc;
  std::string what, why;
  set_fatal_handler([&](const std::string& w, const std::string& y) {
    what = w;
    why = y;
  });
  auto before = spawn_failures();
  spawn(ioc, throws(), "a test coroutine");
  spawn(ioc, returns(), "a coroutine that returns");
  ioc.run();
  set_fatal_handler(nullptr);
  EXPECT_EQ(what, "a test coroutine");
  EXPECT_EQ(why, "boom");
  EXPECT_EQ(spawn_failures(), before + 1) << "a coroutine that returns is no failure";
}

TEST(spawn_death, without_a_handler_the_process_aborts_and_says_why) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        boost::asio::io_context ioc;
        spawn(ioc, throws(), "a doomed coroutine");
        ioc.run();
      },
      "a doomed coroutine ended by an exception: boom");
}

}  // namespace
}  // namespace dmq::util
