/* AVX-512 level (built with -mavx512f -mavx512bw -mavx512vl -mavx512vpopcntdq):
 * eight cylinders of B per 512-bit vector, counted with VPOPCNTQ. */
#include "mcc.h"
#include "sig_int.h"

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

/* The signature products: a ring's 16 coefficients are 32 int8, widened to
 * one vector of 32 int16, and PMADDWD against the probe's two forms gives
 * the 16 harmonics' real and imaginary parts in one step each. */
static inline void sig_products_avx512(const int8_t (*a)[SIDIK_SIG_HARMONICS][2],
                                       const int16_t (*b)[2][SIDIK_SIG_HARMONICS][2],
                                       int32_t *cre, int32_t *cim)
{
    __m512i re = _mm512_setzero_si512(), im = _mm512_setzero_si512();
    for (int m = 0; m < SIDIK_SIG_RINGS; m++) {
        __m512i g = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)a[m]));
        re = _mm512_add_epi32(re, _mm512_madd_epi16(g, _mm512_loadu_si512(b[m][0])));
        im = _mm512_add_epi32(im, _mm512_madd_epi16(g, _mm512_loadu_si512(b[m][1])));
    }
    _mm512_storeu_si512(cre, re);
    _mm512_storeu_si512(cim, im);
}
#define SIG_PRODUCTS sig_products_avx512
#define SCAN_NAME    sidik__sig_scan_avx512
#include "sig_scan_impl.h"
