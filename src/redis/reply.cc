#include "redis/reply.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>

namespace dmq::redis {

namespace {

// Replies are built by hiredis's reader straight into dmq's reply type, without a
// redisReply to copy from and free (reply_functions, given by new_reader). An element is
// constructed in its parent's elements; a top-level reply goes to the reader's privdata,
// one reply owned by the caller (the connection), and is moved out as soon as it is
// complete. The reader keeps pointers only to the arrays still open, each the last element
// of the one before: adding an element to an array may move its earlier elements, which are
// complete, never an open one. So the announced count is only a hint, reserved up to
// max_reserved: a peer announcing "*100000000" would otherwise make it reserve 7 GB at once
// (fuzz/corpus/resp_reader/found-huge-array-count).
// (The functions are called from C: nothing may be thrown through them. Should an
// allocation fail, they return null, which the reader reports as an error: the
// connection breaks and reconnects.)
constexpr std::size_t max_reserved = 1024;

// place puts r where the reader is: in its parent array (which may grow, and throw), or at
// the top.
void* place(const redisReadTask* t, reply&& r) {
  if (t->parent) {
    auto& parent = *static_cast<reply*>(t->parent->obj);
    parent.elements.push_back(std::move(r));
    return &parent.elements.back();
  }
  auto* top = static_cast<reply*>(t->privdata);
  *top = std::move(r);
  return top;
}

void* create_string(const redisReadTask* t, char* s, std::size_t len) noexcept try {
  reply r;
  r.type = t->type == REDIS_REPLY_ERROR    ? reply::kind::error
           : t->type == REDIS_REPLY_STATUS ? reply::kind::status
                                           : reply::kind::string;
  r.str.assign(s, len);
  return place(t, std::move(r));
} catch (...) {
  return nullptr;
}

void* create_array(const redisReadTask* t, int n) noexcept try {
  reply r;
  r.type = reply::kind::array;
  if (n > 0) r.elements.reserve(std::min(static_cast<std::size_t>(n), max_reserved));
  return place(t, std::move(r));
} catch (...) {
  return nullptr;
}

void* create_integer(const redisReadTask* t, long long v) noexcept try {
  reply r;
  r.type = reply::kind::integer;
  r.integer = v;
  return place(t, std::move(r));
} catch (...) {
  return nullptr;
}

void* create_nil(const redisReadTask* t) noexcept try { return place(t, reply{}); } catch (...) {
  return nullptr;
}

void free_object(void*) noexcept {}  // the connection owns every reply

redisReplyObjectFunctions reply_functions{create_string, create_array, create_integer, create_nil,
                                          free_object};

}  // namespace

redisReader* new_reader(reply* top) {
  auto* r = redisReaderCreateWithFunctions(&reply_functions);
  if (r) r->privdata = top;  // (redisReaderSetPrivdata casts to int)
  return r;
}

std::optional<long long> reply::as_int() const {
  if (type == kind::integer) return integer;
  if (type != kind::string && type != kind::status) return std::nullopt;
  long long v = 0;
  auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), v);
  if (ec != std::errc() || p != str.data() + str.size()) return std::nullopt;
  return v;
}

command& command::begin(std::size_t n) {
  buf_ += '*';
  buf_ += std::to_string(n);
  buf_ += "\r\n";
  ++count_;
  return *this;
}

command& command::arg(std::string_view a) {
  buf_ += '$';
  buf_ += std::to_string(a.size());
  buf_ += "\r\n";
  buf_.append(a);
  buf_ += "\r\n";
  return *this;
}

command& command::arg(long long v) {
  return arg(std::string_view(std::to_string(v)));
}
command& command::arg(unsigned long long v) {
  return arg(std::string_view(std::to_string(v)));
}

}  // namespace dmq::redis
