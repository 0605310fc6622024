/* CRC32C: the portable slice-by-8 reference and the run-time dispatch. */
#include "sidik/crc32c.h"
#include "sidik/err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define CRC32C_POLY_REFLECTED 0x82f63b78u

/* Slice-by-8 tables: table[k][b] is the CRC of byte b followed by k zero
 * bytes. Built once; 8 KiB. */
static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++)
            c = (c >> 1) ^ (CRC32C_POLY_REFLECTED & (0u - (c & 1)));
        table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];
}

uint32_t sidik_crc32c_scalar(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&table_once, build_table);
    const uint8_t *s = p;
    crc = ~crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        w ^= crc; /* little-endian: the low 4 bytes meet the running CRC */
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        s += 8;
        n -= 8;
    }
    while (n-- > 0)
        crc = (crc >> 8) ^ table[0][(crc ^ *s++) & 0xff];
    return ~crc;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "slice-by-8 assumes little-endian");

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static uint32_t resolve_and_run(uint32_t crc, const void *p, size_t n);
static _Atomic(crc_fn) impl = resolve_and_run;

/* First call: pick the best implementation this CPU has. */
static uint32_t resolve_and_run(uint32_t crc, const void *p, size_t n)
{
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    crc_fn chosen =
        sidik_cpu_best_level(&f) >= SIDIK_SIMD_SSE42 ? sidik_crc32c_sse42 : sidik_crc32c_scalar;
    crc_fn expected = resolve_and_run;
    atomic_compare_exchange_strong(&impl, &expected, chosen);
    return atomic_load_explicit(&impl, memory_order_relaxed)(crc, p, n);
}

uint32_t sidik_crc32c(uint32_t crc, const void *p, size_t n)
{
    return atomic_load_explicit(&impl, memory_order_relaxed)(crc, p, n);
}

int sidik_crc32c_select(sidik_simd_level level)
{
    if (level >= SIDIK_SIMD_SSE42) {
        sidik_cpu_features f;
        sidik_cpu_detect(&f);
        if (sidik_cpu_best_level(&f) < SIDIK_SIMD_SSE42)
            return SIDIK_ENOCPU;
        atomic_store(&impl, sidik_crc32c_sse42);
    } else {
        atomic_store(&impl, sidik_crc32c_scalar);
    }
    return 0;
}
