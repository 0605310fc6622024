/*
 * The Audit service against a real control store in a scratch folder,
 * holding decisions of every kind as the dedup stage records them:
 * GetDecision with its candidates, finger scores and earlier decisions;
 * SearchDecisions with each filter alone and combined, paging across pages
 * (no record missed or repeated, the examine cap, the byte cap), page
 * tokens garbage, truncated, oversized and from the other listing; the
 * review queue; adjudication (both verdicts, every refusal, a verdict
 * given twice); VerifyChain intact and after an entry's bytes are edited;
 * roles; hostile bytes in every text field; allocations failing in turn.
 */
#include "test_support.h"

#include "../storage/storage_test.h"
#include "sidik.pb-c.h"
#include "sidik/audit_service.h"
#include "sidik/common.h"

#include <math.h>

#define T0    1800000000000LL /* decision k of the fixture is at T0 + k * 1000 */
#define NOW   (T0 + 100000)   /* adjudications */
#define NIK_A "3171016505900001"
#define NIK_B "3273014404880002"
#define NIK_C "3171010101010003"
#define NIK_D "3171010101010004"
#define NIK_E "3171010101010005"
#define NIK_F "3171010101010006"
#define MIG   (SIDIK_RECORD_MIGRATED_FIRST + 5) /* a person of the old system */

static sidik_fusion *fusion;
static const sidik_identity auditor = {SIDIK_ROLE_AUDITOR, "auditor.dewi"};
static const sidik_identity office = {SIDIK_ROLE_OFFICE, "JKT-01"};
static const sidik_identity admin = {SIDIK_ROLE_ADMIN, "admin.budi"};
static const sidik_identity printer = {SIDIK_ROLE_PRINTER, "31.71"};

static int64_t now_ms(void)
{
    return NOW;
}

/* ---- the store ----------------------------------------------------------------------------- */

typedef struct store {
    char *dir;
    sidik_control *c;
    sidik_audit_service as;
    int verdicts;         /* on_verdict calls for UNIQUE verdicts */
    int dropped;          /* and for DUPLICATE_OF ones */
    uint64_t dropped_seq; /* the last of those: its journal sequence */
} store;

static void on_verdict(void *ctx, uint64_t journal_seq, bool unique)
{
    store *s = ctx;
    if (unique) {
        s->verdicts++;
    } else {
        s->dropped++;
        s->dropped_seq = journal_seq;
    }
}

static void store_reopen(store *s)
{
    const char *why = NULL;
    int rc = sidik_control_open(s->dir, NULL, &s->c, &why);
    if (rc != 0)
        print_error("open: %s (%s)\n", sidik_err_name(rc), why ? why : "");
    assert_int_equal(rc, 0);
    s->as = (sidik_audit_service){.control = s->c,
                                  .fusion = fusion,
                                  .on_verdict = on_verdict,
                                  .verdict_ctx = s,
                                  .now_ms = now_ms};
}

static void store_open(store *s)
{
    memset(s, 0, sizeof *s);
    assert_non_null(s->dir = scratch_create());
    store_reopen(s);
}

static void store_close(store *s)
{
    sidik_control_close(s->c);
    scratch_remove(s->dir);
}

static void put_in(sidik_control_txn *t, const char *id, const char *off, const char *nik,
                   uint64_t seq)
{
    sidik_enrollment e = {.status = SIDIK_STATUS_RECEIVED, .journal_seq = seq, .nhistory = 1};
    snprintf(e.id, sizeof e.id, "%s", id);
    snprintf(e.office, sizeof e.office, "%s", off);
    snprintf(e.nik, sizeof e.nik, "%s", nik);
    e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, T0 - 5000};
    assert_int_equal(sidik_control_enroll_put(t, &e), 0);
}

/* Decides id as the dedup stage does, in t: status, person, decision, audit. */
static void decide_in(sidik_control_txn *t, const char *id, sidik_status st, int64_t at,
                      const sidik_decision_candidate *cand, uint32_t ncand, const char *reason)
{
    sidik_enrollment e;
    assert_int_equal(sidik_control_enroll_get(t, id, &e), 0);
    uint64_t record = st == SIDIK_STATUS_PRINT_READY ? e.journal_seq : 0;
    assert_int_equal(sidik_control_enroll_status(t, id, st, at, record), 0);
    if (record != 0)
        assert_int_equal(sidik_control_person_put(t, record, id, e.nik), 0);
    sidik_decision_record d = {.outcome = st,
                               .time_ms = at,
                               .gallery_size = 1000 + e.journal_seq,
                               .threshold = 12.5,
                               .review_threshold = 6.25,
                               .ncandidates = ncand};
    snprintf(d.reason, sizeof d.reason, "%s", reason);
    for (uint32_t j = 0; j < ncand; j++)
        d.candidate[j] = cand[j];
    assert_int_equal(sidik_control_decision_add(t, id, &d, NULL), 0);
    sidik_audit_entry a = {.kind = SIDIK_AUDIT_DECISION, .time_ms = at};
    snprintf(a.actor, sizeof a.actor, "sidikd");
    snprintf(a.subject, sizeof a.subject, "%s", id);
    snprintf(a.detail, sizeof a.detail, "%s", sidik_status_name(st));
    assert_int_equal(sidik_control_audit_append(t, &a, NULL), 0);
}

/* The fixture: one decision of every kind, at T0 + seq * 1000.
 *   1 u-1 JKT-01 NIK_A  UNIQUE (record 1)
 *   2 u-2 BDG-02 NIK_B  UNIQUE (record 2)
 *   3 d-3 JKT-01 NIK_C  DUPLICATE of record 1, llr 30, another NIK
 *   4 d-4 BDG-02 NIK_A  DUPLICATE of record 1, llr 25, the same NIK
 *   5 r-5 JKT-01 NIK_A  REVIEW (a NIK claim: no candidate)
 *   6 r-6 BDG-02 NIK_D  REVIEW, record 2 llr 8 (the gray zone)
 *   7 r-7 JKT-01 NIK_E  REVIEW, a migrated person llr 9
 *   8 n-8 JKT-01 NIK_F  RECEIVED, not decided */
static void fixture(store *s)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(s->c, true, &t), 0);
    static const struct {
        const char *id, *office, *nik;
    } e[] = {{"u-1", "JKT-01", NIK_A}, {"u-2", "BDG-02", NIK_B}, {"d-3", "JKT-01", NIK_C},
             {"d-4", "BDG-02", NIK_A}, {"r-5", "JKT-01", NIK_A}, {"r-6", "BDG-02", NIK_D},
             {"r-7", "JKT-01", NIK_E}, {"n-8", "JKT-01", NIK_F}};
    for (uint64_t i = 0; i < 8; i++)
        put_in(t, e[i].id, e[i].office, e[i].nik, i + 1);
    assert_int_equal(sidik_control_set_applied(t, 8), 0);
    assert_int_equal(sidik_control_dir_put(t, 1, 0), 0);
    assert_int_equal(sidik_control_dir_put(t, 2, 0), 0);
    assert_int_equal(sidik_control_dir_put(t, MIG, 0), 0);
    decide_in(t, "u-1", SIDIK_STATUS_PRINT_READY, T0 + 1000, NULL, 0, "");
    decide_in(t, "u-2", SIDIK_STATUS_PRINT_READY, T0 + 2000, NULL, 0, "");
    sidik_decision_candidate c3 = {
        .record_id = 1, .llr = 30, .threshold = 12.5, .signature = 0.75f, .compared = 0x3};
    c3.score[0] = 5000; /* right thumb: a match */
    c3.score[1] = 100;  /* right index: not */
    decide_in(t, "d-3", SIDIK_STATUS_DUPLICATE, T0 + 3000, &c3, 1,
              "same fingers as record 1 under another NIK");
    sidik_decision_candidate c4 = {.record_id = 1, .llr = 25, .threshold = 12.5, .compared = 0x1};
    c4.score[0] = 6000;
    decide_in(t, "d-4", SIDIK_STATUS_DUPLICATE, T0 + 4000, &c4, 1,
              "re-enrollment of record 1, same NIK");
    decide_in(t, "r-5", SIDIK_STATUS_ADJUDICATE, T0 + 5000, NULL, 0,
              "NIK already enrolled as record 1; the fingers do not match it");
    sidik_decision_candidate c6[2] = {
        {.record_id = 2, .llr = 8, .threshold = 12.5, .compared = 1u << 5},
        {.record_id = MIG, .llr = 7, .threshold = 12.5, .compared = 0}};
    c6[0].score[5] = 4000; /* left thumb */
    decide_in(t, "r-6", SIDIK_STATUS_ADJUDICATE, T0 + 6000, c6, 2, "");
    sidik_decision_candidate c7 = {.record_id = MIG, .llr = 9, .threshold = 12.5, .compared = 0x2};
    c7.score[1] = 3500;
    decide_in(t, "r-7", SIDIK_STATUS_ADJUDICATE, T0 + 7000, &c7, 1, "");
    assert_int_equal(sidik_control_commit(t), 0);
}

