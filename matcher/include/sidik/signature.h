/*
 * The search signature: a compact, alignment-free summary of each finger
 * that the 1:N search scans over the whole gallery before any full match.
 *
 * What it is. The complex spectral minutiae representation (Xu, Veldhuis,
 * Kevenaar, Akkermans, "A fast minutiae-based fingerprint recognition
 * system", IEEE Systems Journal 3(4), 2009): the magnitude of the Fourier
 * transform of the minutiae, each a point weighted by its direction as a
 * unit phasor, |sum_i exp(-j w.p_i) exp(j theta_i)|. The magnitude drops
 * translation; a rotation of the finger becomes a circular shift of the
 * spectrum along its angular axis. It is sampled on a polar grid (16 rings
 * from 0.03 to 0.20 rad/px, 48 angles), and each ring is kept as its first
 * 16 angular Fourier harmonics, so the correlation of two fingers at any
 * rotation is a short sum over harmonics instead of a re-sampling: the scan
 * evaluates 9 rotations within +-36 degrees per finger pair for the price
 * of one product plus about 9 x 16 multiply-adds (0 and four pairs +-a,
 * each pair from one cosine and one sine sum). Each ring's harmonic is
 * weighted by how well its term of the correlation tells mates from
 * impostors (learned on synthetic persons) before the finger is scaled to
 * unit energy. docs/search.md has the measurements behind every constant
 * (band, rings, harmonics, rotations, weights).
 *
 * Strength. Per finger it is weak (synthetic population, sidik_synth
 * defaults: d' about 1.9, EER about 17%, where the full matcher's EER is
 * about 3%; on the real FVC2002 fingers an EER of about 15%), but ten
 * fingers fused are strong, which is what a first stage needs; it is never
 * the decision.
 *
 * Layout (fixed; computed from the templates whenever a gallery is loaded,
 * not stored: format-1 shards held it, and their copies are no longer
 * read): per finger 16 x 16 complex
 * coefficients as int8 (re, im) pairs, ring-major, quantised with one
 * float scale per finger (never -128, so a negated coefficient is still a
 * byte); 512 + 4 bytes per finger, 5,184 bytes per person with padding.
 * Scale 0 marks a finger that is absent (not captured, too few minutiae).
 * In memory the search gallery keeps the same bytes transposed into blocks
 * of 16 persons for SIMD (5,160 bytes per person).
 *
 * Thread safety: every function here is pure and reentrant.
 */
#ifndef SIDIK_SIGNATURE_H
#define SIDIK_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#include "sidik/template.h"

#define SIDIK_SIG_FINGERS   10
#define SIDIK_SIG_RINGS     16
#define SIDIK_SIG_HARMONICS 16
#define SIDIK_SIG_ROTATIONS 9  /* rotations tried per finger pair */
#define SIDIK_SIG_ROT_MAX   36 /* degrees either way */

/* Fewer minutiae than this and a finger is treated as absent: its spectrum
 * would be a handful of phasors and say nothing. */
#define SIDIK_SIG_MIN_MINUTIAE 6

typedef struct sidik_finger_sig {
    int8_t c[SIDIK_SIG_RINGS][SIDIK_SIG_HARMONICS][2]; /* re, im */
} sidik_finger_sig;

/* One person: finger index = ISO position - 1 (0 right thumb .. 9 left
 * little). */
typedef struct sidik_person_sig {
    sidik_finger_sig f[SIDIK_SIG_FINGERS];
    float scale[SIDIK_SIG_FINGERS]; /* 0: finger absent */
    uint8_t reserved[24];
} sidik_person_sig;

_Static_assert(sizeof(sidik_finger_sig) == 512, "sidik_finger_sig layout");
_Static_assert(sizeof(sidik_person_sig) == 5184, "sidik_person_sig layout: 81 cache lines");
_Static_assert(offsetof(sidik_person_sig, scale) == 5120, "sidik_person_sig layout");

/**
 * The signature of one finger view. Returns 0 and fills *out and *scale
 * (0 when t has fewer than SIDIK_SIG_MIN_MINUTIAE minutiae: absent), or
 * SIDIK_EINVAL for NULL arguments.
 */
int sidik_sig_finger(const sidik_template *t, sidik_finger_sig *out, float *scale);

/**
 * A person's signature from a multi-view record: each view goes to the slot
 * of its finger position (1..10); when a position has two views the one with
 * more minutiae counts; views of position 0 (unknown) are skipped, since a
 * ten-print comparison pairs fingers by position. Returns 0, or
 * SIDIK_EINVAL (NULL arguments) or SIDIK_ENOTFOUND with *why (if why is not
 * NULL) when no view gives a usable finger.
 */
int sidik_sig_person(const sidik_fmr *rec, sidik_person_sig *out, const char **why);

/**
 * Similarity of two finger signatures: their normalised spectral
 * correlation at the best of SIDIK_SIG_ROTATIONS rotations, about -1..1
 * (0 for an absent finger on either side). Reference implementation for the
 * scan kernels; deterministic.
 */
float sidik_sig_similarity(const sidik_finger_sig *a, float scale_a, const sidik_finger_sig *b,
                           float scale_b);

#endif
