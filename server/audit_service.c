/* Audit.GetDecision, SearchDecisions, ReviewQueue and VerifyChain
 * (sidik/audit_service.h); Adjudicate is in audit_adjudicate.c. */
#include "audit_int.h"
#include "sidik/common.h"
#include "sidik/pb.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PAGE_BYTES_MAX (1u << 20) /* well under the smallest sensible max_message_bytes */
#define PAGE_FULL      1          /* a walk's own stop, not an error */

int sidik__audit_say(char *why, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return rc;
}

int64_t sidik__audit_now(const sidik_audit_service *as)
{
    if (as->now_ms != NULL)
        return as->now_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- DecisionRecord messages -------------------------------------------------------------- */

static Sidik__V1__Decision decision_of(sidik_status outcome)
{
    switch (outcome) {
    case SIDIK_STATUS_PRINT_READY:
        return SIDIK__V1__DECISION__UNIQUE;
    case SIDIK_STATUS_DUPLICATE:
        return SIDIK__V1__DECISION__DUPLICATE_OF;
    case SIDIK_STATUS_ADJUDICATE:
        return SIDIK__V1__DECISION__REVIEW;
    default:
        return SIDIK__V1__DECISION__DECISION_UNSPECIFIED; /* REJECTED: no Decision says it */
    }
}

int sidik__audit_rec_fill(const sidik_audit_service *as, sidik_control_txn *t, audit_rec *rec,
                          const sidik_enrollment *e, const sidik_decision_record *d, uint32_t index)
{
    rec->e = *e;
    rec->d = *d;
    Sidik__V1__DecisionRecord *r = &rec->r;
    sidik__v1__decision_record__init(r);
    r->enrollment_id = rec->e.id;
    r->decision = decision_of(d->outcome);
    r->threshold = d->threshold;
    r->review_threshold = d->review_threshold;
    r->decided_time_ms = d->time_ms;
    r->adjudicator = rec->d.adjudicator;
    r->reason = rec->d.reason;
    r->office_code = rec->e.office;
    r->nik = rec->e.nik;
    r->gallery_size = d->gallery_size;
    r->status = (Sidik__V1__EnrollmentStatus)e->status;
    r->index = index;
    for (uint32_t j = 0; j < d->ncandidates && j < AUDIT_CAND; j++) {
        const sidik_decision_candidate *dc = &rec->d.candidate[j];
        Sidik__V1__Candidate *c = &rec->c[j];
        sidik__v1__candidate__init(c);
        c->record_id = dc->record_id;
        c->fused_score = dc->llr;
        /* The candidate's enrollment and its NIK: an enrolled person's, or
         * one awaiting review (named by its journal sequence until then);
         * persons migrated from the old system have none. */
        rec->cand_id[j][0] = 0;
        int rc = sidik_control_person_id(t, dc->record_id, rec->cand_id[j]);
        if (rc == SIDIK_ENOTFOUND && dc->record_id < SIDIK_RECORD_MIGRATED_FIRST)
            rc = sidik_control_enroll_at(t, dc->record_id, rec->cand_id[j]);
        sidik_enrollment other;
        if (rc == 0 && (rc = sidik_control_enroll_get(t, rec->cand_id[j], &other)) == 0)
            c->nik_match = e->nik[0] != 0 && strcmp(other.nik, e->nik) == 0;
        if (rc == SIDIK_ENOTFOUND)
            rc = 0;
        if (rc != 0)
            return rc;
        c->enrollment_id = rec->cand_id[j];
        /* matched: the finger's own log-likelihood ratio under the fusion
         * model is above 0, its score more likely from the same finger than
         * from another. The model is the one the stage decided with (kept
         * in the control store, never learned again), so computing it here
         * gives what the stage would have stored, and a stored bit would
         * only repeat it. */
        for (uint32_t f = 0; f < AUDIT_FINGER; f++) {
            if ((dc->compared & (1u << f)) == 0)
                continue;
            Sidik__V1__FingerScore *fs = &rec->f[j][c->n_fingers];
            sidik__v1__finger_score__init(fs);
            fs->probe_position = (Sidik__V1__FingerPosition)(f + 1);
            fs->gallery_position = (Sidik__V1__FingerPosition)(f + 1);
            fs->score = dc->score[f];
            fs->matched = sidik_fusion_llr(as->fusion, dc->score[f]) > 0.0f;
            rec->fp[j][c->n_fingers++] = fs;
        }
        c->fingers = rec->fp[j];
        rec->cp[r->n_candidates++] = c;
    }
    r->candidates = rec->cp;
    return 0;
}

/* ---- GetDecision ---------------------------------------------------------------------------- */

static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > SIDIK_ENROLL_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (id[i] <= ' ' || id[i] > '~')
            return false;
    return true;
}

