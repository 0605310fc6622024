/*
 * CRC32C (Castagnoli), the checksum on every journal entry.
 *
 * Castagnoli rather than the zlib CRC32 because x86 computes it in hardware
 * (SSE4.2 `crc32`), at over 10 GB/s per core, so checksumming every accepted
 * upload costs nothing measurable. The scalar slice-by-8 twin gives identical
 * results on every machine and is the reference the tests hold the hardware
 * path to.
 *
 * Thread safety: all functions are thread-safe. sidik_crc32c() picks its
 * implementation on first use (the best this CPU has) unless
 * sidik_crc32c_select() chose one before.
 */
#ifndef SIDIK_CRC32C_H
#define SIDIK_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#include "sidik/cpu.h"

/** CRC32C of p[0..n), continuing from crc (0 to start). */
uint32_t sidik_crc32c(uint32_t crc, const void *p, size_t n);

/** Portable reference. */
uint32_t sidik_crc32c_scalar(uint32_t crc, const void *p, size_t n);

/** SSE4.2 hardware CRC; call only where the CPU has SSE4.2. */
uint32_t sidik_crc32c_sse42(uint32_t crc, const void *p, size_t n);

/** Makes sidik_crc32c() use the implementation for level (sse42 and above
 *  use the hardware instruction). Call at start-up with the process's SIMD
 *  level. Returns 0, or SIDIK_ENOCPU when this CPU lacks SSE4.2 for a level
 *  that needs it (the choice is then unchanged). */
int sidik_crc32c_select(sidik_simd_level level);

#endif
