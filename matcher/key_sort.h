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

/* Appends row i's best and second best keys (0: none) to keys[n..] and
 * notes them in row1 and row2; returns the new count. */
static inline int sidik__append_row_keys(uint32_t r1, uint32_t r2, int i, uint32_t *row1,
                                         uint32_t *row2, uint32_t *keys, int n)
{
    keys[n] = r1;
    n += r1 != 0;
    keys[n] = r2;
    n += r2 != 0;
    row1[i] = r1;
    row2[i] = r2;
    return n;
}

/* Appends each column's best and second best (c1, c2; 0: none) to
 * keys[n..], except those that are their row's best or second best: a
 * column's best often is (about a quarter of the keys on FVC2002), and the
 * sort and the walk must see each pair once. Returns the new count. */
static inline int sidik__append_column_keys(const uint32_t *c1, const uint32_t *c2,
                                            const uint32_t *row1, const uint32_t *row2, int npad,
                                            uint32_t *keys, int n)
{
    for (int j = 0; j < npad; j++) {
        for (int c = 0; c < 2; c++) {
            uint32_t k = c == 0 ? c1[j] : c2[j];
            int i = k != 0 ? 255 - (int)((k >> 8) & 0xff) : 0;
            keys[n] = k;
            n += (k != 0) & (k != row1[i]) & (k != row2[i]);
        }
    }
    return n;
}

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