/* ---- calls --------------------------------------------------------------------------------- */

static uint8_t *pack(const ProtobufCMessage *m, size_t *n)
{
    *n = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(*n + 1);
    assert_non_null(p);
    assert_int_equal(protobuf_c_message_pack(m, p), *n);
    return p;
}

/* One call with raw bytes; the response (if any) is unpacked with d into
 * *resp (NULL: dropped). */
static int call_raw(store *s, sidik_method m, const sidik_identity *who, const uint8_t *p, size_t n,
                    const ProtobufCMessageDescriptor *d, ProtobufCMessage **resp, char why[256])
{
    uint8_t *out = NULL;
    size_t len = 0;
    why[0] = 0;
    int rc = sidik_audit_answer(&s->as, m, who, p, n, &out, &len, why, 256);
    if (resp != NULL)
        *resp = NULL;
    if (rc == 0) {
        assert_non_null(out);
        if (resp != NULL) {
            *resp = protobuf_c_message_unpack(d, NULL, len, out);
            assert_non_null(*resp);
        }
    } else {
        assert_true(why[0] != 0); /* every refusal says why */
    }
    sidik_free(out);
    return rc;
}

static int call(store *s, sidik_method m, const sidik_identity *who, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **resp, char why[256])
{
    size_t n;
    uint8_t *p = pack(req, &n);
    int rc = call_raw(s, m, who, p, n, d, resp, why);
    free(p);
    return rc;
}

static int get_dec(store *s, const char *id, Sidik__V1__DecisionRecord **r, char why[256])
{
    Sidik__V1__GetDecisionRequest q = SIDIK__V1__GET_DECISION_REQUEST__INIT;
    q.enrollment_id = (char *)id;
    return call(s, SIDIK_METHOD_AUDIT_GET_DECISION, &auditor, &q.base,
                &sidik__v1__decision_record__descriptor, (ProtobufCMessage **)r, why);
}

static void free_dec(Sidik__V1__DecisionRecord *r)
{
    if (r != NULL)
        sidik__v1__decision_record__free_unpacked(r, NULL);
}

static int adjudicate(store *s, const char *id, int decision, uint64_t dup, const char *reason,
                      Sidik__V1__DecisionRecord **r, char why[256])
{
    Sidik__V1__AdjudicateRequest q = SIDIK__V1__ADJUDICATE_REQUEST__INIT;
    q.enrollment_id = (char *)id;
    q.decision = (Sidik__V1__Decision)decision;
    q.duplicate_of = dup;
    q.reason = (char *)reason;
    Sidik__V1__DecisionRecord *got = NULL;
    int rc = call(s, SIDIK_METHOD_AUDIT_ADJUDICATE, &auditor, &q.base,
                  &sidik__v1__decision_record__descriptor, (ProtobufCMessage **)&got, why);
    if (r != NULL)
        *r = got;
    else
        free_dec(got);
    return rc;
}

static int listing(store *s, sidik_method m, const Sidik__V1__SearchDecisionsRequest *q,
                   Sidik__V1__SearchDecisionsResponse **r, char why[256])
{
    return call(s, m, &auditor, &q->base, &sidik__v1__search_decisions_response__descriptor,
                (ProtobufCMessage **)r, why);
}

static Sidik__V1__SearchDecisionsRequest query(void)
{
    Sidik__V1__SearchDecisionsRequest q = SIDIK__V1__SEARCH_DECISIONS_REQUEST__INIT;
    return q;
}

/* Every page of a listing, following next_page_token: "id/index" of each
 * decision into got (cap entries), checking decision order strictly rises
 * (no record twice) and that every record passes the filter's office, NIK
 * and decision. Returns the count; *pages (may be NULL) the calls made. */
static size_t list_all(store *s, sidik_method m, Sidik__V1__SearchDecisionsRequest q,
                       char (*got)[80], size_t cap, size_t *pages)
{
    char token[128] = "";
    size_t total = 0, calls = 0;
    int64_t last_t = INT64_MIN;
    uint64_t last_s = 0;
    uint32_t last_i = 0;
    for (;;) {
        q.page_token = token;
        Sidik__V1__SearchDecisionsResponse *r;
        char why[256];
        int rc = listing(s, m, &q, &r, why);
        if (rc != 0)
            print_error("list: %s (%s)\n", sidik_err_name(rc), why);
        assert_int_equal(rc, 0);
        calls++;
        assert_true(calls < 100000);
        for (size_t i = 0; i < r->n_decisions; i++) {
            const Sidik__V1__DecisionRecord *d = r->decisions[i];
            if (q.office_code[0])
                assert_string_equal(d->office_code, q.office_code);
            if (q.nik[0])
                assert_string_equal(d->nik, q.nik);
            if (q.decision != 0)
                assert_int_equal(d->decision, q.decision);
            if (m == SIDIK_METHOD_AUDIT_SEARCH_DECISIONS) {
                /* Decision order: time, then the enrollment's journal
                 * sequence (the number in every id here), then the index. */
                uint64_t seq = strtoull(strchr(d->enrollment_id, '-') + 1, NULL, 10);
                bool later = total == 0 || d->decided_time_ms > last_t ||
                             (d->decided_time_ms == last_t &&
                              (seq > last_s || (seq == last_s && d->index > last_i)));
                assert_true(later);
                last_t = d->decided_time_ms;
                last_s = seq;
                last_i = d->index;
            }
            if (total < cap)
                snprintf(got[total], sizeof got[total], "%s/%u", d->enrollment_id, d->index);
            for (size_t k = 0; k < total && k < cap; k++)
                assert_string_not_equal(got[k], got[total]);
            total++;
        }
        assert_true(strlen(r->next_page_token) < sizeof token);
        snprintf(token, sizeof token, "%s", r->next_page_token);
        sidik__v1__search_decisions_response__free_unpacked(r, NULL);
        if (token[0] == 0)
            break;
    }
    if (pages != NULL)
        *pages = calls;
    return total;
}

/* A listing's result against the expected "id/index" strings, in order. */
static void expect(store *s, sidik_method m, Sidik__V1__SearchDecisionsRequest q,
                   const char *const *want, size_t nwant)
{
    char got[32][80];
    q.page_size = 2; /* small pages, so paging is part of every check */
    size_t n = list_all(s, m, q, got, 32, NULL);
    if (n != nwant) {
        print_error("got %zu, want %zu:", n, nwant);
        for (size_t i = 0; i < n && i < 32; i++)
            print_error(" %s", got[i]);
        print_error("\n");
    }
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i], want[i]);
}

#define EXPECT(m, q, ...)                                                              \
    do {                                                                               \
        static const char *const w_[] = {__VA_ARGS__};                                 \
        expect(s, m, q, w_,                                                            \
               sizeof w_ / sizeof w_[0] - (w_[sizeof w_ / sizeof w_[0] - 1] == NULL)); \
    } while (0)

/* ---- GetDecision ----------------------------------------------------------------------------- */

