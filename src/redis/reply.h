// reply: a Redis reply, converted from hiredis's redisReply into owned values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;  // hiredis's RESP reader, <hiredis/read.h>

namespace dmq::redis {

struct reply {
  enum class kind { nil, integer, string, status, error, array };
  kind type = kind::nil;
  long long integer = 0;
  std::string str;  // string, status or error text
  std::vector<reply> elements;

  bool is_nil() const { return type == kind::nil; }
  bool is_error() const { return type == kind::error; }
  bool is_array() const { return type == kind::array; }
  // as_int returns the integer, or a string parsed as one; nullopt otherwise.
  std::optional<long long> as_int() const;
};

// new_reader returns a hiredis reader (free it with redisReaderFree) that builds each reply
// it reads straight into *top: when redisReaderGetReply gives a reply (a non-null pointer,
// top itself), *top holds it until the caller moves it out; nullptr if out of memory.
// Feeding it bytes that are not RESP makes redisReaderGetReply fail; nothing is thrown.
redisReader* new_reader(reply* top);

// command: RESP-encoded commands appended to one buffer, so a whole pipeline is one write.
class command {
 public:
  // push appends one command made of args ("ZADD", key, score, member).
  template <class... Args>
  command& push(const Args&... args) {
    begin(sizeof...(Args));
    (arg(args), ...);
    return *this;
  }
  // begin starts a command of n arguments, each then added with arg().
  command& begin(std::size_t n);
  command& arg(std::string_view a);
  command& arg(long long v);
  command& arg(int v) { return arg(static_cast<long long>(v)); }
  command& arg(long v) { return arg(static_cast<long long>(v)); }
  command& arg(unsigned long long v);
  command& arg(unsigned long v) { return arg(static_cast<unsigned long long>(v)); }
  command& arg(const char* a) { return arg(std::string_view(a)); }
  command& arg(const std::string& a) { return arg(std::string_view(a)); }

  // raw appends n commands already RESP-encoded (a part of another command's bytes()).
  command& raw(std::string_view bytes, std::size_t n) {
    buf_.append(bytes);
    count_ += n;
    return *this;
  }

  std::size_t count() const { return count_; }  // commands pushed
  const std::string& bytes() const { return buf_; }
  std::string take() { return std::move(buf_); }

 private:
  std::string buf_;
  std::size_t count_ = 0;
};

}  // namespace dmq::redis
