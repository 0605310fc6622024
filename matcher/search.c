/*
 * The search cascade (sidik/search.h): probes, the partition scans handed
 * to the caller's pool, and the full match of each probe's shortlist.
 */
#include "mcc.h"
#include "search_int.h"
#include "sidik/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sidik_probe_create(const sidik_fmr *rec, sidik_probe **out, const char **why)
{
    if (rec == NULL || out == NULL)
        return SIDIK_EINVAL;
    *out = NULL;
    sidik_person_sig sig;
    int rc = sidik_sig_person(rec, &sig, why);
    if (rc != 0)
        return rc;
    sidik_probe *p = sidik_trycalloc(1, sizeof *p);
    if (p == NULL)
        return SIDIK_ENOMEM;
    sidik__sig_probe_init(&p->sig, &sig);
    /* The same view per position as the signature chose. */
    for (uint32_t v = 0; v < rec->nviews && v < SIDIK_FMR_MAX_VIEWS; v++) {
        const sidik_template *t = &rec->views[v];
        if (t->position < 1 || t->position > SIDIK_SIG_FINGERS || !(sig.scale[t->position - 1] > 0))
            continue;
        int f = t->position - 1;
        if (p->finger[f] != NULL) {
            if (t->count <= p->finger[f]->n)
                continue;
            sidik_finger_destroy(p->finger[f]);
            p->finger[f] = NULL;
        }
        if (sidik_finger_create(t, &p->finger[f]) != 0) {
            sidik_probe_destroy(p);
            return SIDIK_ENOMEM;
        }
    }
    *out = p;
    return 0;
}

void sidik_probe_destroy(sidik_probe *p)
{
    if (p == NULL)
        return;
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++)
        sidik_finger_destroy(p->finger[f]);
    sidik_free(p);
}

/* One call's shared state, read by the pool's tasks. */
typedef struct search_call {
    const sidik_gallery *g;
    const sidik_search_config *cfg;
    sidik_probe *const *probes;
    uint32_t n, k;
    sidik__hit *hits;    /* [partition][probe][k] */
    float *probe_offset; /* [probe][finger]: cohort offsets */
    uint32_t *kept;      /* [partition][probe] */
    uint64_t *scanned;   /* [partition] */
    sidik_search_result *results;
    /* DUPLICATE and REVIEW thresholds by fingers shared (index 1..10);
     * INFINITY where no threshold reaches the FPIR. */
    double dup_t[SIDIK_SIG_FINGERS + 1], review_t[SIDIK_SIG_FINGERS + 1];
} search_call;

static void offset_task(void *arg, uint32_t i)
{
    search_call *c = arg;
    sidik__cohort_offsets(c->g, atomic_load_explicit(&c->g->cohort, memory_order_acquire),
                          c->g->cohort_n, &c->probes[i]->sig,
                          c->probe_offset + (size_t)i * SIDIK_SIG_FINGERS);
}

static void scan_task(void *arg, uint32_t p)
{
    search_call *c = arg;
    sidik__gallery_scan(c->g, p, c->probes, (const float(*)[SIDIK_SIG_FINGERS])c->probe_offset,
                        c->n, c->k, c->hits + (size_t)p * c->n * c->k, c->kept + (size_t)p * c->n,
                        &c->scanned[p]);
}