static int get_decision(const sidik_audit_service *as, const uint8_t *p, size_t n, uint8_t **out,
                        size_t *len, char *why, size_t cap)
{
    Sidik__V1__GetDecisionRequest *req =
        sidik__v1__get_decision_request__unpack(&sidik_pb_alloc, n, p);
    if (req == NULL)
        return sidik__audit_say(why, cap, SIDIK_EFORMAT,
                                "the request does not parse as a GetDecisionRequest");
    sidik_enroll_id id;
    bool ok = sidik_pb_text_clean(&sidik__v1__get_decision_request__descriptor, p, n) &&
              id_ok(req->enrollment_id);
    if (ok)
        snprintf(id, sizeof id, "%s", req->enrollment_id);
    sidik__v1__get_decision_request__free_unpacked(req, &sidik_pb_alloc);
    if (!ok)
        return sidik__audit_say(why, cap, SIDIK_EINVAL,
                                "enrollment_id must be 1-64 printable characters");
    sidik_control_txn *t;
    int rc = sidik_control_begin(as->control, false, &t);
    if (rc != 0)
        return sidik__audit_say(why, cap, rc, "the control store refused: %s", sidik_strerror(rc));
    sidik_enrollment e;
    uint32_t count = 0;
    audit_rec *recs = NULL;
    Sidik__V1__DecisionRecord **earlier = NULL;
    rc = sidik_control_enroll_get(t, id, &e);
    if (rc == SIDIK_ENOTFOUND)
        sidik__audit_say(why, cap, rc, "no enrollment with this id");
    if (rc == 0 && (rc = sidik_control_decision_count(t, id, &count)) == 0 && count == 0)
        rc = sidik__audit_say(why, cap, SIDIK_ENOTFOUND,
                              "enrollment %s is %s and not decided yet: it waits for the dedup "
                              "stage",
                              id, sidik_status_name(e.status));
    if (rc == 0 && ((recs = sidik_trycalloc(count, sizeof *recs)) == NULL ||
                    (earlier = sidik_trycalloc(count, sizeof *earlier)) == NULL))
        rc = SIDIK_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        sidik_decision_record d;
        if ((rc = sidik_control_decision_get(t, id, i, &d)) == 0)
            rc = sidik__audit_rec_fill(as, t, &recs[i], &e, &d, i);
        earlier[i] = &recs[i].r;
    }
    sidik_control_abort(t);
    if (rc == 0) {
        Sidik__V1__DecisionRecord *latest = &recs[count - 1].r;
        latest->n_earlier = count - 1;
        latest->earlier = earlier;
        rc = sidik_pb_pack(&latest->base, out, len);
    } else if (why[0] == 0) {
        sidik__audit_say(why, cap, rc, "the decisions of %s cannot be read: %s", id,
                         sidik_strerror(rc));
    }
    sidik_free(recs);
    sidik_free(earlier);
    return rc;
}

/* ---- the filters and pages of SearchDecisions and ReviewQueue ------------------------------ */

