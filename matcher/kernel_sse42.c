/* SSE4.2 level: the scalar loop with the hardware POPCNT instruction (this
 * file is built with -msse4.2 -mpopcnt). 128-bit vectors have no popcount of
 * their own, so the scalar instruction is the fastest this level has. */
#include "mcc.h"

#include <nmmintrin.h>

void sidik__xor_popcount_sse42(const sidik_finger *a, const sidik_finger *b, uint16_t *out)
{
    for (int i = 0; i < a->n; i++) {
        uint64_t ai[SIDIK__MCC_WORDS];
        for (int w = 0; w < SIDIK__MCC_WORDS; w++)
            ai[w] = a->cyl[w * a->npad + i];
        for (int j = 0; j < b->npad; j++) {
            uint64_t s = 0;
            for (int w = 0; w < SIDIK__MCC_WORDS; w++)
                s += (uint64_t)_mm_popcnt_u64(ai[w] ^ b->cyl[w * b->npad + j]);
            out[i * b->npad + j] = (uint16_t)s;
        }
    }
}

#define KERNEL(name) sidik__##name##_sse42
#include "kernel_impl.h"

#define SCAN_NAME sidik__sig_scan_sse42
#include "sig_scan_impl.h"
