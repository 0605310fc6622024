/*
 * The search signature (sidik/signature.h): the complex spectral minutiae
 * representation, sampled on a polar grid and kept as angular harmonics.
 *
 * Computed once per finger at enrollment and per probe, so it favours
 * clarity: double precision, libm. About 135 us for a 40-minutia finger
 * (measured on the synthetic population; the sines and cosines per minutia
 * and ray dominate).
 */
#include "sig_int.h"
#include "sidik/common.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

/* The band: below 0.03 rad/px (wavelengths above 200 px, the size of the
 * whole print) the spectrum is dominated by how much of the finger was
 * captured; above 0.20 it follows minutia positions too finely to survive
 * skin distortion and missing minutiae. 48 angles resolve the 16 harmonics
 * kept. docs/search.md has the sweep. */
#define LAMBDA_LO 0.03
#define LAMBDA_HI 0.20
#define ANGLES    48

static sidik__sig_tables tables;
static double dft_c[SIDIK_SIG_HARMONICS][ANGLES], dft_s[SIDIK_SIG_HARMONICS][ANGLES];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_build(void)
{
    const double pi = 3.14159265358979323846;
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++)
        for (int n = 0; n < ANGLES; n++) {
            dft_c[k][n] = cos(2 * pi * k * n / ANGLES);
            dft_s[k][n] = sin(2 * pi * k * n / ANGLES);
        }
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
        /* Harmonic k > 0 stands for itself and its mirror -k (the spectrum
         * is real), hence the weight 2. */
        double w = k ? 2.0 : 1.0;
        tables.w[k] = (int16_t)lrint(w * SIDIK__SIG_ROT_ONE);
        for (int r = 0; r < SIDIK__SIG_ROT_PAIRS; r++) {
            double alpha = SIDIK_SIG_ROT_MAX * (r + 1.0) / SIDIK__SIG_ROT_PAIRS * pi / 180;
            tables.cos[r][k] = (int16_t)lrint(w * cos(k * alpha) * SIDIK__SIG_ROT_ONE);
            tables.sin[r][k] = (int16_t)lrint(w * sin(k * alpha) * SIDIK__SIG_ROT_ONE);
        }
    }
}

const sidik__sig_tables *sidik__sig_tables_get(void)
{
    pthread_once(&tables_once, tables_build);
    return &tables;
}

int sidik_sig_finger(const sidik_template *t, sidik_finger_sig *out, float *scale)
{
    if (t == NULL || out == NULL || scale == NULL)
        return SIDIK_EINVAL;
    memset(out, 0, sizeof *out);
    *scale = 0;
    sidik__sig_tables_get();
    if (t->count < SIDIK_SIG_MIN_MINUTIAE)
        return 0;

    const double pi = 3.14159265358979323846;
    const double dl = (LAMBDA_HI - LAMBDA_LO) / (SIDIK_SIG_RINGS - 1);
    double sp[SIDIK_SIG_RINGS][ANGLES];
    double mean = 0;
    for (int n = 0; n < ANGLES; n++) {
        double c = cos(2 * pi * n / ANGLES), s = sin(2 * pi * n / ANGLES);
        double re[SIDIK_SIG_RINGS] = {0}, im[SIDIK_SIG_RINGS] = {0};
        for (int i = 0; i < t->count; i++) {
            /* Along a ray the phase -lambda u + theta grows linearly with the
             * ring, so each ring's phasor is the previous one turned by a
             * fixed step: two sincos per minutia and ray instead of 16. */
            double u = t->m[i].x * c + t->m[i].y * s;
            double ph = -LAMBDA_LO * u + t->m[i].angle * (2 * pi / 256);
            double pr = cos(ph), pim = sin(ph), sr = cos(dl * u), si = -sin(dl * u);
            for (int m = 0; m < SIDIK_SIG_RINGS; m++) {
                re[m] += pr;
                im[m] += pim;
                double nr = pr * sr - pim * si;
                pim = pr * si + pim * sr;
                pr = nr;
            }
        }
        for (int m = 0; m < SIDIK_SIG_RINGS; m++) {
            sp[m][n] = sqrt(re[m] * re[m] + im[m] * im[m]);
            mean += sp[m][n];
        }
    }
    mean /= SIDIK_SIG_RINGS * ANGLES;

    /* Angular harmonics of each ring, the whole grid's mean removed so the
     * correlation below is a centred (Pearson-like) one. */
    double fr[SIDIK_SIG_RINGS][SIDIK_SIG_HARMONICS], fi[SIDIK_SIG_RINGS][SIDIK_SIG_HARMONICS];
    double energy = 0;
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            double ar = 0, ai = 0;
            for (int n = 0; n < ANGLES; n++) {
                double v = sp[m][n] - mean;
                ar += v * dft_c[k][n];
                ai -= v * dft_s[k][n];
            }
            fr[m][k] = ar;
            fi[m][k] = ai;
            energy += (k ? 2.0 : 1.0) * (ar * ar + ai * ai);
        }
    if (!(energy > 0))
        return 0;

    double norm = 1 / sqrt(energy), peak = 0;
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            fr[m][k] *= norm;
            fi[m][k] *= norm;
            peak = fmax(peak, fmax(fabs(fr[m][k]), fabs(fi[m][k])));
        }
    double q = 127 / peak;
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            out->c[m][k][0] = (int8_t)lrint(fr[m][k] * q);
            out->c[m][k][1] = (int8_t)lrint(fi[m][k] * q);
        }
    *scale = (float)(peak / 127);
    return 0;
}