typedef struct filter {
    char office[SIDIK_OFFICE_MAX + 1];
    char nik[SIDIK_NIK_LEN + 1];
    int decision; /* 0: any */
    int64_t from_ms, to_ms;
    double min_score, max_score; /* 0: no bound */
    uint32_t want;
    bool resume;
    int64_t after_ms;
    uint64_t after_seq;
    uint32_t after_index;
} filter;

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool hex_u64(const char *s, size_t digits, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < digits; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return false;
        *v = *v << 4 | (uint64_t)h;
    }
    return true;
}

/* Tokens: a letter naming the listing ('d' decisions, 'r' the review
 * queue), then the last place examined in lowercase hex: time (16 digits,
 * the int64's bits), journal sequence (16) and, for decisions, the index
 * (2). Nothing else is ever issued. */
#define TOKEN_D_LEN (1 + 16 + 16 + 2)
#define TOKEN_R_LEN (1 + 16 + 16)

static bool parse_token(const char *s, char kind, filter *f)
{
    f->resume = false;
    if (s[0] == 0)
        return true;
    size_t want = kind == 'd' ? TOKEN_D_LEN : TOKEN_R_LEN;
    uint64_t tm, seq, index = 0;
    if (strnlen(s, want + 1) != want || s[0] != kind || !hex_u64(s + 1, 16, &tm) ||
        !hex_u64(s + 17, 16, &seq) || (kind == 'd' && !hex_u64(s + 33, 2, &index)) || seq == 0 ||
        index >= SIDIK_DECISION_RECORD_MAX)
        return false;
    f->resume = true;
    f->after_ms = (int64_t)tm;
    f->after_seq = seq;
    f->after_index = (uint32_t)index;
    return true;
}

static void make_token(char kind, int64_t tm, uint64_t seq, uint32_t index, char *out, size_t cap)
{
    if (kind == 'd')
        snprintf(out, cap, "d%016llx%016llx%02x", (unsigned long long)(uint64_t)tm,
                 (unsigned long long)seq, index);
    else
        snprintf(out, cap, "r%016llx%016llx", (unsigned long long)(uint64_t)tm,
                 (unsigned long long)seq);
}

static int parse_filter(const uint8_t *p, size_t n, char kind, filter *f, char *why, size_t cap)
{
    Sidik__V1__SearchDecisionsRequest *req =
        sidik__v1__search_decisions_request__unpack(&sidik_pb_alloc, n, p);
    if (req == NULL)
        return sidik__audit_say(why, cap, SIDIK_EFORMAT,
                                "the request does not parse as a SearchDecisionsRequest");
    memset(f, 0, sizeof *f);
    int rc = 0;
    if (!sidik_pb_text_clean(&sidik__v1__search_decisions_request__descriptor, p, n))
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL, "a text field holds a NUL byte");
    else if (req->office_code[0] != 0 && !sidik_control_valid_office(req->office_code))
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL,
                              "office_code must be 1-32 letters, digits, '-' or '_'");
    else if (req->nik[0] != 0 &&
             (strlen(req->nik) != SIDIK_NIK_LEN || strspn(req->nik, "0123456789") != SIDIK_NIK_LEN))
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL, "nik must be 16 digits");
    else if (req->decision < 0 || req->decision > SIDIK__V1__DECISION__REVIEW ||
             (kind == 'r' && req->decision != 0 && req->decision != SIDIK__V1__DECISION__REVIEW))
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL,
                              kind == 'r' ? "the review queue holds REVIEW decisions only"
                                          : "decision must be a Decision (0 for any)");
    else if (req->from_ms < 0 || req->to_ms < 0 || (req->to_ms != 0 && req->to_ms <= req->from_ms))
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL,
                              "from_ms and to_ms are Unix ms (0: open), to_ms after from_ms");
    else if (!isfinite(req->min_score) || !isfinite(req->max_score) ||
             (req->min_score != 0 && req->max_score != 0 && req->min_score > req->max_score))
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL,
                              "min_score and max_score must be finite, min_score <= max_score");
    else if (!parse_token(req->page_token, kind, f))
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL, "page_token is not one this server issued");
    if (rc == 0) {
        snprintf(f->office, sizeof f->office, "%s", req->office_code);
        snprintf(f->nik, sizeof f->nik, "%s", req->nik);
        f->decision = req->decision;
        f->from_ms = req->from_ms;
        f->to_ms = req->to_ms;
        f->min_score = req->min_score;
        f->max_score = req->max_score;
        f->want = req->page_size == 0                     ? SIDIK_AUDIT_PAGE_DEFAULT
                  : req->page_size > SIDIK_AUDIT_PAGE_MAX ? SIDIK_AUDIT_PAGE_MAX
                                                          : req->page_size;
    }
    sidik__v1__search_decisions_request__free_unpacked(req, &sidik_pb_alloc);
    return rc;
}