static void test_server_audit_get_decision(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    char why[256];
    Sidik__V1__DecisionRecord *r;

    assert_int_equal(get_dec(s, "u-1", &r, why), 0);
    assert_string_equal(r->enrollment_id, "u-1");
    assert_int_equal(r->decision, SIDIK__V1__DECISION__UNIQUE);
    assert_int_equal(r->status, SIDIK__V1__ENROLLMENT_STATUS__PRINT_READY);
    assert_string_equal(r->office_code, "JKT-01");
    assert_string_equal(r->nik, NIK_A);
    assert_int_equal(r->gallery_size, 1001);
    assert_int_equal(r->decided_time_ms, T0 + 1000);
    assert_true(r->threshold == 12.5 && r->review_threshold == 6.25);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->n_earlier, 0);
    assert_int_equal(r->n_candidates, 0);
    assert_string_equal(r->adjudicator, "");
    free_dec(r);

    /* A duplicate under another NIK: the candidate's enrollment, no NIK
     * match, one FingerScore per compared finger, matched from the fusion
     * model (5000 is a genuine score under it, 100 an impostor's). */
    assert_int_equal(get_dec(s, "d-3", &r, why), 0);
    assert_int_equal(r->decision, SIDIK__V1__DECISION__DUPLICATE_OF);
    assert_int_equal(r->status, SIDIK__V1__ENROLLMENT_STATUS__DUPLICATE);
    assert_string_equal(r->reason, "same fingers as record 1 under another NIK");
    assert_int_equal(r->n_candidates, 1);
    const Sidik__V1__Candidate *c = r->candidates[0];
    assert_int_equal(c->record_id, 1);
    assert_string_equal(c->enrollment_id, "u-1");
    assert_true(c->fused_score == 30);
    assert_false(c->nik_match);
    assert_int_equal(c->n_fingers, 2);
    assert_int_equal(c->fingers[0]->probe_position, SIDIK__V1__FINGER_POSITION__RIGHT_THUMB);
    assert_int_equal(c->fingers[0]->gallery_position, SIDIK__V1__FINGER_POSITION__RIGHT_THUMB);
    assert_int_equal(c->fingers[0]->score, 5000);
    assert_true(c->fingers[0]->matched);
    assert_int_equal(c->fingers[1]->probe_position, SIDIK__V1__FINGER_POSITION__RIGHT_INDEX);
    assert_int_equal(c->fingers[1]->score, 100);
    assert_false(c->fingers[1]->matched);
    free_dec(r);

    /* The same NIK: nik_match. */
    assert_int_equal(get_dec(s, "d-4", &r, why), 0);
    assert_true(r->candidates[0]->nik_match);
    free_dec(r);

    /* A migrated person names no enrollment. */
    assert_int_equal(get_dec(s, "r-6", &r, why), 0);
    assert_int_equal(r->decision, SIDIK__V1__DECISION__REVIEW);
    assert_int_equal(r->status, SIDIK__V1__ENROLLMENT_STATUS__ADJUDICATE);
    assert_int_equal(r->n_candidates, 2);
    assert_string_equal(r->candidates[0]->enrollment_id, "u-2");
    assert_int_equal(r->candidates[0]->fingers[0]->probe_position,
                     SIDIK__V1__FINGER_POSITION__LEFT_THUMB);
    assert_int_equal(r->candidates[1]->record_id, MIG);
    assert_string_equal(r->candidates[1]->enrollment_id, "");
    assert_false(r->candidates[1]->nik_match);
    assert_int_equal(r->candidates[1]->n_fingers, 0);
    free_dec(r);

    /* A candidate awaiting review (r-6, record id its journal sequence):
     * named by the sequence index, its NIK compared like a person's. */
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(s->c, true, &t), 0);
    put_in(t, "h-9", "JKT-01", NIK_D, 9);
    sidik_decision_candidate held = {.record_id = 6, .llr = 20, .threshold = 12.5, .compared = 1};
    decide_in(t, "h-9", SIDIK_STATUS_ADJUDICATE, T0 + 9000, &held, 1,
              "same fingers as r-6 (in review)");
    assert_int_equal(sidik_control_commit(t), 0);
    assert_int_equal(get_dec(s, "h-9", &r, why), 0);
    assert_int_equal(r->n_candidates, 1);
    assert_int_equal(r->candidates[0]->record_id, 6);
    assert_string_equal(r->candidates[0]->enrollment_id, "r-6");
    assert_true(r->candidates[0]->nik_match);
    free_dec(r);

    /* Unknown, and not decided yet. */
    assert_int_equal(get_dec(s, "nobody", &r, why), SIDIK_ENOTFOUND);
    assert_null(r);
    assert_int_equal(get_dec(s, "n-8", &r, why), SIDIK_ENOTFOUND);
    assert_non_null(strstr(why, "RECEIVED"));
    assert_non_null(strstr(why, "not decided"));

    /* Bad ids. */
    char id65[66];
    memset(id65, 'a', 65);
    id65[65] = 0;
    const char *bad[] = {"", id65, "a b", "\x01", "a\x7f", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(get_dec(s, bad[i], &r, why), SIDIK_EINVAL);
        assert_non_null(strstr(why, "enrollment_id"));
    }
    static const uint8_t nul_id[] = {0x0a, 0x04, 'u', '-', 0x00, '1'}; /* "u-\0" + "1" */
    assert_int_equal(call_raw(s, SIDIK_METHOD_AUDIT_GET_DECISION, &auditor, nul_id, sizeof nul_id,
                              NULL, NULL, why),
                     SIDIK_EINVAL);
    /* An empty request is an empty id. */
    assert_int_equal(
        call_raw(s, SIDIK_METHOD_AUDIT_GET_DECISION, &auditor, NULL, 0, NULL, NULL, why),
        SIDIK_EINVAL);
    store_close(s);
}

/* After adjudications: the latest decision with the earlier ones, oldest
 * first, each complete. */
static void test_server_audit_get_decision_earlier(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    char why[256];
    assert_int_equal(adjudicate(s, "r-6", SIDIK__V1__DECISION__DUPLICATE_OF, 2,
                                "left thumb and two more match on the card", NULL, why),
                     0);
    Sidik__V1__DecisionRecord *r;
    assert_int_equal(get_dec(s, "r-6", &r, why), 0);
    assert_int_equal(r->index, 1);
    assert_int_equal(r->decision, SIDIK__V1__DECISION__DUPLICATE_OF);
    assert_int_equal(r->status, SIDIK__V1__ENROLLMENT_STATUS__DUPLICATE);
    assert_string_equal(r->adjudicator, "auditor:auditor.dewi");
    assert_string_equal(r->reason, "left thumb and two more match on the card");
    assert_int_equal(r->decided_time_ms, NOW);
    assert_int_equal(r->gallery_size, 1006); /* the search's, which it overrules */
    /* The candidate named: the search's entry for that record, scores and all. */
    assert_int_equal(r->n_candidates, 1);
    assert_int_equal(r->candidates[0]->record_id, 2);
    assert_true(r->candidates[0]->fused_score == 8);
    assert_int_equal(r->candidates[0]->n_fingers, 1);
    assert_int_equal(r->n_earlier, 1);
    const Sidik__V1__DecisionRecord *e = r->earlier[0];
    assert_int_equal(e->index, 0);
    assert_int_equal(e->decision, SIDIK__V1__DECISION__REVIEW);
    assert_int_equal(e->status, SIDIK__V1__ENROLLMENT_STATUS__DUPLICATE); /* now */
    assert_string_equal(e->office_code, "BDG-02");
    assert_int_equal(e->n_candidates, 2);
    assert_int_equal(e->n_earlier, 0);
    free_dec(r);
    store_close(s);
}

/* ---- SearchDecisions ------------------------------------------------------------------------- */

