/*
 * FVC error rates (definitions in fvc_metrics.h).
 *
 * Both score arrays are sorted ascending once; every rate then comes from
 * counts found by walking or bisecting the sorted arrays. Rates are compared
 * as cross-multiplied integer counts (FNMR <= FMR is fn * I <= fm * G), so
 * no rounding can move t1 or t2, and are turned into fractions only at the
 * end.
 */
#include "fvc_metrics.h"
#include "sidik/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A sorted copy of one score array. */
struct sorted {
    uint32_t *v;
    uint64_t n;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int args_ok(const uint32_t *genuine, size_t ngenuine, const uint32_t *impostor,
                   size_t nimpostor, const void *out)
{
    return genuine != NULL && impostor != NULL && out != NULL && ngenuine > 0 && nimpostor > 0 &&
           ngenuine <= UINT32_MAX && nimpostor <= UINT32_MAX;
}

static int sort_copy(const uint32_t *p, size_t n, struct sorted *out)
{
    out->v = sidik_trymalloc(n * sizeof *p);
    if (out->v == NULL)
        return SIDIK_ENOMEM;
    memcpy(out->v, p, n * sizeof *p);
    qsort(out->v, n, sizeof *p, cmp_u32);
    out->n = n;
    return 0;
}

static int sort_both(const uint32_t *genuine, size_t ngenuine, const uint32_t *impostor,
                     size_t nimpostor, struct sorted *g, struct sorted *m)
{
    int rc = sort_copy(genuine, ngenuine, g);
    if (rc != 0)
        return rc;
    rc = sort_copy(impostor, nimpostor, m);
    if (rc != 0)
        sidik_free(g->v);
    return rc;
}

/* How many of s are <= x. */
static uint64_t count_le(const struct sorted *s, uint32_t x)
{
    uint64_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (s->v[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The lowest threshold accepting at most `allowed` impostor scores: 0 when
 * all may be accepted, else one above the (allowed+1)-th highest impostor
 * score, which must be rejected. Ties with that score are rejected with it,
 * so fewer than `allowed` may end up accepted. */
static void point_for_allowed(const struct sorted *g, const struct sorted *m, uint64_t allowed,
                              sidik_fvc_point *out)
{
    if (allowed >= m->n) {
        out->threshold = 0;
        out->fmr = 1.0;
        out->fnmr = 0.0;
        return;
    }
    uint32_t reject = m->v[m->n - 1 - allowed];
    out->threshold = (uint64_t)reject + 1;
    out->fmr = (double)(m->n - count_le(m, reject)) / (double)m->n;
    out->fnmr = (double)count_le(g, reject) / (double)g->n;
}

/* One candidate threshold's error counts: fn genuine scores below it, fm
 * impostor scores at or above it. */
struct counts {
    uint64_t fn, fm;
};

static void eer_interval(const struct sorted *g, const struct sorted *m, sidik_fvc_rates *out)
{
    const uint64_t G = g->n, I = m->n;
    struct counts t1 = {0, I}, t2 = {G, 0};
    int have_t2 = 0;
    uint64_t gi = 0, mi = 0; /* scores below the candidate threshold */

    /* Walk the distinct score values upwards, then one threshold above them
     * all (gi == G, mi == I). FNMR - FMR never falls along the walk, so the
     * last candidate with FNMR <= FMR is t1 and the first with FNMR >= FMR
     * is t2. */
    for (;;) {
        struct counts c = {gi, I - mi};
        if (c.fn * I <= c.fm * G)
            t1 = c;
        if (!have_t2 && c.fn * I >= c.fm * G) {
            t2 = c;
            have_t2 = 1;
        }
        if (gi == G && mi == I)
            break;
        uint32_t v;
        if (gi == G)
            v = m->v[mi];
        else if (mi == I)
            v = g->v[gi];
        else
            v = g->v[gi] < m->v[mi] ? g->v[gi] : m->v[mi];
        /* Step past every score equal to v: the next candidate is the next
         * distinct value, where all of them count as below it. */
        while (gi < G && g->v[gi] == v)
            gi++;
        while (mi < I && m->v[mi] == v)
            mi++;
    }

    /* FVC picks the side whose FMR + FNMR is smaller, scaled here by G * I. */
    if (t1.fn * I + t1.fm * G <= t2.fm * G + t2.fn * I) {
        out->eer_low = (double)t1.fn / (double)G;
        out->eer_high = (double)t1.fm / (double)I;
    } else {
        out->eer_low = (double)t2.fm / (double)I;
        out->eer_high = (double)t2.fn / (double)G;
    }
    out->eer = (out->eer_low + out->eer_high) / 2.0;
}

int sidik_fvc_compute(const uint32_t *genuine, size_t ngenuine, const uint32_t *impostor,
                      size_t nimpostor, sidik_fvc_rates *out)
{
    if (!args_ok(genuine, ngenuine, impostor, nimpostor, out))
        return SIDIK_EINVAL;
    struct sorted g, m;
    int rc = sort_both(genuine, ngenuine, impostor, nimpostor, &g, &m);
    if (rc != 0)
        return rc;

    sidik_fvc_rates r;
    eer_interval(&g, &m, &r);
    sidik_fvc_point p;
    /* FMR <= 1/100 means accepted * 100 <= I, i.e. accepted <= floor(I/100). */
    point_for_allowed(&g, &m, m.n / 100, &p);
    r.fmr100 = p.fnmr;
    point_for_allowed(&g, &m, m.n / 1000, &p);
    r.fmr1000 = p.fnmr;
    point_for_allowed(&g, &m, 0, &p);
    r.zerofmr = p.fnmr;

    sidik_free(g.v);
    sidik_free(m.v);
    *out = r;
    return 0;
}

int sidik_fvc_threshold_for_fmr(const uint32_t *genuine, size_t ngenuine, const uint32_t *impostor,
                                size_t nimpostor, double target_fmr, sidik_fvc_point *out)
{
    if (!args_ok(genuine, ngenuine, impostor, nimpostor, out))
        return SIDIK_EINVAL;
    if (!(target_fmr >= 0.0 && target_fmr <= 1.0)) /* also refuses NaN */
        return SIDIK_EINVAL;
    struct sorted g, m;
    int rc = sort_both(genuine, ngenuine, impostor, nimpostor, &g, &m);
    if (rc != 0)
        return rc;

    /* 0.01 * 100 may come out a hair under 1 in binary; the tolerance keeps
     * it from rounding down to 0. It can admit one more attempt only when
     * target_fmr * I lies within a relative 1e-12 below an integer, far
     * closer than any target a person would write. */
    uint64_t allowed = (uint64_t)floor(target_fmr * (double)m.n * (1.0 + 1e-12));
    point_for_allowed(&g, &m, allowed, out);

    sidik_free(g.v);
    sidik_free(m.v);
    return 0;
}