/* The top candidate's fused score; false when there is no candidate. */
static bool top_score(const sidik_decision_record *d, double *score)
{
    if (d->ncandidates == 0)
        return false;
    *score = d->candidate[0].llr;
    for (uint32_t j = 1; j < d->ncandidates; j++)
        if (d->candidate[j].llr > *score)
            *score = d->candidate[j].llr;
    return true;
}

static bool passes(const filter *f, const sidik_enrollment *e, const sidik_decision_record *d)
{
    if (f->office[0] != 0 && strcmp(e->office, f->office) != 0)
        return false;
    if (f->nik[0] != 0 && strcmp(e->nik, f->nik) != 0)
        return false;
    if (f->decision != 0 && (int)decision_of(d->outcome) != f->decision)
        return false;
    if (f->min_score != 0 || f->max_score != 0) {
        double s;
        if (!top_score(d, &s))
            return false; /* no candidate, no score: outside any score bound */
        if ((f->min_score != 0 && s < f->min_score) || (f->max_score != 0 && s > f->max_score))
            return false;
    }
    return true;
}

typedef struct page {
    const sidik_audit_service *as;
    sidik_control_txn *t;
    const filter *f;
    audit_rec *recs;
    uint32_t have, examined;
    size_t bytes;
    bool more, any;
    int64_t last_ms; /* the last place examined */
    uint64_t last_seq;
    uint32_t last_index;
} page;

/* Takes decision index of enrollment id into the page if it passes the
 * filter: 0 (taken or passed over), PAGE_FULL (not examined: the page is
 * done before it), or an error. */
static int examine(page *pg, const char *id, uint32_t index, bool latest, bool skip_pending)
{
    if (pg->have == pg->f->want || pg->examined == SIDIK_AUDIT_EXAMINE_MAX) {
        pg->more = true;
        return PAGE_FULL;
    }
    sidik_enrollment e;
    sidik_decision_record d;
    int rc = sidik_control_enroll_get(pg->t, id, &e);
    if (rc == 0 && latest && (rc = sidik_control_decision_count(pg->t, id, &index)) == 0 &&
        index-- == 0) {
        /* In review without a decision saying why: the dedup stage never
         * leaves one so (status and decision share its transaction). */
        SIDIK_LOG_WARN("an enrollment in review has no decision; passed over", "id=%s", id);
        pg->examined++;
        return 0;
    }
    if (rc == 0)
        rc = sidik_control_decision_get(pg->t, id, index, &d);
    if (rc == SIDIK_ENOTFOUND)
        rc = SIDIK_ECORRUPT; /* an index names what is not there */
    if (rc != 0)
        return rc;
    if (skip_pending &&
        (e.status != SIDIK_STATUS_ADJUDICATE || (rc = sidik_control_pending_get(pg->t, id)) == 0)) {
        pg->examined++;
        return 0; /* a verdict is given: no longer waiting for a person */
    }
    if (rc != 0 && rc != SIDIK_ENOTFOUND)
        return rc;
    if (passes(pg->f, &e, &d)) {
        audit_rec *rec = &pg->recs[pg->have];
        if ((rc = sidik__audit_rec_fill(pg->as, pg->t, rec, &e, &d, index)) != 0)
            return rc;
        size_t size = protobuf_c_message_get_packed_size(&rec->r.base) + 8;
        if (pg->have > 0 && pg->bytes + size > PAGE_BYTES_MAX) {
            pg->more = true;
            return PAGE_FULL;
        }
        pg->bytes += size;
        pg->have++;
    }
    pg->examined++;
    return 0;
}