static void test_server_audit_search_filters(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    const sidik_method m = SIDIK_METHOD_AUDIT_SEARCH_DECISIONS;
    Sidik__V1__SearchDecisionsRequest q = query();
    EXPECT(m, q, "u-1/0", "u-2/0", "d-3/0", "d-4/0", "r-5/0", "r-6/0", "r-7/0");

    /* Each filter alone. */
    q = query();
    q.office_code = "JKT-01";
    EXPECT(m, q, "u-1/0", "d-3/0", "r-5/0", "r-7/0");
    q.office_code = "BDG-02";
    EXPECT(m, q, "u-2/0", "d-4/0", "r-6/0");
    q.office_code = "JKT"; /* a prefix of JKT-01: another office */
    EXPECT(m, q, NULL);
    q = query();
    q.nik = NIK_A;
    EXPECT(m, q, "u-1/0", "d-4/0", "r-5/0");
    q.nik = NIK_F; /* n-8's, not decided */
    EXPECT(m, q, NULL);
    q = query();
    q.decision = SIDIK__V1__DECISION__UNIQUE;
    EXPECT(m, q, "u-1/0", "u-2/0");
    q.decision = SIDIK__V1__DECISION__DUPLICATE_OF;
    EXPECT(m, q, "d-3/0", "d-4/0");
    q.decision = SIDIK__V1__DECISION__REVIEW;
    EXPECT(m, q, "r-5/0", "r-6/0", "r-7/0");
    q = query();
    q.from_ms = T0 + 3000; /* inclusive */
    q.to_ms = T0 + 6000;   /* exclusive */
    EXPECT(m, q, "d-3/0", "d-4/0", "r-5/0");
    q.to_ms = 0;
    EXPECT(m, q, "d-3/0", "d-4/0", "r-5/0", "r-6/0", "r-7/0");
    q.from_ms = 0;
    q.to_ms = T0 + 3000;
    EXPECT(m, q, "u-1/0", "u-2/0");
    /* Scores (the top candidate's; both bounds inclusive; no candidate, no
     * score: never inside a bound). */
    q = query();
    q.min_score = 10;
    EXPECT(m, q, "d-3/0", "d-4/0");
    q = query();
    q.max_score = 10;
    EXPECT(m, q, "r-6/0", "r-7/0");
    q.min_score = 9;
    q.max_score = 25;
    EXPECT(m, q, "d-4/0", "r-7/0");
    q.min_score = -100;
    q.max_score = 100;
    EXPECT(m, q, "d-3/0", "d-4/0", "r-6/0", "r-7/0");

    /* Combined. */
    q = query();
    q.office_code = "JKT-01";
    q.decision = SIDIK__V1__DECISION__REVIEW;
    EXPECT(m, q, "r-5/0", "r-7/0");
    q = query();
    q.office_code = "BDG-02";
    q.nik = NIK_A;
    EXPECT(m, q, "d-4/0");
    q = query();
    q.nik = NIK_A;
    q.decision = SIDIK__V1__DECISION__DUPLICATE_OF;
    EXPECT(m, q, "d-4/0");
    q = query();
    q.office_code = "JKT-01";
    q.min_score = 9;
    EXPECT(m, q, "d-3/0", "r-7/0");
    q = query();
    q.office_code = "JKT-01";
    q.from_ms = T0 + 2000;
    q.to_ms = T0 + 7000;
    q.decision = SIDIK__V1__DECISION__REVIEW;
    EXPECT(m, q, "r-5/0");
    q.nik = NIK_B; /* u-2's, another office */
    EXPECT(m, q, NULL);

    /* An adjudication is a decision of its own, at its time. */
    char why[256];
    assert_int_equal(adjudicate(s, "r-6", SIDIK__V1__DECISION__DUPLICATE_OF, 2, "seen", NULL, why),
                     0);
    q = query();
    q.office_code = "BDG-02";
    EXPECT(m, q, "u-2/0", "d-4/0", "r-6/0", "r-6/1");
    q.decision = SIDIK__V1__DECISION__DUPLICATE_OF;
    EXPECT(m, q, "d-4/0", "r-6/1");
    q = query();
    q.from_ms = NOW;
    EXPECT(m, q, "r-6/1");

    /* Wrong fields. */
    Sidik__V1__SearchDecisionsResponse *r;
    const struct {
        const char *office, *nik;
        int decision;
        int64_t from, to;
        double min, max;
    } bad[] = {
        {"JKT 01", "", 0, 0, 0, 0, 0},
        {"", "12345", 0, 0, 0, 0, 0},
        {"", "317101650590000x", 0, 0, 0, 0, 0},
        {"", "", 4, 0, 0, 0, 0},
        {"", "", -1, 0, 0, 0, 0},
        {"", "", 0, -5, 0, 0, 0},
        {"", "", 0, 0, -5, 0, 0},
        {"", "", 0, 10, 10, 0, 0},
        {"", "", 0, 10, 5, 0, 0},
        {"", "", 0, 0, 0, NAN, 0},
        {"", "", 0, 0, 0, 0, INFINITY},
        {"", "", 0, 0, 0, 9, 8},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q = query();
        q.office_code = (char *)bad[i].office;
        q.nik = (char *)bad[i].nik;
        q.decision = (Sidik__V1__Decision)bad[i].decision;
        q.from_ms = bad[i].from;
        q.to_ms = bad[i].to;
        q.min_score = bad[i].min;
        q.max_score = bad[i].max;
        int rc = listing(s, m, &q, &r, why);
        if (rc != SIDIK_EINVAL)
            print_error("case %zu: %s\n", i, sidik_err_name(rc));
        assert_int_equal(rc, SIDIK_EINVAL);
        assert_int_equal(listing(s, SIDIK_METHOD_AUDIT_REVIEW_QUEUE, &q, &r, why), SIDIK_EINVAL);
    }
    store_close(s);
}

/* n enrollments "p-<seq>" from seq0, offices by seq % 3, five decided in
 * each second; those with seq % every == 0 REVIEW (with ncand candidates
 * of ten fingers each), the rest UNIQUE. */
static void many(store *s, uint64_t seq0, uint32_t n, uint32_t every, uint32_t ncand)
{
    static const char *const offices[] = {"JKT-01", "BDG-02", "SBY-03"};
    sidik_decision_candidate cand[SIDIK_DECISION_RECORD_CANDIDATES];
    for (uint32_t j = 0; j < ncand; j++) {
        cand[j] = (sidik_decision_candidate){.record_id = 1 + j, .llr = 7.5, .compared = 0x3ff};
        for (int f = 0; f < 10; f++)
            cand[j].score[f] = (uint16_t)(1000 * f + 999);
    }
    for (uint32_t done = 0; done < n;) {
        sidik_control_txn *t;
        assert_int_equal(sidik_control_begin(s->c, true, &t), 0);
        for (uint32_t k = 0; k < 2000 && done < n; k++, done++) {
            uint64_t seq = seq0 + done;
            char id[32];
            snprintf(id, sizeof id, "p-%llu", (unsigned long long)seq);
            put_in(t, id, offices[seq % 3], "", seq);
            bool review = seq % every == 0;
            decide_in(t, id, review ? SIDIK_STATUS_ADJUDICATE : SIDIK_STATUS_PRINT_READY,
                      T0 + (int64_t)(seq / 5) * 1000, cand, review ? ncand : 0,
                      review && ncand > 0 ? "several fingers in the gray zone against eight "
                                            "enrolled persons; a person decides"
                                          : "");
        }
        assert_int_equal(sidik_control_commit(t), 0);
    }
}

