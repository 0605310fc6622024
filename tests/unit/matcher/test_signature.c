/*
 * The search signature's computation (matcher/sig_build_impl.h): every
 * build this CPU can run gives the baseline build's bytes and scale, on
 * synthetic persons, real FVC2002 templates and degenerate templates; and
 * the single-precision computation stays within one unit of a
 * double-precision reference written out here from the definition.
 */
#include "test_support.h"

#include "sidik/common.h"
#include "sidik/cpu.h"
#include "sig_int.h"
#include "synth.h"
#include "fvc2002.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*sig_build)(const sidik_template *t, const sidik__sig_weights *w,
                         sidik_finger_sig *out, float *scale);

/* ---- the templates ------------------------------------------------------- */

typedef struct {
    sidik_template *t;
    size_t n, cap;
} tmpl_set;

static sidik_template *tmpl_add(tmpl_set *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->t = realloc(s->t, s->cap * sizeof *s->t);
        assert_non_null(s->t);
    }
    memset(&s->t[s->n], 0, sizeof s->t[s->n]);
    return &s->t[s->n++];
}

/* Ten fingers of 40 synthetic persons, two impressions each. */
static void add_synthetic(tmpl_set *s)
{
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    sidik_fmr *r = sidik_xcalloc(1, sizeof *r);
    for (uint64_t person = 1; person <= 40; person++)
        for (uint32_t imp = 0; imp < 2; imp++) {
            assert_int_equal(sidik_synth_impression(&p, 7, person, imp, r, NULL, NULL), 0);
            for (uint32_t v = 0; v < r->nviews; v++)
                *tmpl_add(s) = r->views[v];
        }
    sidik_free(r);
}

static void add_view0(void *ctx, const sidik_fmr *r)
{
    *tmpl_add(ctx) = r->views[0];
}

/* Every FVC2002 template found; none when the data is absent (said so). */
static void add_fvc(tmpl_set *s)
{
    if (sidik_test_fvc2002_each(NULL, add_view0, s) == 0)
        print_message("FVC2002 data not found at %s; real-template part skipped\n",
                      SIDIK_FVC2002_DIR);
}

/* Edges: the fewest minutiae, the most, coordinates at both ends of their
 * range (phases far from zero), and random counts in between. */
static void add_degenerate(tmpl_set *s)
{
    uint64_t seed = 5;
    const int counts[] = {SIDIK_SIG_MIN_MINUTIAE, 7, 16, 17, 33, 64, 128, SIDIK_TMPL_MAX_MINUTIAE};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        sidik_template *t = tmpl_add(s);
        t->count = (uint8_t)counts[c];
        for (int i = 0; i < t->count; i++) {
            t->m[i].x = (uint16_t)(sidik_test_rand(&seed) % 500);
            t->m[i].y = (uint16_t)(sidik_test_rand(&seed) % 600);
            t->m[i].angle = (uint8_t)sidik_test_rand(&seed);
        }
    }
    sidik_template *far = tmpl_add(s);
    far->count = 40;
    for (int i = 0; i < far->count; i++) {
        far->m[i].x = (uint16_t)(i % 2 ? 65535 - i : i);
        far->m[i].y = (uint16_t)(i % 3 ? 65535 - 7 * i : 3 * i);
        far->m[i].angle = (uint8_t)(37 * i);
    }
}

static tmpl_set all_templates(void)
{
    tmpl_set s = {0};
    add_synthetic(&s);
    add_fvc(&s);
    add_degenerate(&s);
    return s;
}

/* ---- the double-precision reference ---------------------------------------- */

/* The definition, in double precision with libm: the complex spectrum
 * sum_i exp(i (theta_i - lambda u_i)) on 16 rings (lambda from 0.03 to 0.20
 * rad/px) x 48 rays, its magnitude less the grid's mean, each ring's
 * harmonics 0..15, each times its weight (sig_weights.c), scaled to unit
 * energy (harmonics k > 0 counted twice),
 * then to bytes with the largest at 127. 0 and nothing written when the
 * energy is 0. */