int sidik_sig_person(const sidik_fmr *rec, sidik_person_sig *out, const char **why)
{
    if (rec == NULL || out == NULL)
        return SIDIK_EINVAL;
    memset(out, 0, sizeof *out);
    const sidik_template *best[SIDIK_SIG_FINGERS] = {0};
    for (uint32_t v = 0; v < rec->nviews && v < SIDIK_FMR_MAX_VIEWS; v++) {
        const sidik_template *t = &rec->views[v];
        if (t->position < 1 || t->position > SIDIK_SIG_FINGERS)
            continue;
        const sidik_template **slot = &best[t->position - 1];
        if (*slot == NULL || t->count > (*slot)->count)
            *slot = t;
    }
    int usable = 0;
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        if (best[f] == NULL)
            continue;
        sidik_sig_finger(best[f], &out->f[f], &out->scale[f]);
        usable += out->scale[f] > 0;
    }
    if (usable == 0) {
        if (why != NULL)
            *why = "no view with a finger position 1..10 and at least 6 minutiae";
        return SIDIK_ENOTFOUND;
    }
    return 0;
}

void sidik__sig_probe_init(sidik__sig_probe *p, const sidik_person_sig *s)
{
    /* Every insert into a gallery with a cohort prepares the person this
     * way, so it is on the load path. Seen as (re, im) pairs, p->re[f][k]
     * is column k of the finger's ring x harmonic matrix: a transpose of
     * 16-bit pairs, and p->im the same pairs turned to (-im, re). The
     * clamp and the sums run over whole rows, which the compiler
     * vectorises. */
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        p->scale[f] = s->scale[f];
        /* sidik_sig_finger never writes -128; clamping keeps a negated
         * coefficient a byte whatever the input. */
        int8_t c[SIDIK_SIG_RINGS][SIDIK_SIG_HARMONICS][2];
        const int8_t *src = &s->f[f].c[0][0][0];
        for (size_t i = 0; i < sizeof c; i++)
            (&c[0][0][0])[i] = src[i] < -127 ? -127 : src[i];
        int32_t sum_re[SIDIK_SIG_HARMONICS] = {0}, sum_im[SIDIK_SIG_HARMONICS] = {0};
        for (int r = 0; r < SIDIK_SIG_RINGS; r++)
            for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
                sum_re[k] += c[r][k][0] + c[r][k][1];
                sum_im[k] += c[r][k][0] - c[r][k][1];
            }
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            p->bias_re[f][k] = 128 * sum_re[k];
            p->bias_im[f][k] = 128 * sum_im[k];
            /* Real part of g * conj(p): (br, bi), moved as one 16-bit pair. */
            int8_t *column = &p->re[f][k][0][0]; /* 8 ring pairs x 4 bytes */
            for (int r = 0; r < SIDIK_SIG_RINGS; r++)
                memcpy(column + 2 * r, c[r][k], 2);
        }
        /* Imaginary part: (-bi, br), element-wise over the transposed bytes. */
        const int8_t *re = &p->re[f][0][0][0];
        int8_t *im = &p->im[f][0][0][0];
        for (size_t i = 0; i < sizeof p->re[f]; i += 2) {
            im[i] = (int8_t)-re[i + 1];
            im[i + 1] = re[i];
        }
    }
}

void sidik__sig_block_put(sidik__sig_block *b, int lane, const sidik_person_sig *s)
{
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        b->scale[f][lane] = s->scale[f];
        b->offset[f][lane] = 0;
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++)
            for (int m = 0; m < SIDIK__SIG_RING_PAIRS; m++) {
                uint8_t *d = b->c[f][k][m][lane];
                d[0] = (uint8_t)(s->f[f].c[2 * m][k][0] + 128);
                d[1] = (uint8_t)(s->f[f].c[2 * m][k][1] + 128);
                d[2] = (uint8_t)(s->f[f].c[2 * m + 1][k][0] + 128);
                d[3] = (uint8_t)(s->f[f].c[2 * m + 1][k][1] + 128);
            }
    }
}

void sidik__sig_block_get(const sidik__sig_block *b, int lane, sidik_person_sig *s)
{
    memset(s, 0, sizeof *s);
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        s->scale[f] = b->scale[f][lane];
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++)
            for (int m = 0; m < SIDIK__SIG_RING_PAIRS; m++) {
                const uint8_t *d = b->c[f][k][m][lane];
                s->f[f].c[2 * m][k][0] = (int8_t)(d[0] - 128);
                s->f[f].c[2 * m][k][1] = (int8_t)(d[1] - 128);
                s->f[f].c[2 * m + 1][k][0] = (int8_t)(d[2] - 128);
                s->f[f].c[2 * m + 1][k][1] = (int8_t)(d[3] - 128);
            }
    }
}

float sidik_sig_similarity(const sidik_finger_sig *a, float scale_a, const sidik_finger_sig *b,
                           float scale_b)
{
    if (!(scale_a > 0) || !(scale_b > 0))
        return 0;
    /* Lane 0 of the scan's rotation step, so this is the scan's value
     * exactly. */
    int32_t cre[SIDIK_SIG_HARMONICS][SIDIK__SIG_LANES] = {{0}};
    int32_t cim[SIDIK_SIG_HARMONICS][SIDIK__SIG_LANES] = {{0}};
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            int ar = a->c[m][k][0], ai = a->c[m][k][1], br = b->c[m][k][0], bi = b->c[m][k][1];
            cre[k][0] += ar * br + ai * bi;
            cim[k][0] += ai * br - ar * bi;
        }
    float best[SIDIK__SIG_LANES];
    sidik__sig_best_rotation(sidik__sig_tables_get(), cre, cim, best);
    return best[0] * (scale_a * scale_b);
}