static void test_server_audit_search_paging(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    enum { N = 10600 };
    many(s, 100, N, 97, 0);
    const sidik_method m = SIDIK_METHOD_AUDIT_SEARCH_DECISIONS;
    static char got[N][80];
    size_t pages;
    uint32_t sizes[] = {0, 7, 1000, 1001};
    for (size_t i = 0; i < 4; i++) {
        Sidik__V1__SearchDecisionsRequest q = query();
        q.page_size = sizes[i];
        assert_int_equal(list_all(s, m, q, got, N, &pages), N);
        size_t per = sizes[i] == 0 ? 100 : sizes[i] > 1000 ? 1000 : sizes[i];
        assert_int_equal(pages, (N + per - 1) / per); /* a full last page says it is the last */
    }
    /* One office through its own index, pages of 7. */
    Sidik__V1__SearchDecisionsRequest q = query();
    q.office_code = "SBY-03";
    q.page_size = 7;
    size_t n = list_all(s, m, q, got, N, &pages);
    size_t want = 0;
    for (uint64_t seq = 100; seq < 100 + N; seq++)
        want += seq % 3 == 0;
    assert_int_equal(n, want);
    /* A filter few pass: a page examines at most 10,000 decisions, so the
     * first comes back short with a token, and nothing is missed. */
    q = query();
    q.decision = SIDIK__V1__DECISION__REVIEW;
    q.page_size = 1000;
    n = list_all(s, m, q, got, N, &pages);
    want = 0;
    for (uint64_t seq = 100; seq < 100 + N; seq++)
        want += seq % 97 == 0;
    assert_int_equal(n, want);
    assert_int_equal(pages, 2);
    Sidik__V1__SearchDecisionsResponse *r;
    char why[256];
    assert_int_equal(listing(s, m, &q, &r, why), 0);
    want = 0;
    for (uint64_t seq = 100; seq < 100 + 10000; seq++)
        want += seq % 97 == 0;
    assert_int_equal(r->n_decisions, want); /* those among the first 10,000 */
    assert_true(r->next_page_token[0] != 0);
    sidik__v1__search_decisions_response__free_unpacked(r, NULL);
    /* Times: one millisecond's five decisions, in journal order. */
    q = query();
    q.from_ms = T0 + 30 * 1000;
    q.to_ms = T0 + 31 * 1000;
    static const char *const w[] = {"p-150/0", "p-151/0", "p-152/0", "p-153/0", "p-154/0"};
    expect(s, m, q, w, 5);
    store_close(s);
}

/* A page also stops before 1 MiB of records. */
static void test_server_audit_search_byte_cap(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    many(s, 1, 1200, 1, 8); /* 1,200 REVIEW decisions with eight full candidates */
    Sidik__V1__SearchDecisionsRequest q = query();
    q.decision = SIDIK__V1__DECISION__REVIEW;
    q.page_size = 1000;
    Sidik__V1__SearchDecisionsResponse *r;
    char why[256];
    assert_int_equal(listing(s, SIDIK_METHOD_AUDIT_SEARCH_DECISIONS, &q, &r, why), 0);
    size_t len = sidik__v1__search_decisions_response__get_packed_size(r);
    assert_true(len <= (1u << 20) + 64);
    assert_true(r->n_decisions > 50 && r->n_decisions < 1000);
    assert_true(r->next_page_token[0] != 0);
    assert_int_equal(r->decisions[0]->n_candidates, 8);
    assert_int_equal(r->decisions[0]->candidates[0]->n_fingers, 10);
    sidik__v1__search_decisions_response__free_unpacked(r, NULL);
    static char got[1300][80];
    assert_int_equal(list_all(s, SIDIK_METHOD_AUDIT_SEARCH_DECISIONS, q, got, 1300, NULL), 1200);
    store_close(s);
}

static void test_server_audit_page_tokens(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    char why[256];
    Sidik__V1__SearchDecisionsRequest q = query();
    q.page_size = 2;
    Sidik__V1__SearchDecisionsResponse *r;
    assert_int_equal(listing(s, SIDIK_METHOD_AUDIT_SEARCH_DECISIONS, &q, &r, why), 0);
    char dtok[64];
    snprintf(dtok, sizeof dtok, "%s", r->next_page_token);
    sidik__v1__search_decisions_response__free_unpacked(r, NULL);
    assert_int_equal(strlen(dtok), 35);
    q.page_size = 1;
    assert_int_equal(listing(s, SIDIK_METHOD_AUDIT_REVIEW_QUEUE, &q, &r, why), 0);
    char rtok[64];
    snprintf(rtok, sizeof rtok, "%s", r->next_page_token);
    sidik__v1__search_decisions_response__free_unpacked(r, NULL);
    assert_int_equal(strlen(rtok), 33);

    /* Each is good for its own listing only; anything else is refused. */
    char trunc[64], over[72], upper[64], nonhex[64], seq0[64], idx16[64];
    snprintf(trunc, sizeof trunc, "%.34s", dtok);
    snprintf(over, sizeof over, "%s0", dtok);
    snprintf(upper, sizeof upper, "%s", dtok);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    int has_letter = strcmp(upper, dtok) != 0;
    snprintf(nonhex, sizeof nonhex, "%s", dtok);
    nonhex[20] = 'g';
    snprintf(seq0, sizeof seq0, "d%016llx%016llx00", (unsigned long long)T0, 0ull);
    snprintf(idx16, sizeof idx16, "d%016llx%016llx10", (unsigned long long)T0, 1ull);
    char *huge = malloc((1u << 20) + 1);
    memset(huge, 'd', 1u << 20);
    huge[1u << 20] = 0;
    const char *bad[] = {"x",
                         "d",
                         "0",
                         "-1",
                         "d ",
                         trunc,
                         over,
                         nonhex,
                         seq0,
                         idx16,
                         rtok,
                         huge,
                         has_letter ? upper : "D"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q = query();
        q.page_token = (char *)bad[i];
        assert_int_equal(listing(s, SIDIK_METHOD_AUDIT_SEARCH_DECISIONS, &q, &r, why),
                         SIDIK_EINVAL);
        assert_non_null(strstr(why, "page_token"));
        if (bad[i] != rtok) {
            assert_int_equal(listing(s, SIDIK_METHOD_AUDIT_REVIEW_QUEUE, &q, &r, why),
                             SIDIK_EINVAL);
        }
    }
    q = query();
    q.page_token = dtok;
    assert_int_equal(listing(s, SIDIK_METHOD_AUDIT_REVIEW_QUEUE, &q, &r, why), SIDIK_EINVAL);
    q.page_token = rtok;
    assert_int_equal(listing(s, SIDIK_METHOD_AUDIT_REVIEW_QUEUE, &q, &r, why), 0);
    sidik__v1__search_decisions_response__free_unpacked(r, NULL);
    /* A token with a NUL inside: "d" NUL ... as raw bytes. */
    uint8_t raw[2 + 35] = {0x4a, 35};
    memcpy(raw + 2, dtok, 35);
    raw[2 + 5] = 0;
    assert_int_equal(call_raw(s, SIDIK_METHOD_AUDIT_SEARCH_DECISIONS, &auditor, raw, sizeof raw,
                              NULL, NULL, why),
                     SIDIK_EINVAL);
    free(huge);
    store_close(s);
}

/* ---- ReviewQueue ---------------------------------------------------------------------------- */

static void test_server_audit_review_queue(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    const sidik_method m = SIDIK_METHOD_AUDIT_REVIEW_QUEUE;
    Sidik__V1__SearchDecisionsRequest q = query();
    EXPECT(m, q, "r-5/0", "r-6/0", "r-7/0");
    q.decision = SIDIK__V1__DECISION__REVIEW;
    EXPECT(m, q, "r-5/0", "r-6/0", "r-7/0");
    q = query();
    q.office_code = "JKT-01";
    EXPECT(m, q, "r-5/0", "r-7/0");
    q = query();
    q.nik = NIK_A;
    EXPECT(m, q, "r-5/0");
    q = query();
    q.from_ms = T0 + 5500;
    EXPECT(m, q, "r-6/0", "r-7/0");
    q.to_ms = T0 + 7000;
    EXPECT(m, q, "r-6/0");
    q = query();
    q.min_score = 8.5;
    EXPECT(m, q, "r-7/0");
    char why[256];
    Sidik__V1__SearchDecisionsResponse *r;
    q = query();
    q.decision = SIDIK__V1__DECISION__UNIQUE;
    assert_int_equal(listing(s, m, &q, &r, why), SIDIK_EINVAL);
    assert_non_null(strstr(why, "REVIEW"));

    /* A verdict takes it out: DUPLICATE at once, UNIQUE while it waits for
     * the stage too. */
    assert_int_equal(adjudicate(s, "r-6", SIDIK__V1__DECISION__DUPLICATE_OF, 2, "seen", NULL, why),
                     0);
    q = query();
    EXPECT(m, q, "r-5/0", "r-7/0");
    assert_int_equal(
        adjudicate(s, "r-5", SIDIK__V1__DECISION__UNIQUE, 0, "another person", NULL, why), 0);
    EXPECT(m, q, "r-7/0");
    store_close(s);
}

