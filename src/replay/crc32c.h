// CRC32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of every trace chunk.
// Chosen over zlib's CRC32 because x86 computes it in hardware (SSE4.2); the table-driven path
// gives identical results where that instruction is missing.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gorepro::replay {

// Extends a running CRC32C: crc32c(data) == crc32c_extend(0, data). Standard parameters
// (init 0xFFFFFFFF, final xor 0xFFFFFFFF), so crc32c("123456789") == 0xE3069283.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);
inline uint32_t crc32c(const void* data, size_t size) { return crc32c_extend(0, data, size); }

}  // namespace gorepro::replay