static int hit_cmp(const void *pa, const void *pb)
{
    const sidik__hit *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int cand_cmp(const void *pa, const void *pb)
{
    const sidik_candidate *a = pa, *b = pb;
    if (a->llr != b->llr)
        return a->llr > b->llr ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Full match of one shortlisted person: fingers in the order their
 * signatures rank them (the likeliest evidence first, so most impostors are
 * dropped after two fingers), LLRs summed. */
static int verify(const search_call *c, sidik_matcher *m, sidik_fmr *rec, const sidik_probe *pr,
                  const sidik__hit *h, sidik_candidate *cand, uint32_t *matched)
{
    const sidik_search_config *cfg = c->cfg;
    float fsim[SIDIK_SIG_FINGERS] = {0};
    int lane;
    const sidik__sig_block *blk = sidik__gallery_block(c->g, h->part, h->slot, &lane);
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        /* Lanes up to this slot's are published; later ones are not read. */
        float total[SIDIK__SIG_LANES] = {0}, sim[SIDIK__SIG_LANES];
        if (pr->sig.scale[f] > 0) {
            c->g->scan(&pr->sig, f, blk, lane + 1, 0, total, sim);
            fsim[f] = sim[lane];
        }
    }
    int order[SIDIK_SIG_FINGERS], nf = 0;
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++)
        if (pr->finger[f] != NULL && fsim[f] != 0)
            order[nf++] = f;
    for (int a = 1; a < nf; a++) /* insertion sort, best signature first */
        for (int b = a; b > 0 && fsim[order[b]] > fsim[order[b - 1]]; b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    memset(cand, 0, sizeof *cand);
    cand->id = h->id;
    cand->signature = h->score;
    int rc = cfg->fetch(cfg->fetch_ctx, h->id, rec);
    if (rc != 0)
        return rc;
    const sidik_template *view[SIDIK_SIG_FINGERS] = {0};
    for (uint32_t v = 0; v < rec->nviews && v < SIDIK_FMR_MAX_VIEWS; v++) {
        const sidik_template *t = &rec->views[v];
        if (t->position >= 1 && t->position <= SIDIK_SIG_FINGERS &&
            (view[t->position - 1] == NULL || t->count > view[t->position - 1]->count))
            view[t->position - 1] = t;
    }
    const double floor_llr = sidik_fusion_llr(cfg->fusion, 0);
    int shared = 0;
    for (int j = 0; j < nf; j++)
        shared += view[order[j]] != NULL;
    cand->threshold = c->dup_t[shared];
    cand->review_threshold = c->review_t[shared];
    double llr = 0;
    for (int j = 0; j < nf; j++) {
        int f = order[j];
        if (view[f] == NULL)
            continue;
        sidik_finger *gf;
        if (sidik_finger_create(view[f], &gf) != 0)
            return SIDIK_ENOMEM;
        uint32_t s = sidik_match_score(m, pr->finger[f], gf);
        sidik_finger_destroy(gf);
        (*matched)++;
        cand->score[f] = (uint16_t)s;
        cand->compared |= (uint16_t)(1u << f);
        llr += sidik_fusion_llr(cfg->fusion, s);
        int left = nf - j - 1;
        if (j >= 1 && llr < cfg->reject_llr) {
            cand->llr = -INFINITY; /* two fingers of evidence against: dropped */
            return 0;
        }
        if (llr + left * floor_llr >= cand->threshold)
            break; /* no finger left could undo it */
    }
    cand->llr = shared ? llr : -INFINITY;
    return 0;
}

static void verify_task(void *arg, uint32_t i)
{
    search_call *c = arg;
    sidik_search_result *r = &c->results[i];
    const sidik_probe *pr = c->probes[i];
    /* Merge the partitions' shortlists into the k best overall. */
    uint32_t total = 0;
    sidik__hit *merged = sidik_trymalloc((size_t)c->g->npart * c->k * sizeof *merged);
    sidik_fmr *rec = sidik_trymalloc(sizeof *rec);
    sidik_matcher *m = NULL;
    if (merged == NULL || rec == NULL ||
        (r->status = sidik_matcher_create(c->cfg->level, &m)) != 0) {
        if (r->status == 0)
            r->status = SIDIK_ENOMEM;
        goto out;
    }
    for (uint32_t p = 0; p < c->g->npart; p++) {
        uint32_t kp = c->kept[(size_t)p * c->n + i];
        memcpy(merged + total, c->hits + ((size_t)p * c->n + i) * c->k, kp * sizeof *merged);
        total += kp;
        r->scanned += c->scanned[p];
    }
    qsort(merged, total, sizeof *merged, hit_cmp);
    if (total > c->k)
        total = c->k;
    r->shortlisted = total;
    if (c->cfg->shortlist_ids != NULL)
        for (uint32_t j = 0; j < c->k; j++)
            c->cfg->shortlist_ids[(size_t)i * c->k + j] = j < total ? merged[j].id : UINT64_MAX;
    for (uint32_t j = 0; j < total; j++) {
        sidik_candidate cand;
        r->status = verify(c, m, rec, pr, &merged[j], &cand, &r->fingers_matched);
        if (r->status != 0)
            goto out;
        int shared = __builtin_popcount(cand.compared);
        if (!(cand.llr >= c->review_t[shared < 1 ? 1 : shared]) && !(cand.llr >= cand.threshold))
            continue;
        /* Keep the best SIDIK_SEARCH_CANDIDATES, best first. */
        if (r->ncandidates < SIDIK_SEARCH_CANDIDATES)
            r->candidate[r->ncandidates++] = cand;
        else if (cand_cmp(&cand, &r->candidate[SIDIK_SEARCH_CANDIDATES - 1]) < 0)
            r->candidate[SIDIK_SEARCH_CANDIDATES - 1] = cand;
        else
            continue;
        qsort(r->candidate, r->ncandidates, sizeof r->candidate[0], cand_cmp);
    }
    r->decision = r->ncandidates == 0 ? SIDIK_DECISION_UNIQUE : SIDIK_DECISION_REVIEW;
    for (uint32_t j = 0; j < r->ncandidates; j++)
        if (r->candidate[j].llr >= r->candidate[j].threshold)
            r->decision = SIDIK_DECISION_DUPLICATE;
out:
    sidik_matcher_destroy(m);
    sidik_free(rec);
    sidik_free(merged);
}

int sidik_search(const sidik_gallery *g, const sidik_search_config *cfg, const sidik_pool *pool,
                 sidik_probe *const *probes, uint32_t n, sidik_search_result *results)
{
    if (g == NULL || cfg == NULL || pool == NULL || pool->run == NULL || probes == NULL ||
        results == NULL || cfg->fusion == NULL || cfg->fetch == NULL)
        return SIDIK_EINVAL;
    if (n < 1 || n > SIDIK_SEARCH_MAX_BATCH || cfg->shortlist < 1 ||
        cfg->shortlist > SIDIK_SEARCH_MAX_SHORTLIST || !(cfg->duplicate_fpir > 0) ||
        !(cfg->review_fpir < 1) || !(cfg->review_fpir >= cfg->duplicate_fpir))
        return SIDIK_EINVAL;
    for (uint32_t i = 0; i < n; i++)
        if (probes[i] == NULL)
            return SIDIK_EINVAL;
    if (sidik__match_kernels_get(cfg->level) == NULL)
        return SIDIK_ENOCPU;
    search_call c = {.g = g, .cfg = cfg, .probes = probes, .n = n, .k = cfg->shortlist,
                     .results = results};
    size_t slots = (size_t)g->npart * n;
    c.hits = sidik_trymalloc(slots * c.k * sizeof *c.hits);
    c.kept = sidik_trymalloc(slots * sizeof *c.kept);
    c.scanned = sidik_trymalloc(g->npart * sizeof *c.scanned);
    c.probe_offset = sidik_trymalloc((size_t)n * SIDIK_SIG_FINGERS * sizeof *c.probe_offset);
    int rc = 0;
    if (c.hits == NULL || c.kept == NULL || c.scanned == NULL || c.probe_offset == NULL) {
        rc = SIDIK_ENOMEM;
        goto out;
    }
    uint64_t size = sidik_gallery_size(g);
    for (unsigned f = 1; f <= SIDIK_SIG_FINGERS; f++) {
        if (sidik_fusion_threshold(cfg->fusion, f, size ? size : 1, cfg->duplicate_fpir,
                                   &c.dup_t[f]) != 0)
            c.dup_t[f] = INFINITY;
        if (sidik_fusion_threshold(cfg->fusion, f, size ? size : 1, cfg->review_fpir,
                                   &c.review_t[f]) != 0)
            c.review_t[f] = INFINITY;
    }
    c.dup_t[0] = c.review_t[0] = INFINITY;
    memset(results, 0, n * sizeof *results);
    pool->run(pool->ctx, n, offset_task, &c);
    pool->run(pool->ctx, g->npart, scan_task, &c);
    pool->run(pool->ctx, n, verify_task, &c);
out:
    sidik_free(c.hits);
    sidik_free(c.kept);
    sidik_free(c.scanned);
    sidik_free(c.probe_offset);
    return rc;
}
