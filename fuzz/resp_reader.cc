// resp_reader: bytes from Redis, read by the connection's reader (redis/reply.h new_reader:
// hiredis's RESP parser building dmq's replies). Fed at once and in pieces of 3 bytes, as a
// socket may deliver them, it must read the same replies as hiredis's own reader (its
// redisReply objects, converted), and fail where that one fails (unless it announces an array
// too large for that reader: announces_huge_array).
#include <hiredis/hiredis.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "redis/reply.h"

using dmq::redis::reply;

namespace {

// readings: the replies read from some bytes, and whether the reader then failed.
struct readings {
  std::vector<reply> replies;
  bool failed = false;
};

bool same(const reply& a, const reply& b) {
  if (a.type != b.type || a.integer != b.integer || a.str != b.str ||
      a.elements.size() != b.elements.size())
    return false;
  for (std::size_t i = 0; i < a.elements.size(); ++i)
    if (!same(a.elements[i], b.elements[i])) return false;
  return true;
}

bool same(const readings& a, const readings& b) {
  if (a.failed != b.failed || a.replies.size() != b.replies.size()) return false;
  for (std::size_t i = 0; i < a.replies.size(); ++i)
    if (!same(a.replies[i], b.replies[i])) return false;
  return true;
}

// touch reads every part of r as the store does.
void touch(const reply& r) {
  (void)r.as_int();
  for (const auto& e : r.elements) touch(e);
}

// read_dmq reads data with new_reader, piece bytes at a time, as the connection does.
readings read_dmq(std::string_view data, std::size_t piece) {
  readings out;
  reply top;
  auto* rd = dmq::redis::new_reader(&top);
  for (std::size_t at = 0; at < data.size() && !out.failed; at += piece) {
    auto part = data.substr(at, piece);
    redisReaderFeed(rd, part.data(), part.size());
    for (;;) {
      void* r = nullptr;
      if (redisReaderGetReply(rd, &r) != REDIS_OK) {
        out.failed = true;
        break;
      }
      if (!r) break;
      touch(top);
      out.replies.push_back(std::move(top));
      top = reply{};
    }
  }
  redisReaderFree(rd);
  return out;
}

reply convert(const redisReply* r) {
  reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = reply::kind::nil;
  }
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
      r->type == REDIS_REPLY_ERROR)
    out.str.assign(r->str, r->len);
  return out;
}

// read_hiredis reads data at once with hiredis's own reader.
readings read_hiredis(std::string_view data) {
  readings out;
  auto* rd = redisReaderCreate();
  redisReaderFeed(rd, data.data(), data.size());
  for (;;) {
    void* r = nullptr;
    if (redisReaderGetReply(rd, &r) != REDIS_OK) {
      out.failed = true;
      break;
    }
    if (!r) break;
    out.replies.push_back(convert(static_cast<redisReply*>(r)));
    freeReplyObject(r);
  }
  redisReaderFree(rd);
  return out;
}

// announces_huge_array says whether data may announce an array of a million elements or
// more ("*" and 7 digits): hiredis's own reader callocs a pointer for each at once (8 GB
// for "*1000000000"), which is not what is tested here (dmq's reader reserves at most 1024).
bool announces_huge_array(std::string_view data) {
  for (auto at = data.find('*'); at != std::string_view::npos; at = data.find('*', at + 1)) {
    std::size_t digits = 0;
    while (at + 1 + digits < data.size() &&
           std::isdigit(static_cast<unsigned char>(data[at + 1 + digits])))
      ++digits;
    if (digits >= 7) return true;
  }
  return false;
}

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "resp_reader: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto whole = read_dmq(bytes, bytes.size() + 1);
  check(same(whole, read_dmq(bytes, 3)), "the replies differ when the bytes come in pieces");
  if (!announces_huge_array(bytes))
    check(same(whole, read_hiredis(bytes)), "the replies differ from hiredis's own reader's");
  return 0;
}
