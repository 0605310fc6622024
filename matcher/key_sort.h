/*
 * The greedy selection's candidate keys in descending order (match.c walks
 * them so). Integer keys, each unique, so every way of sorting them gives
 * the same bytes; this is the portable one, the AVX-512 level ranks small
 * sets instead (kernel_avx512.c).
 */
#ifndef SIDIK_MATCHER_KEY_SORT_H
#define SIDIK_MATCHER_KEY_SORT_H

#include "sidik/template.h"

#include <stdint.h>

/* At most two a row and two a column. */
#define SIDIK__MAX_KEYS (4 * SIDIK_TMPL_MAX_MINUTIAE)

/* keys[0..n) (unique) into out, largest first.
 *
 * Counting sort into 256 buckets spread over the similarities present
 * (descending), then one insertion pass over the whole, nearly sorted,
 * array. The candidates' similarities cluster, so buckets of a fixed width
 * hold several keys each and each bucket's insertion loop would end on a
 * mispredicted branch; spread over the range in use, most buckets hold one
 * key or none and the pass rarely moves anything. A bucket is a floor of a
 * line rising with the similarity, so bucket order never contradicts key
 * order. */
static inline void sidik__sort_keys_desc(const uint32_t *keys, int n, uint32_t *out)
{
    if (n == 0)
        return;
    uint32_t qmin = UINT32_MAX, qmax = 0;
    for (int e = 0; e < n; e++) {
        uint32_t q = keys[e] >> 16;
        qmin = q < qmin ? q : qmin;
        qmax = q > qmax ? q : qmax;
    }
    const uint64_t spread = qmax > qmin ? (255ull << 32) / (qmax - qmin) : 0;
    uint32_t start[257] = {0};
    uint8_t bucket[SIDIK__MAX_KEYS];
    for (int e = 0; e < n; e++) {
        int d = 255 - (int)((uint64_t)((keys[e] >> 16) - qmin) * spread >> 32);
        bucket[e] = (uint8_t)d;
        start[d + 1]++;
    }
    for (int d = 0; d < 256; d++)
        start[d + 1] += start[d];
    for (int e = 0; e < n; e++)
        out[start[bucket[e]]++] = keys[e];
    for (int x = 1; x < n; x++) {
        uint32_t v = out[x];
        int y = x;
        for (; y > 0 && out[y - 1] < v; y--)
            out[y] = out[y - 1];
        out[y] = v;
    }
}

#endif
