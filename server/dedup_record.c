/* The dedup stage: decisions into the control store (dedup_int.h). */
#include "dedup_int.h"
#include "sidik/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Appends to out[0..cap), keeping it terminated; *n stays within cap. */
static void append(char *out, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *out, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k > 0)
        *n = *n + (size_t)k < cap ? *n + (size_t)k : cap - 1;
}

/* "PRINT_READY record 17", "DUPLICATE; candidates: record 4 llr 31.20
 * (threshold 12.40)", "ADJUDICATE: no finger usable for searching". */
static void audit_detail(const sidik__dedup_item *it, sidik_status st, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    append(out, cap, &n, "%s", sidik_status_name(st));
    if (st == SIDIK_STATUS_PRINT_READY)
        append(out, cap, &n, " record %llu", (unsigned long long)it->seq);
    else if (it->probe == NULL)
        append(out, cap, &n, ": %s", it->unusable);
    for (uint32_t j = 0; j < it->found.ncandidates; j++)
        append(out, cap, &n, "%s record %llu llr %.2f (threshold %.2f)",
               j == 0 ? "; candidates:" : ",", (unsigned long long)it->found.candidate[j].id,
               it->found.candidate[j].llr, it->found.candidate[j].threshold);
}

/* Who the decision is about besides the enrollment itself: the reason a
 * person reads first (96 bytes) and the audit detail. A NIK already held,
 * or claimed by an enrollment in review, makes a biometric UNIQUE
 * ADJUDICATE; a DUPLICATE names the matched
 * record's enrollment and says whether it is the same NIK (a re-enrollment)
 * or another (the fraud case: one person, two identities). */
static int explain(sidik_control_txn *t, const sidik__dedup_item *it, sidik_status st, char *reason,
                   size_t rcap, char *detail, size_t dcap)
{
    size_t n = strlen(detail);
    if (it->probe == NULL) {
        snprintf(reason, rcap, "%s", it->unusable);
        return 0;
    }
    if (st == SIDIK_STATUS_ADJUDICATE && it->found.decision == SIDIK_DECISION_UNIQUE) {
        if (it->review_match != 0) {
            snprintf(reason, rcap, "same fingers as %s (in review)", it->review_id);
            append(detail, dcap, &n,
                   "; same fingers as enrollment %s (record %llu), which awaits review",
                   it->review_id, (unsigned long long)it->review_match);
        } else if (it->nik_record != 0) {
            snprintf(reason, rcap,
                     "NIK already enrolled as record %llu; the fingers do not match it",
                     (unsigned long long)it->nik_record);
        } else {
            snprintf(reason, rcap, "NIK also claimed by %s (in review)", it->nik_review_id);
        }
        if (it->nik_record != 0)
            append(detail, dcap, &n, "; NIK %s already enrolled as record %llu", it->nik,
                   (unsigned long long)it->nik_record);
        if (it->nik_review != 0)
            append(detail, dcap, &n,
                   "; NIK %s also claimed by enrollment %s (journal %llu), which awaits review",
                   it->nik, it->nik_review_id, (unsigned long long)it->nik_review);
        return 0;
    }
    if (st != SIDIK_STATUS_DUPLICATE || it->found.ncandidates == 0)
        return 0;
    uint64_t rec = it->found.candidate[0].id;
    sidik_enroll_id other;
    sidik_enrollment e;
    int rc = sidik_control_person_id(t, rec, other);
    if (rc == 0)
        rc = sidik_control_enroll_get(t, other, &e);
    if (rc == SIDIK_ENOTFOUND)
        return 0; /* a person stored before persons were indexed: the candidates say enough */
    if (rc != 0)
        return rc;
    if (strcmp(e.nik, it->nik) == 0)
        snprintf(reason, rcap, "re-enrollment of record %llu, same NIK", (unsigned long long)rec);
    else
        snprintf(reason, rcap, "same fingers as record %llu under another NIK",
                 (unsigned long long)rec);
    append(detail, dcap, &n, "; record %llu is enrollment %s NIK %s; this NIK %s",
           (unsigned long long)rec, other, e.nik[0] ? e.nik : "-", it->nik[0] ? it->nik : "-");
    return 0;
}