/* ---- Adjudicate ----------------------------------------------------------------------------- */

static sidik_audit_entry last_audit(store *s)
{
    sidik_control_txn *t;
    uint64_t head;
    uint8_t hash[32];
    sidik_audit_entry a;
    assert_int_equal(sidik_control_begin(s->c, false, &t), 0);
    assert_int_equal(sidik_control_audit_head(t, &head, hash), 0);
    assert_int_equal(sidik_control_audit_get(t, head, &a), 0);
    sidik_control_abort(t);
    return a;
}

static void test_server_audit_adjudicate_duplicate(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    char why[256];
    Sidik__V1__DecisionRecord *r;
    /* A record the search did not list, of a migrated person. */
    assert_int_equal(adjudicate(s, "r-7", SIDIK__V1__DECISION__DUPLICATE_OF, 1,
                                "photo and signature are u-1's", &r, why),
                     0);
    assert_int_equal(r->decision, SIDIK__V1__DECISION__DUPLICATE_OF);
    assert_int_equal(r->status, SIDIK__V1__ENROLLMENT_STATUS__DUPLICATE);
    assert_int_equal(r->index, 1);
    assert_string_equal(r->adjudicator, "auditor:auditor.dewi");
    assert_int_equal(r->n_candidates, 1);
    assert_int_equal(r->candidates[0]->record_id, 1);
    assert_string_equal(r->candidates[0]->enrollment_id, "u-1");
    assert_true(r->candidates[0]->fused_score == 0); /* nothing compared */
    assert_int_equal(r->candidates[0]->n_fingers, 0);
    free_dec(r);
    assert_int_equal(s->verdicts, 0); /* nothing for the stage to store */
    assert_int_equal(s->dropped, 1);  /* but r-7 is searched no more */
    assert_int_equal(s->dropped_seq, 7);
    sidik_audit_entry a = last_audit(s);
    assert_int_equal(a.kind, SIDIK_AUDIT_ADJUDICATION);
    assert_string_equal(a.actor, "auditor:auditor.dewi");
    assert_string_equal(a.subject, "r-7");
    assert_string_equal(a.detail, "DUPLICATE_OF record 1: photo and signature are u-1's");
    /* Migrated persons are enrolled too. */
    assert_int_equal(
        adjudicate(s, "r-6", SIDIK__V1__DECISION__DUPLICATE_OF, MIG, "old record", NULL, why), 0);
    /* Given twice: the second is refused, naming the status. */
    assert_int_equal(
        adjudicate(s, "r-7", SIDIK__V1__DECISION__UNIQUE, 0, "changed my mind", NULL, why),
        SIDIK_ESTATE);
    assert_non_null(strstr(why, "DUPLICATE"));
    assert_int_equal(adjudicate(s, "r-7", SIDIK__V1__DECISION__DUPLICATE_OF, 1, "again", NULL, why),
                     SIDIK_ESTATE);
    store_close(s);
}

static void test_server_audit_adjudicate_unique(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    char why[256];
    Sidik__V1__DecisionRecord *r;
    assert_int_equal(adjudicate(s, "r-5", SIDIK__V1__DECISION__UNIQUE, 0,
                                "twin sister; the NIK was mistyped at the office", &r, why),
                     0);
    assert_int_equal(s->verdicts, 1);
    /* Durable and shown at once; the status stays ADJUDICATE until the
     * dedup stage has put the person into the gallery. */
    assert_int_equal(r->decision, SIDIK__V1__DECISION__UNIQUE);
    assert_int_equal(r->status, SIDIK__V1__ENROLLMENT_STATUS__ADJUDICATE);
    assert_int_equal(r->index, 1);
    assert_int_equal(r->n_candidates, 0);
    free_dec(r);
    assert_int_equal(get_dec(s, "r-5", &r, why), 0);
    assert_int_equal(r->decision, SIDIK__V1__DECISION__UNIQUE);
    assert_string_equal(r->adjudicator, "auditor:auditor.dewi");
    assert_string_equal(r->reason, "twin sister; the NIK was mistyped at the office");
    assert_int_equal(r->status, SIDIK__V1__ENROLLMENT_STATUS__ADJUDICATE);
    assert_int_equal(r->n_earlier, 1);
    free_dec(r);
    sidik_control_txn *t;
    sidik_enroll_id ids[4];
    uint64_t seqs[4];
    uint32_t n;
    assert_int_equal(sidik_control_begin(s->c, false, &t), 0);
    assert_int_equal(sidik_control_pending_list(t, 0, 4, ids, seqs, &n), 0);
    sidik_control_abort(t);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "r-5");
    assert_int_equal(seqs[0], 5);
    sidik_audit_entry a = last_audit(s);
    assert_int_equal(a.kind, SIDIK_AUDIT_ADJUDICATION);
    assert_string_equal(a.detail, "UNIQUE: twin sister; the NIK was mistyped at the office");
    /* A second verdict while it waits, of either kind, is refused. */
    assert_int_equal(adjudicate(s, "r-5", SIDIK__V1__DECISION__UNIQUE, 0, "again", NULL, why),
                     SIDIK_ESTATE);
    assert_non_null(strstr(why, "already adjudicated"));
    assert_int_equal(adjudicate(s, "r-5", SIDIK__V1__DECISION__DUPLICATE_OF, 1, "no", NULL, why),
                     SIDIK_ESTATE);
    assert_int_equal(s->verdicts, 1);
    store_close(s);
}

static void test_server_audit_adjudicate_refusals(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    char why[256];
    /* Not waiting for a person: FAILED_PRECONDITION naming the status. */
    assert_int_equal(adjudicate(s, "u-1", SIDIK__V1__DECISION__UNIQUE, 0, "ok", NULL, why),
                     SIDIK_ESTATE);
    assert_non_null(strstr(why, "PRINT_READY"));
    assert_int_equal(adjudicate(s, "n-8", SIDIK__V1__DECISION__UNIQUE, 0, "ok", NULL, why),
                     SIDIK_ESTATE);
    assert_non_null(strstr(why, "RECEIVED"));
    assert_int_equal(adjudicate(s, "d-3", SIDIK__V1__DECISION__DUPLICATE_OF, 1, "ok", NULL, why),
                     SIDIK_ESTATE);
    assert_non_null(strstr(why, "DUPLICATE"));
    assert_int_equal(adjudicate(s, "nobody", SIDIK__V1__DECISION__UNIQUE, 0, "ok", NULL, why),
                     SIDIK_ENOTFOUND);
    /* Decisions that are not verdicts. */
    int bad_decisions[] = {SIDIK__V1__DECISION__DECISION_UNSPECIFIED, SIDIK__V1__DECISION__REVIEW,
                           4, 99, -1};
    for (size_t i = 0; i < sizeof bad_decisions / sizeof bad_decisions[0]; i++) {
        assert_int_equal(adjudicate(s, "r-6", bad_decisions[i], 0, "ok", NULL, why), SIDIK_EINVAL);
        assert_non_null(strstr(why, "decision"));
    }
    assert_int_equal(adjudicate(s, "r-6", SIDIK__V1__DECISION__DUPLICATE_OF, 0, "ok", NULL, why),
                     SIDIK_EINVAL);
    assert_non_null(strstr(why, "duplicate_of"));
    assert_int_equal(adjudicate(s, "r-6", SIDIK__V1__DECISION__UNIQUE, 2, "ok", NULL, why),
                     SIDIK_EINVAL);
    /* An unknown record: NOT_FOUND, naming it; the enrollment untouched. */
    assert_int_equal(adjudicate(s, "r-6", SIDIK__V1__DECISION__DUPLICATE_OF, 999, "ok", NULL, why),
                     SIDIK_ENOTFOUND);
    assert_non_null(strstr(why, "999"));
    assert_int_equal(adjudicate(s, "r-6", SIDIK__V1__DECISION__DUPLICATE_OF, 5, "ok", NULL, why),
                     SIDIK_ENOTFOUND); /* an enrollment's sequence, but no person */
    /* Reasons: required, 1-96 printable ASCII. */
    char r96[97], r97[98];
    memset(r96, 'x', 96);
    r96[96] = 0;
    memset(r97, 'x', 97);
    r97[97] = 0;
    const char *bad_reasons[] = {"", r97, "tab\there", "line\n", "caf\xc3\xa9", "\x7f"};
    for (size_t i = 0; i < sizeof bad_reasons / sizeof bad_reasons[0]; i++) {
        assert_int_equal(
            adjudicate(s, "r-6", SIDIK__V1__DECISION__UNIQUE, 0, bad_reasons[i], NULL, why),
            SIDIK_EINVAL);
        assert_non_null(strstr(why, "reason"));
    }
    /* Bad ids. */
    assert_int_equal(adjudicate(s, "", SIDIK__V1__DECISION__UNIQUE, 0, "ok", NULL, why),
                     SIDIK_EINVAL);
    assert_int_equal(adjudicate(s, "r 6", SIDIK__V1__DECISION__UNIQUE, 0, "ok", NULL, why),
                     SIDIK_EINVAL);
    /* Nothing of the refusals was kept: r-6 is as it was, and takes a
     * 96-character reason. */
    Sidik__V1__DecisionRecord *r;
    assert_int_equal(get_dec(s, "r-6", &r, why), 0);
    assert_int_equal(r->index, 0);
    free_dec(r);
    assert_int_equal(adjudicate(s, "r-6", SIDIK__V1__DECISION__UNIQUE, 0, r96, NULL, why), 0);
    assert_int_equal(s->verdicts, 1);
    store_close(s);
}

