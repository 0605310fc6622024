/*
 * A fusion model learned from synthetic genuine and impostor finger pairs
 * (sidik_synth_fusion in synth.h): what sidikd uses until an operator gives
 * it one measured on real captures, and what the tests decide with.
 */
#include "sidik/common.h"
#include "synth.h"

#include <stdatomic.h>

#define IMPOSTOR_PARTNERS 8 /* other persons each finger is scored against */
#define NO_SCORE UINT32_MAX  /* a finger the capture left out: no pair */

typedef struct learning {
    const sidik_synth_params *p;
    uint64_t seed;
    uint32_t persons;
    sidik_simd_level level;
    sidik_finger **f; /* [person][impression 0, 1][finger] */
    uint32_t *gen, *imp;
    _Atomic int rc;
} learning;

static sidik_finger **finger_at(learning *l, uint32_t person, uint32_t imp, uint32_t finger)
{
    return &l->f[((size_t)person * 2 + imp) * SIDIK_SIG_FINGERS + finger];
}

static void prepare(void *arg, uint32_t i)
{
    learning *l = arg;
    sidik_fmr *r = sidik_trymalloc(sizeof *r);
    int rc = r == NULL ? SIDIK_ENOMEM : 0;
    for (uint32_t imp = 0; rc == 0 && imp < 2; imp++) {
        rc = sidik_synth_impression(l->p, l->seed, i, imp, r, NULL, NULL);
        for (uint32_t v = 0; rc == 0 && v < r->nviews; v++)
            rc = sidik_finger_create(&r->views[v], finger_at(l, i, imp, r->views[v].position - 1u));
    }
    sidik_free(r);
    if (rc != 0)
        atomic_store(&l->rc, rc);
}

static void score(void *arg, uint32_t i)
{
    learning *l = arg;
    sidik_matcher *m;
    int rc = sidik_matcher_create(l->level, &m);
    if (rc != 0) {
        atomic_store(&l->rc, rc);
        return;
    }
    for (uint32_t f = 0; f < SIDIK_SIG_FINGERS; f++) {
        sidik_finger *a = *finger_at(l, i, 0, f), *b = *finger_at(l, i, 1, f);
        l->gen[i * SIDIK_SIG_FINGERS + f] = a && b ? sidik_match_score(m, a, b) : NO_SCORE;
        for (uint32_t d = 0; d < IMPOSTOR_PARTNERS; d++) {
            b = *finger_at(l, (i + 1 + d) % l->persons, 1, f);
            l->imp[(i * SIDIK_SIG_FINGERS + f) * IMPOSTOR_PARTNERS + d] =
                a && b ? sidik_match_score(m, a, b) : NO_SCORE;
        }
    }
    sidik_matcher_destroy(m);
}

/* Drops the pairs that had no finger; how many are left. */
static size_t compact(uint32_t *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != NO_SCORE)
            s[k++] = s[i];
    return k;
}

static void run_inline(void *ctx, uint32_t n, void (*task)(void *, uint32_t), void *arg)
{
    (void)ctx;
    for (uint32_t i = 0; i < n; i++)
        task(arg, i);
}

int sidik_synth_fusion_scores(const sidik_synth_params *p, uint64_t seed, uint32_t persons,
                              sidik_simd_level level, const sidik_pool *pool, uint32_t **genuine,
                              uint32_t *ngenuine, uint32_t **impostor, uint32_t *nimpostor)
{
    const sidik_pool inline_pool = {run_inline, NULL};
    if (p == NULL || genuine == NULL || ngenuine == NULL || impostor == NULL ||
        nimpostor == NULL || persons <= IMPOSTOR_PARTNERS)
        return SIDIK_EINVAL;
    if (pool == NULL)
        pool = &inline_pool;
    size_t fingers = (size_t)persons * SIDIK_SIG_FINGERS;
    learning l = {.p = p, .seed = seed, .persons = persons, .level = level};
    l.f = sidik_trycalloc(fingers * 2, sizeof *l.f);
    l.gen = sidik_trymalloc(fingers * sizeof *l.gen);
    l.imp = sidik_trymalloc(fingers * IMPOSTOR_PARTNERS * sizeof *l.imp);
    int rc = l.f == NULL || l.gen == NULL || l.imp == NULL ? SIDIK_ENOMEM : 0;
    if (rc == 0) {
        pool->run(pool->ctx, persons, prepare, &l);
        rc = atomic_load(&l.rc);
    }
    if (rc == 0) {
        pool->run(pool->ctx, persons, score, &l);
        rc = atomic_load(&l.rc);
    }
    for (size_t i = 0; l.f != NULL && i < fingers * 2; i++)
        sidik_finger_destroy(l.f[i]);
    sidik_free(l.f);
    if (rc != 0) {
        sidik_free(l.gen);
        sidik_free(l.imp);
        return rc;
    }
    *genuine = l.gen, *ngenuine = (uint32_t)compact(l.gen, fingers);
    *impostor = l.imp, *nimpostor = (uint32_t)compact(l.imp, fingers * IMPOSTOR_PARTNERS);
    return 0;
}

int sidik_synth_fusion(const sidik_synth_params *p, uint64_t seed, uint32_t persons,
                       sidik_simd_level level, const sidik_pool *pool, sidik_fusion **out)
{
    if (out == NULL)
        return SIDIK_EINVAL;
    uint32_t *gen, *imp, ngen, nimp;
    int rc = sidik_synth_fusion_scores(p, seed, persons, level, pool, &gen, &ngen, &imp, &nimp);
    if (rc != 0)
        return rc;
    rc = sidik_fusion_create(gen, ngen, imp, nimp, out);
    sidik_free(gen);
    sidik_free(imp);
    return rc;
}