static int record_one(sidik_control_txn *t, const sidik__dedup_item *it, int64_t now,
                      uint64_t gallery)
{
    sidik_status st = sidik__dedup_outcome(it);
    uint64_t record = st == SIDIK_STATUS_PRINT_READY ? it->seq : 0;
    int rc = sidik_control_enroll_status(t, it->id, st, now, record);
    if (rc != 0) {
        SIDIK_LOG_ERROR("an enrollment cannot take its decision",
                        "id=%s seq=%llu status=%s error=%s", it->id, (unsigned long long)it->seq,
                        sidik_status_name(st), sidik_err_name(rc));
        return rc;
    }
    if (st == SIDIK_STATUS_PRINT_READY &&
        (rc = sidik_control_person_put(t, it->seq, it->id, it->nik)) != 0)
        return rc;
    sidik_decision_record dr = {.outcome = st, .time_ms = now, .gallery_size = gallery};
    sidik_audit_entry a = {.kind = SIDIK_AUDIT_DECISION, .time_ms = now};
    audit_detail(it, st, a.detail, sizeof a.detail);
    if ((rc = explain(t, it, st, dr.reason, sizeof dr.reason, a.detail, sizeof a.detail)) != 0)
        return rc;
    for (uint32_t j = 0; j < it->found.ncandidates && j < SIDIK_DECISION_RECORD_CANDIDATES; j++) {
        const sidik_candidate *c = &it->found.candidate[j];
        sidik_decision_candidate *o = &dr.candidate[dr.ncandidates++];
        *o = (sidik_decision_candidate){.record_id = c->id,
                                        .llr = c->llr,
                                        .threshold = c->threshold,
                                        .signature = c->signature,
                                        .compared = c->compared};
        memcpy(o->score, c->score, sizeof o->score);
        if (j == 0) {
            dr.threshold = c->threshold;
            dr.review_threshold = c->review_threshold;
        }
    }
    rc = sidik_control_decision_add(t, it->id, &dr, NULL);
    if (rc == 0 && st == SIDIK_STATUS_PRINT_READY)
        rc = sidik_control_print_enqueue(t, it->id, it->region[0] ? it->region : "unknown");
    if (rc != 0)
        return rc;
    snprintf(a.actor, sizeof a.actor, "sidikd");
    snprintf(a.subject, sizeof a.subject, "%s", it->id);
    return sidik_control_audit_append(t, &a, NULL);
}

/* The batch's decisions and the decided point, in one transaction. */
int sidik__dedup_record_batch(sidik_dedup *d)
{
    int64_t now = d->o.now_ms();
    uint64_t gallery = sidik_dedup_gallery_size(d);
    sidik_control_txn *t;
    int rc = sidik_control_begin(d->o.control, true, &t);
    for (uint32_t i = 0; rc == 0 && i < d->nitems; i++)
        rc = record_one(t, &d->items[i], now, gallery);
    if (rc == 0)
        rc = sidik_control_set_decided(t, d->items[d->nitems - 1].seq);
    if (rc != 0) {
        sidik_control_abort(t);
        return rc;
    }
    return sidik_control_commit(t);
}

/* The verdict's adjudicator, for the audit detail (latest decision). */
static void verdict_by(sidik_control_txn *t, const char *id, char *out, size_t cap)
{
    sidik_decision_record dr;
    if (sidik_control_decision_get(t, id, UINT32_MAX, &dr) == 0 && dr.adjudicator[0] != 0)
        snprintf(out, cap, "%s", dr.adjudicator);
    else
        snprintf(out, cap, "an adjudicator");
}

int sidik__dedup_record_verdicts(sidik_dedup *d, const sidik_enroll_id *ids)
{
    int64_t now = d->o.now_ms();
    sidik_control_txn *t;
    int rc = sidik_control_begin(d->o.control, true, &t);
    for (uint32_t i = 0; rc == 0 && i < d->nitems; i++) {
        const sidik__dedup_item *it = &d->items[i];
        const char *id = ids[i];
        if ((rc = sidik_control_enroll_status(t, id, SIDIK_STATUS_PRINT_READY, now, it->seq)) !=
                0 ||
            (rc = sidik_control_person_put(t, it->seq, id, it->nik)) != 0 ||
            (rc = sidik_control_print_enqueue(t, id, it->region[0] ? it->region : "unknown")) !=
                0 ||
            (rc = sidik_control_pending_del(t, id)) != 0) {
            SIDIK_LOG_ERROR("a UNIQUE verdict cannot be carried out", "id=%s seq=%llu error=%s", id,
                            (unsigned long long)it->seq, sidik_err_name(rc));
            break;
        }
        sidik_audit_entry a = {.kind = SIDIK_AUDIT_DECISION, .time_ms = now};
        char by[SIDIK_ADJUDICATOR_MAX + 1];
        verdict_by(t, id, by, sizeof by);
        snprintf(a.actor, sizeof a.actor, "sidikd");
        snprintf(a.subject, sizeof a.subject, "%s", id);
        size_t n = 0;
        append(a.detail, sizeof a.detail, &n, "PRINT_READY record %llu, adjudicated UNIQUE by %s",
               (unsigned long long)it->seq, by);
        if (it->probe == NULL)
            append(a.detail, sizeof a.detail, &n, "; not in the search gallery: %s", it->unusable);
        rc = sidik_control_audit_append(t, &a, NULL);
    }
    if (rc != 0) {
        sidik_control_abort(t);
        return rc;
    }
    return sidik_control_commit(t);
}
