// slot: Redis Cluster's hash slot of a key (CRC16/XMODEM of the key, or of its hash tag:
// the bytes between the first '{' and the next '}', when there are any), mod 16384.
#pragma once

#include <cstdint>
#include <string_view>

namespace dmq::redis {

constexpr int slot_count = 16384;

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), as the Cluster spec names it.
std::uint16_t crc16(std::string_view bytes);
// slot_of returns key's hash slot.
int slot_of(std::string_view key);

}  // namespace dmq::redis
