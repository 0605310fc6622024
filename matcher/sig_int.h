/*
 * Private to matcher/: the signature's rotation tables, a probe's signature
 * in the form the scan multiplies, and the scan kernel every SIMD level
 * provides.
 */
#ifndef SIDIK_MATCHER_SIG_INT_H
#define SIDIK_MATCHER_SIG_INT_H

#include <stdint.h>

#include "sidik/signature.h"

/* Rotations are evaluated in 16 float lanes (9 used; the rest repeat the
 * last rotation), one vector on AVX-512. */
#define SIDIK__SIG_ROT_LANES 16

/* Mean similarity of two different persons' fingers at the same position
 * (sidik_synth population, 600 persons, all pairs: 0.109): subtracted from every
 * finger's similarity before the fingers are summed, so a finger absent on
 * either side counts as an average impostor finger, neither for nor
 * against. docs/search.md. */
#define SIDIK__SIG_IMPOSTOR_MEAN 0.11f

typedef struct sidik__sig_tables {
    /* v(rotation s) = sum over k of cre[k] rot_c[k][s] + cim[k] rot_s[k][s] */
    float rot_c[SIDIK_SIG_HARMONICS][SIDIK__SIG_ROT_LANES];
    float rot_s[SIDIK_SIG_HARMONICS][SIDIK__SIG_ROT_LANES];
} sidik__sig_tables;

const sidik__sig_tables *sidik__sig_tables_get(void);

/* A probe finger, widened to int16 and stored twice per ring: as (br, bi)
 * pairs and as (-bi, br) pairs. A gallery pair (ar, ai) times the first
 * gives the real part of a * conj(b), times the second its imaginary part:
 * one 16-bit multiply-add each (PMADDWD), nothing else. */
typedef struct sidik__sig_probe {
    int16_t p[SIDIK_SIG_FINGERS][SIDIK_SIG_RINGS][2][SIDIK_SIG_HARMONICS][2];
    float scale[SIDIK_SIG_FINGERS]; /* 0: absent */
} sidik__sig_probe;

void sidik__sig_probe_init(sidik__sig_probe *p, const sidik_person_sig *s);

/* The best rotation's correlation from the harmonic cross products.
 * Element-wise over the lanes (no float reassociation), so every SIMD level
 * rounds identically. */
static inline float sidik__sig_best_rotation(const sidik__sig_tables *tb, const int32_t *cre,
                                             const int32_t *cim)
{
    float v[SIDIK__SIG_ROT_LANES] = {0};
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
        float cr = (float)cre[k], ci = (float)cim[k];
        for (int s = 0; s < SIDIK__SIG_ROT_LANES; s++) {
            v[s] += cr * tb->rot_c[k][s];
            v[s] += ci * tb->rot_s[k][s];
        }
    }
    float best = v[0];
    for (int s = 1; s < SIDIK__SIG_ROT_LANES; s++)
        best = v[s] > best ? v[s] : best;
    return best;
}

/* out[i] = sum over the fingers present in both of (similarity - impostor
 * mean), for gallery persons g[0..count). Also the per-finger
 * similarities into fsim[i * 10 + f] when fsim is not NULL. */
typedef void (*sidik__sig_scan_fn)(const sidik__sig_probe *p, const sidik_person_sig *g, int count,
                                    float *out, float *fsim);

#define SIDIK__DECLARE_SIG_SCAN(sfx)                                                            \
    void sidik__sig_scan_##sfx(const sidik__sig_probe *p, const sidik_person_sig *g, int count, \
                               float *out, float *fsim);
SIDIK__DECLARE_SIG_SCAN(scalar)
SIDIK__DECLARE_SIG_SCAN(sse42)
SIDIK__DECLARE_SIG_SCAN(avx2)
SIDIK__DECLARE_SIG_SCAN(avx512)

#endif
