/* The dedup stage: deciding a batch (dedup_int.h). */
#include "dedup_int.h"
#include "sidik/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REJECT_LLR (-2.0) /* drop a candidate this far below after two fingers */

/* A search gallery with the stage's cohort, so the in-flight set's scan
 * scores are the shards' kind. */
int sidik__dedup_gallery_create(const sidik_dedup *d, uint32_t partitions, sidik_gallery **out)
{
    int rc = sidik_gallery_create(partitions, d->o.level, out);
    if (rc == 0 && d->o.ncohort > 0 &&
        (rc = sidik_gallery_set_cohort(*out, d->o.cohort, d->o.ncohort)) != 0) {
        sidik_gallery_destroy(*out);
        *out = NULL;
    }
    return rc;
}

static sidik_search_config search_config(const sidik_dedup *d)
{
    return (sidik_search_config){.fusion = d->o.fusion,
                                 .shortlist = d->o.shortlist,
                                 .duplicate_fpir = d->o.duplicate_fpir,
                                 .review_fpir = d->o.review_fpir,
                                 .reject_llr = REJECT_LLR,
                                 .level = d->o.level};
}

/* A record of the search gallery: an enrolled person's from the shards, or
 * one awaiting review from the review set. */
static int fetch_gallery(void *ctx, uint64_t id, sidik_fmr *out)
{
    const sidik_dedup *d = ctx;
    const sidik__review_entry *e = sidik__review_find(&d->review, id);
    if (e != NULL)
        return sidik_fmr_decode(e->iso, e->iso_len, out, NULL);
    return sidik_shardset_fetch(d->o.shards, id, out);
}

/* The batch's own records, for searching probes against each other. */
static int fetch_batch(void *ctx, uint64_t id, sidik_fmr *out)
{
    const sidik_dedup *d = ctx;
    for (uint32_t i = 0; i < d->nitems; i++)
        if (d->items[i].seq == id) {
            *out = *d->items[i].rec;
            return 0;
        }
    return SIDIK_ENOTFOUND;
}

static int cand_cmp(const void *a, const void *b)
{
    double x = ((const sidik_candidate *)a)->llr, y = ((const sidik_candidate *)b)->llr;
    return x > y ? -1 : x < y ? 1 : 0;
}

/* Folds the candidates probe i's search against the batch found into its
 * result (settle decides on them). */
static void merge(sidik_search_result *into, const sidik_search_result *more)
{
    for (uint32_t j = 0; j < more->ncandidates; j++) {
        if (into->ncandidates < SIDIK_SEARCH_CANDIDATES)
            into->candidate[into->ncandidates++] = more->candidate[j];
        else if (more->candidate[j].llr > into->candidate[SIDIK_SEARCH_CANDIDATES - 1].llr)
            into->candidate[SIDIK_SEARCH_CANDIDATES - 1] = more->candidate[j];
        qsort(into->candidate, into->ncandidates, sizeof into->candidate[0], cand_cmp);
    }
}

/* dedup_int.h says what it decides. */
sidik_status sidik__dedup_outcome(const sidik__dedup_item *it)
{
    if (it->probe == NULL)
        return SIDIK_STATUS_ADJUDICATE;
    switch (it->found.decision) {
    case SIDIK_DECISION_DUPLICATE:
        return SIDIK_STATUS_DUPLICATE;
    case SIDIK_DECISION_REVIEW:
        return SIDIK_STATUS_ADJUDICATE;
    default:
        return it->nik_record != 0 || it->nik_review != 0 || it->review_match != 0
                   ? SIDIK_STATUS_ADJUDICATE
                   : SIDIK_STATUS_PRINT_READY;
    }
}

/* The id of record `id` if it is an enrollment awaiting review: one of the
 * review set, or one of this batch already decided ADJUDICATE; else NULL. */
static const char *awaiting_review(const sidik_dedup *d, uint64_t id)
{
    const sidik__review_entry *e = sidik__review_find(&d->review, id);
    if (e != NULL)
        return e->id;
    for (uint32_t i = 0; i < d->nitems; i++)
        if (d->items[i].seq == id && d->items[i].probe != NULL)
            return sidik__dedup_outcome(&d->items[i]) == SIDIK_STATUS_ADJUDICATE ? d->items[i].id
                                                                                 : NULL;
    return NULL;
}

/* The decision its candidates make. A candidate that is an enrolled person
 * decides as the search said: DUPLICATE at or above its threshold, else
 * REVIEW. One awaiting review is not enrolled, and nobody yet knows whether
 * it will be: a match with it sends it to review beside it (review_match),
 * so one person decides both. Printing it would give a person two cards
 * the day the first is adjudicated UNIQUE; calling it a DUPLICATE would
 * name a record that may never exist. */
static void settle(const sidik_dedup *d, sidik__dedup_item *it)
{
    sidik_search_result *f = &it->found;
    sidik_candidate waiting[SIDIK_SEARCH_CANDIDATES];
    uint32_t kept = 0, nwaiting = 0;
    f->decision = SIDIK_DECISION_UNIQUE;
    it->review_match = 0;
    for (uint32_t j = 0; j < f->ncandidates; j++) { /* best first */
        const sidik_candidate *c = &f->candidate[j];
        const char *other = awaiting_review(d, c->id);
        if (other != NULL) {
            if (it->review_match == 0) {
                it->review_match = c->id;
                snprintf(it->review_id, sizeof it->review_id, "%s", other);
            }
            waiting[nwaiting++] = *c;
            continue;
        }
        sidik_decision was =
            c->llr >= c->threshold ? SIDIK_DECISION_DUPLICATE : SIDIK_DECISION_REVIEW;
        if (was > f->decision)
            f->decision = was;
        f->candidate[kept++] = *c;
    }
    /* Enrolled persons first: the record a DUPLICATE names (its reason,
     * the office's answer) is always one that exists. */
    memcpy(&f->candidate[kept], waiting, nwaiting * sizeof *waiting);
}

