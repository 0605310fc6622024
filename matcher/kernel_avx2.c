/* AVX2 level (built with -mavx2): four cylinders of B per 256-bit vector.
 * AVX2 has no popcount, so bytes are counted with the nibble lookup table
 * (vpshufb) and summed per 64-bit lane with vpsadbw (Mula, Kurz, Lemire,
 * "Faster population counts using AVX2 instructions", 2018). */
#include "mcc.h"
#include "sig_int.h"

#include <immintrin.h>

static inline __m256i popcount_bytes(__m256i v)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                         1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_and_si256(v, low);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

void sidik__xor_popcount_avx2(const sidik_finger *a, const sidik_finger *b, uint16_t *out)
{
    for (int i = 0; i < a->n; i++) {
        __m256i ai[SIDIK__MCC_WORDS];
        for (int w = 0; w < SIDIK__MCC_WORDS; w++)
            ai[w] = _mm256_set1_epi64x((long long)a->cyl[w * a->npad + i]);
        for (int j = 0; j < b->npad; j += 4) {
            /* Byte counts reach at most 8 per word, 72 over 9 words: they fit
             * a byte, so the horizontal sum runs once, after the loop. */
            __m256i acc = _mm256_setzero_si256();
            for (int w = 0; w < SIDIK__MCC_WORDS; w++) {
                __m256i bv = _mm256_loadu_si256((const __m256i *)&b->cyl[w * b->npad + j]);
                acc = _mm256_add_epi8(acc, popcount_bytes(_mm256_xor_si256(ai[w], bv)));
            }
            __m256i sums = _mm256_sad_epu8(acc, _mm256_setzero_si256());
            uint16_t *o = out + i * b->npad + j;
            o[0] = (uint16_t)_mm256_extract_epi64(sums, 0);
            o[1] = (uint16_t)_mm256_extract_epi64(sums, 1);
            o[2] = (uint16_t)_mm256_extract_epi64(sums, 2);
            o[3] = (uint16_t)_mm256_extract_epi64(sums, 3);
        }
    }
}

#define KERNEL(name) sidik__##name##_avx2
#include "kernel_impl.h"

/* The signature products, a ring at a time in two halves of 8 harmonics:
 * 16 int8 widened to 16 int16, PMADDWD against the probe's two forms. */
static inline void sig_products_avx2(const int8_t (*a)[SIDIK_SIG_HARMONICS][2],
                                     const int16_t (*b)[2][SIDIK_SIG_HARMONICS][2], int32_t *cre,
                                     int32_t *cim)
{
    __m256i re0 = _mm256_setzero_si256(), re1 = re0, im0 = re0, im1 = re0;
    for (int m = 0; m < SIDIK_SIG_RINGS; m++) {
        __m256i g0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[m]));
        __m256i g1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[m][8]));
        re0 = _mm256_add_epi32(re0, _mm256_madd_epi16(g0, _mm256_loadu_si256((const __m256i *)b[m][0])));
        re1 = _mm256_add_epi32(re1, _mm256_madd_epi16(g1, _mm256_loadu_si256((const __m256i *)b[m][0][8])));
        im0 = _mm256_add_epi32(im0, _mm256_madd_epi16(g0, _mm256_loadu_si256((const __m256i *)b[m][1])));
        im1 = _mm256_add_epi32(im1, _mm256_madd_epi16(g1, _mm256_loadu_si256((const __m256i *)b[m][1][8])));
    }
    _mm256_storeu_si256((__m256i *)cre, re0);
    _mm256_storeu_si256((__m256i *)(cre + 8), re1);
    _mm256_storeu_si256((__m256i *)cim, im0);
    _mm256_storeu_si256((__m256i *)(cim + 8), im1);
}
#define SIG_PRODUCTS sig_products_avx2
#define SCAN_NAME    sidik__sig_scan_avx2
#include "sig_scan_impl.h"
