// reply_reader_test: RESP read by the connection's reader (redis/reply.h new_reader), in
// whatever pieces the socket gives.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>
#include <vector>

#include "redis/reply.h"

using dmq::redis::reply;

namespace {

// read feeds bytes in pieces of piece bytes and returns the replies read; failed is set if
// the reader refused them.
std::vector<reply> read(const std::string& bytes, std::size_t piece, bool* failed = nullptr,
                        reply* partial = nullptr) {
  std::vector<reply> out;
  reply top;
  auto* rd = dmq::redis::new_reader(&top);
  if (failed) *failed = false;
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    auto part = bytes.substr(at, piece);
    redisReaderFeed(rd, part.data(), part.size());
    void* r = nullptr;
    while (redisReaderGetReply(rd, &r) == REDIS_OK && r) {
      out.push_back(std::move(top));
      top = reply{};
    }
    if (rd->err && failed) *failed = true;
  }
  if (partial) *partial = std::move(top);
  redisReaderFree(rd);
  return out;
}

}  // namespace

TEST(reply_reader, nested_arrays_are_read_whole_in_any_pieces) {
  // An array of 1500 (more than is reserved up front), each element an array of two.
  std::string bytes = "*1500\r\n";
  for (int i = 0; i < 1500; ++i)
    bytes += "*2\r\n$" + std::to_string(std::to_string(i).size()) + "\r\n" + std::to_string(i) +
             "\r\n:" + std::to_string(i) + "\r\n";
  bytes += "+OK\r\n";
  for (std::size_t piece : {bytes.size(), std::size_t{1}, std::size_t{7}}) {
    SCOPED_TRACE(piece);
    auto got = read(bytes, piece);
    ASSERT_EQ(got.size(), 2u);
    ASSERT_EQ(got[0].elements.size(), 1500u);
    for (int i = 0; i < 1500; ++i) {
      const auto& e = got[0].elements[i];
      ASSERT_EQ(e.elements.size(), 2u);
      EXPECT_EQ(e.elements[0].str, std::to_string(i));
      EXPECT_EQ(e.elements[1].as_int(), i);
    }
    EXPECT_EQ(got[1].type, reply::kind::status);
    EXPECT_EQ(got[1].str, "OK");
  }
}

TEST(reply_reader, a_huge_announced_array_reserves_nothing_huge_up_front) {
  reply partial;
  bool failed = true;
  auto got = read("*100000000\r\n:1\r\n", 64, &failed, &partial);
  EXPECT_FALSE(failed);
  EXPECT_TRUE(got.empty());  // still waiting for the rest
  ASSERT_EQ(partial.elements.size(), 1u);
  EXPECT_LE(partial.elements.capacity(), 1024u);
}

TEST(reply_reader, bytes_that_are_not_resp_fail_the_reader) {
  bool failed = false;
  auto got = read("+OK\r\n?what\r\n", 64, &failed);
  EXPECT_TRUE(failed);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].str, "OK");
}