static int reference(const sidik_template *t, sidik_finger_sig *out, float *scale)
{
    const double pi = 3.14159265358979323846;
    enum { R = SIDIK_SIG_RINGS, H = SIDIK_SIG_HARMONICS, A = 48 };
    double sp[R][A], mean = 0;
    for (int n = 0; n < A; n++)
        for (int m = 0; m < R; m++) {
            double lambda = 0.03 + (0.20 - 0.03) * m / (R - 1), re = 0, im = 0;
            for (int i = 0; i < t->count; i++) {
                double u = t->m[i].x * cos(2 * pi * n / A) + t->m[i].y * sin(2 * pi * n / A);
                double ph = t->m[i].angle * (2 * pi / 256) - lambda * u;
                re += cos(ph);
                im += sin(ph);
            }
            sp[m][n] = sqrt(re * re + im * im);
            mean += sp[m][n] / (R * A);
        }
    double fr[R][H], fi[R][H], energy = 0, peak = 0;
    for (int m = 0; m < R; m++)
        for (int k = 0; k < H; k++) {
            fr[m][k] = fi[m][k] = 0;
            for (int n = 0; n < A; n++) {
                fr[m][k] += (sp[m][n] - mean) * cos(2 * pi * k * n / A);
                fi[m][k] -= (sp[m][n] - mean) * sin(2 * pi * k * n / A);
            }
            fr[m][k] *= sidik__sig_weights_product.w[m][k];
            fi[m][k] *= sidik__sig_weights_product.w[m][k];
            energy += (k ? 2 : 1) * (fr[m][k] * fr[m][k] + fi[m][k] * fi[m][k]);
        }
    if (!(energy > 0))
        return 0;
    for (int m = 0; m < R; m++)
        for (int k = 0; k < H; k++)
            peak = fmax(peak, fmax(fabs(fr[m][k]), fabs(fi[m][k])) / sqrt(energy));
    for (int m = 0; m < R; m++)
        for (int k = 0; k < H; k++) {
            out->c[m][k][0] = (int8_t)lrint(fr[m][k] / sqrt(energy) * 127 / peak);
            out->c[m][k][1] = (int8_t)lrint(fi[m][k] / sqrt(energy) * 127 / peak);
        }
    *scale = (float)(peak / 127);
    return 0;
}

/* ---- the tests -------------------------------------------------------------- */

static void compute(sig_build b, const sidik_template *t, sidik_finger_sig *sig, float *scale)
{
    memset(sig, 0, sizeof *sig);
    *scale = 0;
    assert_int_equal(b(t, &sidik__sig_weights_product, sig, scale), 0);
}

static void test_signature_builds_identical(void **state)
{
    (void)state;
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    const sidik_simd_level best = sidik_cpu_best_level(&f);
    const sig_build builds[] = {sidik__sig_finger_avx2, sidik__sig_finger_avx512};
    const sidik_simd_level needs[] = {SIDIK_SIMD_AVX2, SIDIK_SIMD_AVX512};
    tmpl_set s = all_templates();
    int compared = 0;
    for (size_t i = 0; i < s.n; i++) {
        sidik_finger_sig base, other, api;
        float base_scale, other_scale, api_scale;
        compute(sidik__sig_finger_base, &s.t[i], &base, &base_scale);
        assert_true(base_scale > 0);
        for (int b = 0; b < 2; b++) {
            if (best < needs[b] || !f.fma)
                continue;
            compute(builds[b], &s.t[i], &other, &other_scale);
            assert_memory_equal(&base, &other, sizeof base);
            assert_memory_equal(&base_scale, &other_scale, sizeof base_scale);
            compared++;
        }
        /* The public entry point runs one of them. */
        assert_int_equal(sidik_sig_finger(&s.t[i], &api, &api_scale), 0);
        assert_memory_equal(&base, &api, sizeof base);
        assert_memory_equal(&base_scale, &api_scale, sizeof base_scale);
    }
    if (compared == 0)
        print_message("no AVX2 with FMA on this CPU: only the baseline build checked\n");
    free(s.t);
}

/* The probe form, written element by element from its definition
 * (sig_int.h): column k of each finger's ring x harmonic pairs, the pairs
 * turned to (-im, re), the byte sums times 128, -128 read as -127. */
static void probe_reference(sidik__sig_probe *p, const sidik_person_sig *s)
{
    memset(p, 0, sizeof *p);
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        p->scale[f] = s->scale[f];
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            int32_t sum_re = 0, sum_im = 0;
            for (int r = 0; r < SIDIK_SIG_RINGS; r++) {
                int br = s->f[f].c[r][k][0], bi = s->f[f].c[r][k][1];
                br = br < -127 ? -127 : br;
                bi = bi < -127 ? -127 : bi;
                sum_re += br + bi;
                sum_im += br - bi;
                p->re[f][k][r / 2][2 * (r % 2)] = (int8_t)br;
                p->re[f][k][r / 2][2 * (r % 2) + 1] = (int8_t)bi;
                p->im[f][k][r / 2][2 * (r % 2)] = (int8_t)-bi;
                p->im[f][k][r / 2][2 * (r % 2) + 1] = (int8_t)br;
            }
            p->bias_re[f][k] = 128 * sum_re;
            p->bias_im[f][k] = 128 * sum_im;
        }
    }
}

