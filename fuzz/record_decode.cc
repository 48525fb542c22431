// record_decode: a message record as read from Redis (storage/record.h), which the Lua
// scripts write too, in either version (v2, or v1 written before it). decode_record must
// refuse what is not a record without crashing, and what it accepts must encode (as v2 and
// as v1) into a record that decodes to the same values.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "storage/record.h"

using namespace dmq::storage;

namespace {

bool same(const record& a, const record& b) {
  if (a.msg.due_ms != b.msg.due_ms || a.msg.create_ms != b.msg.create_ms ||
      a.data_expire_at_ms != b.data_expire_at_ms || a.msg.cmd != b.msg.cmd ||
      a.msg.bucket != b.msg.bucket || a.msg.request_id != b.msg.request_id ||
      a.msg.params != b.msg.params || a.consumers.size() != b.consumers.size())
    return false;
  for (std::size_t i = 0; i < a.consumers.size(); ++i)
    if (a.consumers[i].name != b.consumers[i].name ||
        a.consumers[i].status != b.consumers[i].status ||
        a.consumers[i].attempts != b.consumers[i].attempts)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto rec = decode_record(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!rec) return 0;
  for (const auto& c : rec->consumers) (void)rec->status(c.name);
  for (auto* enc : {&encode, &encode_v1}) {  // v2 (or v1 for odd statuses), and v1
    auto again = decode_record((*enc)(*rec));
    if (!again || !same(*rec, *again)) {
      std::fprintf(stderr, "record_decode: a decoded record does not survive encode + decode\n");
      std::abort();
    }
  }
  return 0;
}
