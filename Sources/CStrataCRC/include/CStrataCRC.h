#include <stdint.h>
#include <stddef.h>
uint32_t strata_crc32c(uint32_t crc, const void *buf, size_t len);
