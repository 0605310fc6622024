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

/* The keys of the local similarities in [lo, hi), compressed with
 * VPCOMPRESSD sixteen at a time; same order as the portable loop. */
int sidik__collect_avx512(const uint16_t *q, int na, int npad, uint32_t lo, uint32_t hi,
                          uint32_t *keys)
{
    int n = 0;
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i vlo = _mm512_set1_epi32((int)lo), vhi = _mm512_set1_epi32((int)hi);
    for (int i = 0; i < na; i++) {
        const uint16_t *row = q + i * npad;
        const __m512i rowbits = _mm512_set1_epi32(i << 8);
        for (int j = 0; j < npad; j += 16) {
            /* npad is a multiple of 8: the last block may hold only 8. */
            __mmask16 live = npad - j >= 16 ? 0xffff : 0x00ff;
            __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(live, row + j));
            __mmask16 in =
                _mm512_mask_cmpge_epu32_mask(live, v, vlo) & _mm512_cmplt_epu32_mask(v, vhi);
            __m512i key = _mm512_or_si512(
                _mm512_slli_epi32(v, 16),
                _mm512_or_si512(rowbits, _mm512_add_epi32(lane, _mm512_set1_epi32(j))));
            _mm512_mask_compressstoreu_epi32(keys + n, in, key);
            n += __builtin_popcount(in);
        }
    }
    return n;
}

#define SIDIK__HAVE_COLLECT 1
#define KERNEL(name)        sidik__##name##_avx512
#include "kernel_impl.h"