typedef struct nik_claim {
    const sidik__dedup_item *it;
    sidik_control_txn *t;
    sidik_enrollment e; /* scratch */
} nik_claim;

/* Stops at a decided enrollment of the NIK that is in review now. */
static int claim_in_review(void *ctx, const sidik_decision_ref *r)
{
    nik_claim *c = ctx;
    if (strcmp(r->id, c->it->id) == 0)
        return 0;
    int rc = sidik_control_enroll_get(c->t, r->id, &c->e);
    if (rc != 0)
        return rc == SIDIK_ENOTFOUND ? 0 : rc;
    return c->e.status == SIDIK_STATUS_ADJUDICATE;
}

static void claimed_in_review(sidik__dedup_item *it, uint64_t seq, const char *id)
{
    it->nik_review = seq;
    snprintf(it->nik_review_id, sizeof it->nik_review_id, "%s", id);
}

/* Notes who already claims item k's NIK: a person holding it (an earlier
 * UNIQUE of this batch, else one of the gallery, t), else an enrollment
 * awaiting review (an earlier ADJUDICATE of this batch, else one the
 * control store's NIK index of decisions finds in review). An enrollment in
 * review is nobody's yet: a second claim of its NIK, printed meanwhile,
 * would leave the adjudicator two claimants and one of them holding a card.
 * A NIK's decisions are few, so the walk is a short range read. */
static int nik_check(sidik_dedup *d, sidik_control_txn *t, uint32_t k)
{
    sidik__dedup_item *it = &d->items[k];
    if (it->nik[0] == 0)
        return 0;
    const sidik__dedup_item *waiting = NULL;
    for (uint32_t j = 0; j < k; j++) {
        const sidik__dedup_item *o = &d->items[j];
        if (strcmp(o->nik, it->nik) != 0)
            continue;
        sidik_status st = sidik__dedup_outcome(o);
        if (st == SIDIK_STATUS_PRINT_READY) {
            it->nik_record = o->seq;
            return 0;
        }
        if (st == SIDIK_STATUS_ADJUDICATE && waiting == NULL)
            waiting = o;
    }
    int rc = sidik_control_person_by_nik(t, it->nik, &it->nik_record);
    if (rc != SIDIK_ENOTFOUND)
        return rc;
    if (waiting != NULL) {
        claimed_in_review(it, waiting->seq, waiting->id);
        return 0;
    }
    nik_claim c = {.it = it, .t = t};
    rc = sidik_control_decision_walk(t, SIDIK_DECISIONS_OF_NIK, it->nik, 0, 0, NULL,
                                     claim_in_review, &c);
    if (rc == 1)
        claimed_in_review(it, c.e.journal_seq, c.e.id);
    return rc == 1 ? 0 : rc;
}

/* Searches the gallery for the whole batch, then each probe against the
 * earlier ones of the batch found UNIQUE (enrolled in the same moment, not
 * yet in the gallery). */
int sidik__dedup_search_batch(sidik_dedup *d)
{
    sidik_probe *probes[SIDIK_SEARCH_MAX_BATCH];
    uint32_t at[SIDIK_SEARCH_MAX_BATCH], m = 0;
    for (uint32_t i = 0; i < d->nitems; i++)
        if (d->items[i].probe != NULL) {
            at[m] = i;
            probes[m++] = d->items[i].probe;
        }
    if (m == 0)
        return 0;
    sidik_search_result *res = sidik_trycalloc(m, sizeof *res);
    if (res == NULL)
        return SIDIK_ENOMEM;
    sidik_search_config cfg = search_config(d);
    cfg.fetch = fetch_gallery;
    cfg.fetch_ctx = d;
    int rc = sidik_search(d->gallery, &cfg, d->o.pool, probes, m, res);
    for (uint32_t k = 0; rc == 0 && k < m; k++) {
        rc = res[k].status;
        d->items[at[k]].found = res[k];
        settle(d, &d->items[at[k]]);
    }
    sidik_free(res);
    if (rc != 0)
        return rc;

    sidik_gallery *own = NULL;
    sidik_control_txn *t = NULL;
    rc = sidik__dedup_gallery_create(d, 1, &own);
    if (rc == 0)
        rc = sidik_control_begin(d->o.control, false, &t);
    cfg.fetch = fetch_batch;
    cfg.fetch_ctx = d;
    for (uint32_t k = 0; rc == 0 && k < m; k++) {
        sidik__dedup_item *it = &d->items[at[k]];
        if (sidik_gallery_size(own) > 0) {
            sidik_search_result r;
            rc = sidik_search(own, &cfg, d->o.pool, &it->probe, 1, &r);
            if (rc == 0 && (rc = r.status) == 0) {
                merge(&it->found, &r);
                settle(d, it);
            }
        }
        if (rc == 0)
            rc = nik_check(d, t, at[k]);
        /* The later ones meet this one as they will meet it in the gallery:
         * enrolled, or awaiting review. */
        if (rc == 0 && sidik__dedup_outcome(it) != SIDIK_STATUS_DUPLICATE)
            rc = sidik_gallery_insert(own, it->seq, &it->sig);
    }
    sidik_control_abort(t);
    sidik_gallery_destroy(own);
    return rc;
}
