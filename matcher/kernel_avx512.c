/* AVX-512 level (built with -mavx512f -mavx512bw -mavx512vl -mavx512vpopcntdq):
 * eight cylinders of B per 512-bit vector, counted with VPOPCNTQ. */
#include "mcc.h"

#include <immintrin.h>

void sidik__xor_popcount_avx512(const sidik_finger *a, const sidik_finger *b, uint16_t *out)
{
    for (int i = 0; i < a->n; i++) {
        __m512i ai[SIDIK__MCC_WORDS];
        for (int w = 0; w < SIDIK__MCC_WORDS; w++)
            ai[w] = _mm512_set1_epi64((long long)a->cyl[w * a->npad + i]);
        for (int j = 0; j < b->npad; j += 8) {
            __m512i acc = _mm512_setzero_si512();
            for (int w = 0; w < SIDIK__MCC_WORDS; w++) {
                __m512i bv = _mm512_loadu_si512(&b->cyl[w * b->npad + j]);
                acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(ai[w], bv)));
            }
            _mm_storeu_si128((__m128i *)(out + i * b->npad + j), _mm512_cvtepi64_epi16(acc));
        }
    }
}

#define KERNEL(name) sidik__##name##_avx512
#include "kernel_impl.h"