/* Every build of the probe form against the reference: random bytes with
 * every extreme (-128, -127, 127, 0) and absent fingers. */
static void test_signature_probe_builds_identical(void **state)
{
    (void)state;
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    const sidik_simd_level best = sidik_cpu_best_level(&f);
    typedef void (*probe_build)(sidik__sig_probe *, const sidik_person_sig *);
    const probe_build builds[] = {sidik__sig_probe_init_base, sidik__sig_probe_init_avx2,
                                  sidik__sig_probe_init_avx512, sidik__sig_probe_init};
    const sidik_simd_level needs[] = {SIDIK_SIMD_SCALAR, SIDIK_SIMD_AVX2, SIDIK_SIMD_AVX512,
                                      SIDIK_SIMD_SCALAR};
    sidik_person_sig *sig = malloc(sizeof *sig);
    sidik__sig_probe *want = malloc(sizeof *want), *got = malloc(sizeof *got);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int trial = 0; trial < 64; trial++) {
        int8_t *bytes = &sig->f[0].c[0][0][0];
        for (size_t i = 0; i < sizeof sig->f; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            const int8_t extreme[] = {-128, -127, 127, 0};
            bytes[i] = trial % 4 == 0 ? extreme[(x >> 40) % 4] : (int8_t)(x >> 56);
        }
        for (int g = 0; g < SIDIK_SIG_FINGERS; g++)
            sig->scale[g] = (trial + g) % 5 == 0 ? 0 : 0.01f * (float)(g + 1);
        probe_reference(want, sig);
        for (size_t b = 0; b < sizeof builds / sizeof builds[0]; b++) {
            if (best < needs[b])
                continue;
            memset(got, 0x5a, sizeof *got);
            builds[b](got, sig);
            assert_memory_equal(got, want, sizeof *want);
        }
    }
    free(got);
    free(want);
    free(sig);
}

static void test_signature_matches_double_reference(void **state)
{
    (void)state;
    tmpl_set s = all_templates();
    size_t coefficients = 0, off_by_one = 0;
    for (size_t i = 0; i < s.n; i++) {
        sidik_finger_sig got, want;
        float got_scale, want_scale = 0;
        compute(sidik__sig_finger_base, &s.t[i], &got, &got_scale);
        memset(&want, 0, sizeof want);
        assert_int_equal(reference(&s.t[i], &want, &want_scale), 0);
        for (int m = 0; m < SIDIK_SIG_RINGS; m++)
            for (int k = 0; k < SIDIK_SIG_HARMONICS; k++)
                for (int c = 0; c < 2; c++) {
                    int d = got.c[m][k][c] - want.c[m][k][c];
                    assert_in_range(d + 1, 0, 2); /* within one unit */
                    off_by_one += d != 0;
                    coefficients++;
                }
        /* Single-precision sums over up to 192 minutiae: the scale within
         * 1e-4 of the double one (2e-6 at FVC2002's counts). */
        assert_true(fabsf(got_scale - want_scale) <= 1e-4f * want_scale);
    }
    /* A unit apart only where the exact value is within rounding of a
     * half: a handful per thousand at most. */
    print_message("%zu of %zu coefficients one unit from the reference\n", off_by_one,
                  coefficients);
    assert_true(off_by_one * 1000 <= coefficients);
    free(s.t);
}

/* Too few minutiae is absent (scale 0, zero bytes), whatever was in out. */
static void test_signature_absent_fingers(void **state)
{
    (void)state;
    sidik_template t;
    memset(&t, 0, sizeof t);
    sidik_finger_sig sig, zero;
    memset(&zero, 0, sizeof zero);
    float scale;
    t.count = SIDIK_SIG_MIN_MINUTIAE - 1;
    memset(&sig, 0x55, sizeof sig);
    scale = 3;
    assert_int_equal(sidik_sig_finger(&t, &sig, &scale), 0);
    assert_true(scale == 0);
    assert_memory_equal(&sig, &zero, sizeof sig);
    assert_int_equal(sidik_sig_finger(&t, NULL, &scale), SIDIK_EINVAL);
    assert_int_equal(sidik_sig_finger(&t, &sig, NULL), SIDIK_EINVAL);
    /* A count beyond what m[] holds is refused, not read past the end. */
    t.count = SIDIK_TMPL_MAX_MINUTIAE + 1;
    assert_int_equal(sidik_sig_finger(&t, &sig, &scale), SIDIK_EINVAL);
    assert_true(scale == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_signature_builds_identical),
        SIDIK_TEST(test_signature_probe_builds_identical),
        SIDIK_TEST(test_signature_matches_double_reference),
        SIDIK_TEST(test_signature_absent_fingers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
