/* The portable kernels: the oracle every SIMD level is tested against. */
#include "mcc.h"

/* Population count without the POPCNT instruction (this file is built for
 * the baseline x86-64 ISA): the classic SWAR reduction. */
static inline unsigned popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

void sidik__xor_popcount_scalar(const sidik_finger *a, const sidik_finger *b, uint16_t *out)
{
    for (int i = 0; i < a->n; i++) {
        uint64_t ai[SIDIK__MCC_WORDS];
        for (int w = 0; w < SIDIK__MCC_WORDS; w++)
            ai[w] = a->cyl[w * a->npad + i];
        for (int j = 0; j < b->npad; j++) {
            unsigned s = 0;
            for (int w = 0; w < SIDIK__MCC_WORDS; w++)
                s += popcount64(ai[w] ^ b->cyl[w * b->npad + j]);
            out[i * b->npad + j] = (uint16_t)s;
        }
    }
}

#define KERNEL(name) sidik__##name##_scalar
#include "kernel_impl.h"

#define SCAN_NAME sidik__sig_scan_scalar
#include "sig_scan_impl.h"
