#ifndef STRATA_CRC32C_H
#define STRATA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) of `len` bytes at `buf`.
///
/// Pass 0 to start; pass a previous result to continue, so
/// `strata_crc32c(strata_crc32c(0, a, n), b, m)` is the CRC of `a` followed by `b`.
/// The function applies the customary pre- and post-inversion itself:
/// `strata_crc32c(0, "123456789", 9) == 0xE3069283`.
/// Uses the SSE4.2 `crc32` instruction when the CPU has it, a table otherwise.
uint32_t strata_crc32c(uint32_t crc, const void *buf, size_t len);

/// The portable table implementation alone (same contract), so tests can check it on CPUs
/// where `strata_crc32c` never takes that path.
uint32_t strata_crc32c_portable(uint32_t crc, const void *buf, size_t len);

/// 1 when `strata_crc32c` uses the hardware instruction, 0 when it uses the table.
int strata_crc32c_is_hardware(void);

#ifdef __cplusplus
}
#endif

#endif