static int on_decision(void *ctx, const sidik_decision_ref *r)
{
    page *pg = ctx;
    int rc = examine(pg, r->id, r->index, false, false);
    if (rc == 0) {
        pg->any = true;
        pg->last_ms = r->time_ms;
        pg->last_seq = r->journal_seq;
        pg->last_index = r->index;
    }
    return rc;
}

static int on_review(void *ctx, const sidik_review_ref *r)
{
    page *pg = ctx;
    int rc = examine(pg, r->id, 0, true, true);
    if (rc == 0) {
        pg->any = true;
        pg->last_ms = r->time_ms;
        pg->last_seq = r->journal_seq;
    }
    return rc;
}

static int respond_page(const page *pg, char kind, uint8_t **out, size_t *len)
{
    Sidik__V1__DecisionRecord **ptrs = sidik_trycalloc(pg->have + 1, sizeof *ptrs);
    if (ptrs == NULL)
        return SIDIK_ENOMEM;
    for (uint32_t i = 0; i < pg->have; i++)
        ptrs[i] = &pg->recs[i].r;
    Sidik__V1__SearchDecisionsResponse r;
    sidik__v1__search_decisions_response__init(&r);
    r.n_decisions = pg->have;
    r.decisions = ptrs;
    char token[TOKEN_D_LEN + 1] = "";
    if (pg->more && pg->any)
        make_token(kind, pg->last_ms, pg->last_seq, pg->last_index, token, sizeof token);
    r.next_page_token = token;
    int rc = sidik_pb_pack(&r.base, out, len);
    sidik_free(ptrs);
    return rc;
}

/* SearchDecisions ('d') or ReviewQueue ('r'). */
static int listing(const sidik_audit_service *as, char kind, const uint8_t *p, size_t n,
                   uint8_t **out, size_t *len, char *why, size_t cap)
{
    filter f;
    int rc = parse_filter(p, n, kind, &f, why, cap);
    if (rc != 0)
        return rc;
    page pg = {.as = as, .f = &f, .recs = sidik_trycalloc(f.want, sizeof(audit_rec))};
    if (pg.recs == NULL)
        return SIDIK_ENOMEM;
    rc = sidik_control_begin(as->control, false, &pg.t);
    if (rc == 0 && kind == 'd') {
        /* The most selective index the filter names; the rest is checked
         * record by record. */
        sidik_decisions_by by = f.nik[0]      ? SIDIK_DECISIONS_OF_NIK
                                : f.office[0] ? SIDIK_DECISIONS_OF_OFFICE
                                              : SIDIK_DECISIONS_ALL;
        sidik_decision_ref after = {
            .time_ms = f.after_ms, .journal_seq = f.after_seq, .index = f.after_index};
        rc = sidik_control_decision_walk(pg.t, by, f.nik[0] ? f.nik : f.office, f.from_ms, f.to_ms,
                                         f.resume ? &after : NULL, on_decision, &pg);
    } else if (rc == 0) {
        sidik_review_ref after = {.time_ms = f.after_ms, .journal_seq = f.after_seq};
        rc = sidik_control_review_walk(pg.t, f.from_ms, f.to_ms, f.resume ? &after : NULL,
                                       on_review, &pg);
    }
    if (rc == PAGE_FULL)
        rc = 0;
    if (pg.more && !pg.any)
        rc = SIDIK_EINTERNAL; /* a page stops only after examining one */
    if (rc == 0)
        rc = respond_page(&pg, kind, out, len);
    else
        sidik__audit_say(why, cap, rc, "the decisions cannot be listed: %s", sidik_strerror(rc));
    sidik_control_abort(pg.t);
    sidik_free(pg.recs);
    return rc;
}