/* ---- VerifyChain ---------------------------------------------------------------------------- */

static int verify(store *s, Sidik__V1__VerifyChainResponse **r, char why[256])
{
    Sidik__V1__VerifyChainRequest q = SIDIK__V1__VERIFY_CHAIN_REQUEST__INIT;
    return call(s, SIDIK_METHOD_AUDIT_VERIFY_CHAIN, &auditor, &q.base,
                &sidik__v1__verify_chain_response__descriptor, (ProtobufCMessage **)r, why);
}

static void test_server_audit_verify_chain(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    char why[256];
    Sidik__V1__VerifyChainResponse *r;
    assert_int_equal(verify(s, &r, why), 0); /* empty: intact */
    assert_int_equal(r->entries, 0);
    assert_true(r->intact);
    assert_int_equal(r->head_sha256.len, 0);
    sidik__v1__verify_chain_response__free_unpacked(r, NULL);

    fixture(s);
    assert_int_equal(adjudicate(s, "r-6", SIDIK__V1__DECISION__DUPLICATE_OF, 2, "seen", NULL, why),
                     0);
    assert_int_equal(verify(s, &r, why), 0);
    assert_int_equal(r->entries, 8); /* seven decisions, one adjudication */
    assert_true(r->intact);
    assert_int_equal(r->first_broken, 0);
    sidik_control_txn *t;
    uint64_t head;
    uint8_t hash[32];
    assert_int_equal(sidik_control_begin(s->c, false, &t), 0);
    assert_int_equal(sidik_control_audit_head(t, &head, hash), 0);
    sidik_audit_entry a4;
    assert_int_equal(sidik_control_audit_get(t, 4, &a4), 0);
    sidik_control_abort(t);
    assert_int_equal(r->head_sha256.len, 32);
    assert_memory_equal(r->head_sha256.data, hash, 32);
    sidik__v1__verify_chain_response__free_unpacked(r, NULL);

    /* One byte of entry 4's detail edited behind the store's back. */
    sidik_control_close(s->c);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 1ull << 36), 0);
    assert_int_equal(mdb_env_open(env, s->dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "audit", 0, &dbi), 0);
    uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, 4};
    MDB_val k = {8, key}, v;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    uint8_t copy[1024];
    memcpy(copy, v.mv_data, v.mv_size);
    copy[16 + strlen(a4.actor) + strlen(a4.subject)] ^= 0x01; /* "DUPLICATE" -> "EUPLICATE" */
    MDB_val nv = {v.mv_size, copy};
    assert_int_equal(mdb_put(txn, dbi, &k, &nv, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    store_reopen(s);
    assert_int_equal(verify(s, &r, why), 0);
    assert_false(r->intact);
    assert_int_equal(r->first_broken, 4);
    assert_int_equal(r->entries, 8);
    assert_memory_equal(r->head_sha256.data, hash, 32);
    sidik__v1__verify_chain_response__free_unpacked(r, NULL);
    /* A request that is not a VerifyChainRequest. */
    static const uint8_t junk[] = {0x0f};
    assert_int_equal(
        call_raw(s, SIDIK_METHOD_AUDIT_VERIFY_CHAIN, &auditor, junk, 1, NULL, NULL, why),
        SIDIK_EFORMAT);
    store_close(s);
}

/* ---- roles, hostile bytes, allocation failures ---------------------------------------------- */

static const sidik_method methods[] = {
    SIDIK_METHOD_AUDIT_GET_DECISION, SIDIK_METHOD_AUDIT_SEARCH_DECISIONS,
    SIDIK_METHOD_AUDIT_REVIEW_QUEUE, SIDIK_METHOD_AUDIT_ADJUDICATE,
    SIDIK_METHOD_AUDIT_VERIFY_CHAIN};

static void test_server_audit_roles(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    char why[256];
    const sidik_identity *denied[] = {&office, &admin, &printer};
    const sidik_identity odd[] = {{0, "auditor.dewi"}, {(sidik_role)99, "auditor.dewi"}};
    Sidik__V1__AdjudicateRequest q = SIDIK__V1__ADJUDICATE_REQUEST__INIT;
    q.enrollment_id = "r-5";
    q.decision = SIDIK__V1__DECISION__UNIQUE;
    q.reason = "ok";
    size_t n;
    uint8_t *p = pack(&q.base, &n);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        for (size_t k = 0; k < 3; k++)
            assert_int_equal(call_raw(s, methods[i], denied[k], p, n, NULL, NULL, why),
                             SIDIK_EDENIED);
        for (size_t k = 0; k < 2; k++)
            assert_int_equal(call_raw(s, methods[i], &odd[k], p, n, NULL, NULL, why),
                             SIDIK_EDENIED);
    }
    assert_int_equal(call_raw(s, SIDIK_METHOD_STATUS_GET, &auditor, p, n, NULL, NULL, why),
                     SIDIK_EUNSUPPORTED);
    free(p);
    assert_int_equal(s->verdicts, 0);
    Sidik__V1__DecisionRecord *r;
    assert_int_equal(get_dec(s, "r-5", &r, why), 0);
    assert_int_equal(r->index, 0); /* nothing adjudicated */
    free_dec(r);
    /* Arguments. */
    uint8_t *out;
    size_t len;
    assert_int_equal(sidik_audit_answer(NULL, methods[0], &auditor, NULL, 0, &out, &len, why, 256),
                     SIDIK_EINVAL);
    sidik_audit_service nofusion = s->as;
    nofusion.fusion = NULL;
    assert_int_equal(
        sidik_audit_answer(&nofusion, methods[0], &auditor, NULL, 0, &out, &len, why, 256),
        SIDIK_EINVAL);
    store_close(s);
}

