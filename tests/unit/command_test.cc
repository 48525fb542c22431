#include <gtest/gtest.h>

#include "redis/reply.h"

using dmq::redis::command;
using dmq::redis::reply;

TEST(command, encodes_resp_arrays_of_bulk_strings) {
  command c;
  c.push("SET", "k", std::string("a\r\nb"));
  EXPECT_EQ(c.bytes(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
  EXPECT_EQ(c.count(), 1u);
}

TEST(command, pipelines_several_commands_in_one_buffer) {
  command c;
  c.push("PING").push("INCRBY", "n", 5LL);
  EXPECT_EQ(c.count(), 2u);
  EXPECT_EQ(c.bytes(), "*1\r\n$4\r\nPING\r\n*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$1\r\n5\r\n");
}

TEST(reply, as_int_reads_integers_and_numeric_strings_only) {
  EXPECT_EQ((reply{reply::kind::integer, 7, {}, {}}.as_int()), 7);
  EXPECT_EQ((reply{reply::kind::string, 0, "12", {}}.as_int()), 12);
  EXPECT_FALSE((reply{reply::kind::string, 0, "12x", {}}.as_int()).has_value());
  EXPECT_FALSE((reply{reply::kind::nil, 0, {}, {}}.as_int()).has_value());
}