/* ---- VerifyChain -------------------------------------------------------------------------- */

static int verify_chain(const sidik_audit_service *as, const uint8_t *p, size_t n, uint8_t **out,
                        size_t *len, char *why, size_t cap)
{
    Sidik__V1__VerifyChainRequest *req =
        sidik__v1__verify_chain_request__unpack(&sidik_pb_alloc, n, p);
    if (req == NULL)
        return sidik__audit_say(why, cap, SIDIK_EFORMAT,
                                "the request does not parse as a VerifyChainRequest");
    sidik__v1__verify_chain_request__free_unpacked(req, &sidik_pb_alloc);
    sidik_control_txn *t;
    uint64_t head = 0, checked = 0, bad = 0;
    uint8_t hash[32];
    int rc = sidik_control_begin(as->control, false, &t);
    if (rc == 0 && (rc = sidik_control_audit_head(t, &head, hash)) == SIDIK_ECORRUPT)
        sidik__audit_say(why, cap, rc, "the audit chain's head record is unreadable");
    int vrc = rc == 0 ? sidik_control_audit_verify(t, &checked, &bad) : 0;
    sidik_control_abort(t);
    if (rc == 0 && vrc != 0 && vrc != SIDIK_ECORRUPT)
        rc = vrc;
    if (rc != 0) {
        if (why[0] == 0)
            sidik__audit_say(why, cap, rc, "the audit chain cannot be read: %s",
                             sidik_strerror(rc));
        return rc;
    }
    Sidik__V1__VerifyChainResponse r;
    sidik__v1__verify_chain_response__init(&r);
    r.entries = head;
    r.intact = vrc == 0;
    r.first_broken = vrc == 0 ? 0 : bad;
    r.head_sha256 = (ProtobufCBinaryData){head > 0 ? 32 : 0, hash};
    return sidik_pb_pack(&r.base, out, len);
}

int sidik_audit_answer(const sidik_audit_service *as, sidik_method m, const sidik_identity *who,
                       const uint8_t *p, size_t n, uint8_t **out, size_t *len, char *why,
                       size_t cap)
{
    if (as == NULL || as->control == NULL || as->fusion == NULL || who == NULL ||
        (p == NULL && n > 0) || out == NULL || len == NULL || why == NULL || cap == 0)
        return SIDIK_EINVAL;
    why[0] = 0;
    if (who->role != SIDIK_ROLE_AUDITOR)
        return sidik__audit_say(why, cap, SIDIK_EDENIED,
                                "only an auditor reads decisions and adjudicates");
    switch (m) {
    case SIDIK_METHOD_AUDIT_GET_DECISION:
        return get_decision(as, p, n, out, len, why, cap);
    case SIDIK_METHOD_AUDIT_SEARCH_DECISIONS:
        return listing(as, 'd', p, n, out, len, why, cap);
    case SIDIK_METHOD_AUDIT_REVIEW_QUEUE:
        return listing(as, 'r', p, n, out, len, why, cap);
    case SIDIK_METHOD_AUDIT_ADJUDICATE:
        return sidik__audit_adjudicate(as, who, p, n, out, len, why, cap);
    case SIDIK_METHOD_AUDIT_VERIFY_CHAIN:
        return verify_chain(as, p, n, out, len, why, cap);
    default:
        return sidik__audit_say(why, cap, SIDIK_EUNSUPPORTED, "not an Audit method");
    }
}