/* A NUL inside each text field of each request: refused as INVALID_ARGUMENT. */
static void test_server_audit_embedded_nul(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    char why[256];
    static const struct {
        sidik_method m;
        uint8_t b[40];
        size_t n;
    } cases[] = {
        {SIDIK_METHOD_AUDIT_GET_DECISION, {0x0a, 4, 'r', '-', '5', 0}, 6},
        {SIDIK_METHOD_AUDIT_SEARCH_DECISIONS, {0x0a, 7, 'J', 'K', 'T', '-', '0', '1', 0}, 9},
        {SIDIK_METHOD_AUDIT_SEARCH_DECISIONS,
         {0x3a, 17, '3', '1', '7', '1', '0', '1', '6', '5', '0', '5', '9', '0', '0', '0', '0', '1',
          0},
         19},
        {SIDIK_METHOD_AUDIT_REVIEW_QUEUE, {0x0a, 7, 'J', 'K', 'T', '-', '0', '1', 0}, 9},
        {SIDIK_METHOD_AUDIT_REVIEW_QUEUE, {0x4a, 2, 'r', 0}, 4},
        {SIDIK_METHOD_AUDIT_ADJUDICATE,
         {0x0a, 4, 'r', '-', '5', 0, 0x10, 1, 0x22, 2, 'o', 'k'},
         12},
        {SIDIK_METHOD_AUDIT_ADJUDICATE,
         {0x0a, 3, 'r', '-', '5', 0x10, 1, 0x22, 3, 'o', 'k', 0},
         12},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = call_raw(s, cases[i].m, &auditor, cases[i].b, cases[i].n, NULL, NULL, why);
        if (rc != SIDIK_EINVAL)
            print_error("case %zu: %s (%s)\n", i, sidik_err_name(rc), why);
        assert_int_equal(rc, SIDIK_EINVAL);
    }
    /* Without the NUL the adjudication goes through. */
    static const uint8_t ok[] = {0x0a, 3, 'r', '-', '5', 0x10, 1, 0x22, 2, 'o', 'k'};
    assert_int_equal(
        call_raw(s, SIDIK_METHOD_AUDIT_ADJUDICATE, &auditor, ok, sizeof ok, NULL, NULL, why), 0);
    store_close(s);
}

static void test_server_audit_garbage_bytes(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    char why[256];
    uint64_t rng = 7;
    uint8_t buf[96];
    const ProtobufCMessageDescriptor *req[] = {&sidik__v1__get_decision_request__descriptor,
                                               &sidik__v1__search_decisions_request__descriptor,
                                               &sidik__v1__search_decisions_request__descriptor,
                                               &sidik__v1__adjudicate_request__descriptor,
                                               &sidik__v1__verify_chain_request__descriptor};
    size_t parsed = 0, unparsed = 0;
    /* Valid requests of each method, to change a few bytes of. */
    Sidik__V1__GetDecisionRequest g = SIDIK__V1__GET_DECISION_REQUEST__INIT;
    g.enrollment_id = "r-5";
    Sidik__V1__SearchDecisionsRequest q = query();
    q.office_code = "JKT-01";
    q.nik = NIK_A;
    q.from_ms = T0;
    q.page_size = 5;
    Sidik__V1__AdjudicateRequest a = SIDIK__V1__ADJUDICATE_REQUEST__INIT;
    a.enrollment_id = "r-5";
    a.decision = SIDIK__V1__DECISION__DUPLICATE_OF;
    a.duplicate_of = 1;
    a.reason = "a reason";
    const ProtobufCMessage *valid[] = {&g.base, &q.base, &q.base, &a.base, NULL};
    for (int round = 0; round < 6000; round++) {
        size_t k = (size_t)round % 5, n;
        if (round % 10 < 5 || valid[k] == NULL) { /* noise */
            n = 1 + sidik_test_rand(&rng) % sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)sidik_test_rand(&rng);
        } else { /* a valid request with a few bytes changed */
            uint8_t *v = pack(valid[k], &n);
            memcpy(buf, v, n);
            free(v);
            for (int c = 1 + (int)(sidik_test_rand(&rng) % 3); c > 0; c--)
                buf[sidik_test_rand(&rng) % n] = (uint8_t)sidik_test_rand(&rng);
        }
        ProtobufCMessage *m = protobuf_c_message_unpack(req[k], NULL, n, buf);
        int rc = call_raw(s, methods[k], &auditor, buf, n, NULL, NULL, why);
        if (m == NULL) {
            assert_int_equal(rc, SIDIK_EFORMAT);
            unparsed++;
        } else {
            assert_true(rc == 0 || rc == SIDIK_EINVAL || rc == SIDIK_ENOTFOUND ||
                        rc == SIDIK_ESTATE);
            protobuf_c_message_free_unpacked(m, NULL);
            parsed++;
        }
    }
    assert_true(parsed > 500 && unparsed > 1000);
    assert_int_equal(s->verdicts, 0);
    /* Truncated requests: every prefix of a search request either parses
     * (whole fields) and is answered, or is EFORMAT. */
    size_t n;
    uint8_t *p = pack(&q.base, &n);
    for (size_t k = 1; k < n; k++) {
        ProtobufCMessage *m = protobuf_c_message_unpack(req[1], NULL, k, p);
        int rc = call_raw(s, SIDIK_METHOD_AUDIT_SEARCH_DECISIONS, &auditor, p, k, NULL, NULL, why);
        assert_int_equal(rc, m == NULL ? SIDIK_EFORMAT : 0);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    free(p);
    store_close(s);
}

/* Every allocation failing in turn: RESOURCE_EXHAUSTED, no leak, and the
 * answer exact once none fails. */
static void test_server_audit_alloc_failures(void **state)
{
    (void)state;
    store st, *s = &st;
    store_open(s);
    fixture(s);
    Sidik__V1__GetDecisionRequest g = SIDIK__V1__GET_DECISION_REQUEST__INIT;
    g.enrollment_id = "r-6";
    Sidik__V1__SearchDecisionsRequest q = query();
    q.page_size = 3;
    const ProtobufCMessage *reqs[] = {&g.base, &q.base};
    sidik_method ms[] = {SIDIK_METHOD_AUDIT_GET_DECISION, SIDIK_METHOD_AUDIT_SEARCH_DECISIONS};
    for (size_t i = 0; i < 2; i++) {
        size_t n;
        uint8_t *p = pack(reqs[i], &n);
        char why[256];
        for (uint64_t k = 1;; k++) {
            size_t blocks = sidik_alloc_blocks();
            uint8_t *out = NULL;
            size_t len;
            sidik_alloc_fail_nth(k);
            int rc = sidik_audit_answer(&s->as, ms[i], &auditor, p, n, &out, &len, why, 256);
            bool fired = !sidik_alloc_fail_pending();
            sidik_alloc_fail_nth(0);
            if (!fired) {
                assert_int_equal(rc, 0);
                sidik_free(out);
                break;
            }
            if (rc != SIDIK_ENOMEM && rc != SIDIK_EFORMAT)
                print_error("allocation %llu: %s\n", (unsigned long long)k, sidik_err_name(rc));
            assert_true(rc == SIDIK_ENOMEM || rc == SIDIK_EFORMAT);
            assert_int_equal(sidik_alloc_blocks(), blocks);
            assert_true(k < 1000);
        }
        free(p);
    }
    store_close(s);
}

static int setup(void **state)
{
    (void)state;
    /* A fusion model where 5000 and up are genuine-like and 2000 and below
     * impostor-like. */
    uint32_t gen[400], imp[4000];
    for (uint32_t i = 0; i < 400; i++)
        gen[i] = 3000 + i * 15;
    for (uint32_t i = 0; i < 4000; i++)
        imp[i] = i / 2;
    return sidik_fusion_create(gen, 400, imp, 4000, &fusion);
}

static int teardown(void **state)
{
    (void)state;
    sidik_fusion_destroy(fusion);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_audit_get_decision),
        SIDIK_TEST(test_server_audit_get_decision_earlier),
        SIDIK_TEST(test_server_audit_search_filters),
        SIDIK_TEST(test_server_audit_search_paging),
        SIDIK_TEST(test_server_audit_search_byte_cap),
        SIDIK_TEST(test_server_audit_page_tokens),
        SIDIK_TEST(test_server_audit_review_queue),
        SIDIK_TEST(test_server_audit_adjudicate_duplicate),
        SIDIK_TEST(test_server_audit_adjudicate_unique),
        SIDIK_TEST(test_server_audit_adjudicate_refusals),
        SIDIK_TEST(test_server_audit_verify_chain),
        SIDIK_TEST(test_server_audit_roles),
        SIDIK_TEST(test_server_audit_embedded_nul),
        SIDIK_TEST(test_server_audit_garbage_bytes),
        SIDIK_TEST(test_server_audit_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
