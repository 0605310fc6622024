/*
 * Status.Get and Status.List against a real control store in a scratch
 * folder: offices see only their own, auditors see any and other roles
 * nothing; history and times as stored; paging, page sizes and their caps,
 * the status and since filters, the bound on records one page examines;
 * garbage, truncated and lying request bytes; and every allocation failing
 * in turn.
 */
#include "test_support.h"

#include "../storage/storage_test.h"
#include "sidik.pb-c.h"
#include "sidik/common.h"
#include "sidik/status_service.h"

#define T0   1700000000000LL /* history[0].time_ms of journal sequence s is T0 + s * 1000 */
#define ID36 "5f0c6a3e-9b1d-4c47-8f2a-0d6e1b7c9a11"

static const sidik_identity jkt = {SIDIK_ROLE_OFFICE, "JKT-01"};
static const sidik_identity bdg = {SIDIK_ROLE_OFFICE, "BDG-02"};
static const sidik_identity auditor = {SIDIK_ROLE_AUDITOR, "auditor.dewi"};
static const sidik_identity admin = {SIDIK_ROLE_ADMIN, "admin.budi"};
static const sidik_identity printer = {SIDIK_ROLE_PRINTER, "31.71"};

/* ---- the store ----------------------------------------------------------------- */

typedef struct store {
    char *dir;
    sidik_control *c;
} store;

static void store_open(store *s)
{
    s->dir = scratch_create();
    assert_non_null(s->dir);
    const char *why = NULL;
    int rc = sidik_control_open(s->dir, NULL, &s->c, &why);
    if (rc != 0)
        print_error("open: %s (%s)\n", sidik_err_name(rc), why ? why : "");
    assert_int_equal(rc, 0);
}

static void store_close(store *s)
{
    sidik_control_close(s->c);
    scratch_remove(s->dir);
}

static void put_in(sidik_control_txn *t, const char *id, const char *office, uint64_t seq)
{
    sidik_enrollment e = {.status = SIDIK_STATUS_RECEIVED, .journal_seq = seq, .nhistory = 1};
    snprintf(e.id, sizeof e.id, "%s", id);
    snprintf(e.office, sizeof e.office, "%s", office);
    e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, T0 + (int64_t)seq * 1000};
    assert_int_equal(sidik_control_enroll_put(t, &e), 0);
}

static void put(store *s, const char *id, const char *office, uint64_t seq)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(s->c, true, &t), 0);
    put_in(t, id, office, seq);
    assert_int_equal(sidik_control_commit(t), 0);
}

/* count enrollments of office with ids "<office>/<seq>" and sequences seq0,
 * seq0 + 1, ..., in one transaction. */
static void put_many(store *s, const char *office, uint64_t seq0, uint32_t count)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(s->c, true, &t), 0);
    for (uint32_t i = 0; i < count; i++) {
        char id[SIDIK_ENROLL_ID_MAX + 1];
        snprintf(id, sizeof id, "%s/%llu", office, (unsigned long long)(seq0 + i));
        put_in(t, id, office, seq0 + i);
    }
    assert_int_equal(sidik_control_commit(t), 0);
}

static void move(store *s, const char *id, sidik_status to, int64_t time_ms)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(s->c, true, &t), 0);
    assert_int_equal(sidik_control_enroll_status(t, id, to, time_ms, 0), 0);
    assert_int_equal(sidik_control_commit(t), 0);
}

/* ---- calls ---------------------------------------------------------------------- */

/* One call with raw request bytes; the response, if any, is freed. */
static int answer_raw(store *s, sidik_method m, const sidik_identity *who, const uint8_t *p,
                      size_t n, const char **why)
{
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = sidik_status_answer(s->c, m, who, p, n, &out, &len, why);
    if (rc == 0)
        assert_non_null(out);
    sidik_free(out);
    return rc;
}

static uint8_t *pack_get(const char *id, size_t *n)
{
    Sidik__V1__GetStatusRequest req = SIDIK__V1__GET_STATUS_REQUEST__INIT;
    req.enrollment_id = (char *)id;
    *n = sidik__v1__get_status_request__get_packed_size(&req);
    uint8_t *p = malloc(*n + 1);
    assert_non_null(p);
    assert_int_equal(sidik__v1__get_status_request__pack(&req, p), *n);
    return p;
}

static uint8_t *pack_list(int status, int64_t since_ms, uint32_t page_size, const char *token,
                          size_t *n)
{
    Sidik__V1__ListStatusRequest req = SIDIK__V1__LIST_STATUS_REQUEST__INIT;
    req.status = (Sidik__V1__EnrollmentStatus)status;
    req.since_ms = since_ms;
    req.page_size = page_size;
    req.page_token = (char *)token;
    *n = sidik__v1__list_status_request__get_packed_size(&req);
    uint8_t *p = malloc(*n + 1);
    assert_non_null(p);
    assert_int_equal(sidik__v1__list_status_request__pack(&req, p), *n);
    return p;
}

/* Status.Get of id; on success *st gets the decoded answer (free with
 * sidik__v1__enrollment_state__free_unpacked(*st, NULL)). */
static int get(store *s, const sidik_identity *who, const char *id, Sidik__V1__EnrollmentState **st,
               const char **why)
{
    size_t n;
    uint8_t *p = pack_get(id, &n), *out = NULL;
    size_t len = 0;
    *why = NULL;
    int rc = sidik_status_answer(s->c, SIDIK_METHOD_STATUS_GET, who, p, n, &out, &len, why);
    free(p);
    if (st != NULL)
        *st = NULL;
    if (rc == 0) {
        assert_non_null(out);
        Sidik__V1__EnrollmentState *got = sidik__v1__enrollment_state__unpack(NULL, len, out);
        assert_non_null(got);
        if (st != NULL)
            *st = got;
        else
            sidik__v1__enrollment_state__free_unpacked(got, NULL);
    }
    sidik_free(out);
    return rc;
}

static int get_rc(store *s, const sidik_identity *who, const char *id)
{
    const char *why;
    return get(s, who, id, NULL, &why);
}

/* Status.List; on success *resp gets the decoded answer (free with
 * sidik__v1__list_status_response__free_unpacked(*resp, NULL)). */
static int list(store *s, const sidik_identity *who, int status, int64_t since_ms,
                uint32_t page_size, const char *token, Sidik__V1__ListStatusResponse **resp,
                const char **why)
{
    size_t n;
    uint8_t *p = pack_list(status, since_ms, page_size, token, &n), *out = NULL;
    size_t len = 0;
    *why = NULL;
    *resp = NULL;
    int rc = sidik_status_answer(s->c, SIDIK_METHOD_STATUS_LIST, who, p, n, &out, &len, why);
    free(p);
    if (rc == 0) {
        assert_non_null(out);
        *resp = sidik__v1__list_status_response__unpack(NULL, len, out);
        assert_non_null(*resp);
    }
    sidik_free(out);
    return rc;
}

static int list_rc(store *s, const sidik_identity *who, int status, int64_t since_ms,
                   uint32_t page_size, const char *token, const char **why)
{
    Sidik__V1__ListStatusResponse *r;
    int rc = list(s, who, status, since_ms, page_size, token, &r, why);
    if (r != NULL)
        sidik__v1__list_status_response__free_unpacked(r, NULL);
    return rc;
}

/* Follows next_page_token from the first page to the last; checks that
 * the enrollments come back as office's, in strictly rising journal order
 * (ids "<office>/<seq>"), and returns how many there were; *pages gets the
 * number of calls, *sizes (may be NULL) each page's size. */
static size_t list_all(store *s, const sidik_identity *who, int status, int64_t since_ms,
                       uint32_t page_size, size_t *pages, size_t *sizes, size_t max_pages)
{
    char token[64] = "";
    size_t total = 0;
    unsigned long long last = 0;
    *pages = 0;
    for (;;) {
        Sidik__V1__ListStatusResponse *r;
        const char *why;
        assert_int_equal(list(s, who, status, since_ms, page_size, token, &r, &why), 0);
        assert_true(*pages < max_pages);
        if (sizes != NULL)
            sizes[*pages] = r->n_enrollments;
        (*pages)++;
        for (size_t i = 0; i < r->n_enrollments; i++) {
            const Sidik__V1__EnrollmentState *e = r->enrollments[i];
            assert_string_equal(e->office_code, who->name);
            size_t on = strlen(who->name);
            assert_memory_equal(e->enrollment_id, who->name, on);
            assert_int_equal(e->enrollment_id[on], '/');
            unsigned long long seq = strtoull(e->enrollment_id + on + 1, NULL, 10);
            assert_true(seq > last);
            last = seq;
            assert_true(e->n_history >= 1);
            assert_true(e->history[0]->time_ms >= since_ms);
            if (status != 0)
                assert_int_equal(e->status, status);
        }
        total += r->n_enrollments;
        assert_true(strlen(r->next_page_token) < sizeof token);
        snprintf(token, sizeof token, "%s", r->next_page_token);
        sidik__v1__list_status_response__free_unpacked(r, NULL);
        if (token[0] == 0)
            return total;
    }
}

/* ---- Get -------------------------------------------------------------------------- */

static void test_server_status_get_own_with_history(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put(&s, ID36, "JKT-01", 7);
    move(&s, ID36, SIDIK_STATUS_PRINT_READY, T0 + 60000);

    Sidik__V1__EnrollmentState *st;
    const char *why;
    assert_int_equal(get(&s, &jkt, ID36, &st, &why), 0);
    assert_string_equal(st->enrollment_id, ID36);
    assert_string_equal(st->office_code, "JKT-01");
    assert_int_equal(st->status, SIDIK__V1__ENROLLMENT_STATUS__PRINT_READY);
    assert_int_equal(st->n_history, 2);
    assert_int_equal(st->history[0]->status, SIDIK__V1__ENROLLMENT_STATUS__RECEIVED);
    assert_int_equal(st->history[0]->time_ms, T0 + 7000);
    assert_int_equal(st->history[1]->status, SIDIK__V1__ENROLLMENT_STATUS__PRINT_READY);
    assert_int_equal(st->history[1]->time_ms, T0 + 60000);
    sidik__v1__enrollment_state__free_unpacked(st, NULL);

    /* A full history (SIDIK_HISTORY_MAX is above what the rules allow, so
     * the longest real one: RECEIVED, ADJUDICATE, PRINT_READY, PRINTED). */
    put(&s, "long", "JKT-01", 8);
    move(&s, "long", SIDIK_STATUS_ADJUDICATE, T0 + 1);
    move(&s, "long", SIDIK_STATUS_PRINT_READY, T0 + 2);
    move(&s, "long", SIDIK_STATUS_PRINTED, T0 + 3);
    assert_int_equal(get(&s, &jkt, "long", &st, &why), 0);
    assert_int_equal(st->status, SIDIK__V1__ENROLLMENT_STATUS__PRINTED);
    assert_int_equal(st->n_history, 4);
    assert_int_equal(st->history[3]->status, SIDIK__V1__ENROLLMENT_STATUS__PRINTED);
    assert_int_equal(st->history[3]->time_ms, T0 + 3);
    sidik__v1__enrollment_state__free_unpacked(st, NULL);

    /* An id of exactly 64 characters is valid (and here simply absent). */
    char id64[65];
    memset(id64, 'x', 64);
    id64[64] = 0;
    assert_int_equal(get_rc(&s, &jkt, id64), SIDIK_ENOTFOUND);
    put(&s, id64, "JKT-01", 9);
    assert_int_equal(get_rc(&s, &jkt, id64), 0);
    store_close(&s);
}

static void test_server_status_get_other_office_not_found(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put(&s, "bdg-1", "BDG-02", 1);
    put(&s, "jkt-1", "JKT-01", 2);
    put(&s, "jkt-short", "JKT", 3); /* a prefix of JKT-01's code */

    const char *why_other, *why_unknown;
    /* Another office's id answers exactly as an id never received. */
    assert_int_equal(get(&s, &jkt, "bdg-1", NULL, &why_other), SIDIK_ENOTFOUND);
    assert_int_equal(get(&s, &jkt, "never-received", NULL, &why_unknown), SIDIK_ENOTFOUND);
    assert_non_null(why_other);
    assert_non_null(why_unknown);
    assert_string_equal(why_other, why_unknown);
    assert_int_equal(get_rc(&s, &jkt, "jkt-short"), SIDIK_ENOTFOUND);
    assert_int_equal(get_rc(&s, &bdg, "jkt-1"), SIDIK_ENOTFOUND);
    assert_int_equal(get_rc(&s, &bdg, "bdg-1"), 0);
    assert_int_equal(get_rc(&s, &jkt, "jkt-1"), 0);
    /* The office code is compared whole, not as a prefix either way. */
    const sidik_identity jkt_short = {SIDIK_ROLE_OFFICE, "JKT"};
    assert_int_equal(get_rc(&s, &jkt_short, "jkt-1"), SIDIK_ENOTFOUND);
    assert_int_equal(get_rc(&s, &jkt_short, "jkt-short"), 0);
    store_close(&s);
}

static void test_server_status_get_roles(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put(&s, "bdg-1", "BDG-02", 1);
    put(&s, "jkt-1", "JKT-01", 2);

    Sidik__V1__EnrollmentState *st;
    const char *why;
    assert_int_equal(get(&s, &auditor, "bdg-1", &st, &why), 0);
    assert_string_equal(st->office_code, "BDG-02");
    sidik__v1__enrollment_state__free_unpacked(st, NULL);
    assert_int_equal(get(&s, &auditor, "jkt-1", &st, &why), 0);
    assert_string_equal(st->office_code, "JKT-01");
    sidik__v1__enrollment_state__free_unpacked(st, NULL);
    assert_int_equal(get_rc(&s, &auditor, "never-received"), SIDIK_ENOTFOUND);

    /* Admins and printers see nothing, not even whether an id exists. */
    const sidik_identity *denied[] = {&admin, &printer};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(get_rc(&s, denied[i], "jkt-1"), SIDIK_EDENIED);
        assert_int_equal(get_rc(&s, denied[i], "never-received"), SIDIK_EDENIED);
        assert_int_equal(get_rc(&s, denied[i], ""), SIDIK_EDENIED);
    }
    /* Roles outside the enum, and an admin named like an office. */
    const sidik_identity odd[] = {{0, "JKT-01"},
                                  {(sidik_role)99, "JKT-01"},
                                  {(sidik_role)-1, "JKT-01"},
                                  {SIDIK_ROLE_ADMIN, "JKT-01"}};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        assert_int_equal(get_rc(&s, &odd[i], "jkt-1"), SIDIK_EDENIED);
    store_close(&s);
}

static void test_server_status_get_bad_ids(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put(&s, "a", "JKT-01", 1);

    const char *why;
    assert_int_equal(get(&s, &jkt, "", NULL, &why), SIDIK_EINVAL);
    assert_non_null(why);

    char id65[66];
    memset(id65, 'a', 65);
    id65[65] = 0;
    assert_int_equal(get(&s, &jkt, id65, NULL, &why), SIDIK_EINVAL);
    assert_non_null(why);
    assert_int_equal(get(&s, &auditor, id65, NULL, &why), SIDIK_EINVAL);
    assert_non_null(why);

    const char *bad[] = {"a b", " a", "a ", "a\tb", "a\nb", "a\x7f", "\x01", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal(get(&s, &jkt, bad[i], NULL, &why), SIDIK_EINVAL);
        assert_non_null(why);
        assert_non_null(strstr(why, "enrollment_id"));
        assert_int_equal(get(&s, &auditor, bad[i], NULL, &why), SIDIK_EINVAL);
        assert_non_null(why);
    }

    /* A 1 MiB id: refused as a wrong field, not a crash and not ENOMEM. */
    size_t big = (size_t)1 << 20;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, 'a', big);
    huge[big] = 0;
    assert_int_equal(get(&s, &jkt, huge, NULL, &why), SIDIK_EINVAL);
    assert_non_null(why);
    assert_int_equal(get(&s, &auditor, huge, NULL, &why), SIDIK_EINVAL);
    free(huge);

    /* why may be NULL. */
    size_t n;
    uint8_t *p = pack_get("", &n);
    assert_int_equal(answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, p, n, NULL), SIDIK_EINVAL);
    free(p);
    /* An empty request is an empty id. */
    assert_int_equal(answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, NULL, 0, &why), SIDIK_EINVAL);
    assert_non_null(why);
    store_close(&s);
}

/* A string field with a NUL inside is not what it reads as in C: an id
 * "a\0bc" is not printable and must not be looked up as "a", and a token
 * "1\0x" is not one the server issued. */
static void test_server_status_embedded_nul(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put(&s, "a", "JKT-01", 1);
    put(&s, "b", "JKT-01", 2);
    static const uint8_t get_req[] = {0x0a, 0x04, 'a', 0x00, 'b', 'c'}; /* id "a\0bc" */
    static const uint8_t list_req[] = {0x22, 0x03, '1', 0x00, 'x'};     /* page_token "1\0x" */
    const char *why_get = NULL, *why_list = NULL;
    int rc_get = answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, get_req, sizeof get_req, &why_get);
    int rc_list =
        answer_raw(&s, SIDIK_METHOD_STATUS_LIST, &jkt, list_req, sizeof list_req, &why_list);
    store_close(&s);
    assert_int_equal(rc_get, SIDIK_EINVAL);
    assert_non_null(why_get);
    assert_int_equal(rc_list, SIDIK_EINVAL);
    assert_non_null(why_list);
}

/* ---- hostile request bytes --------------------------------------------------------- */

/* What Get must answer for request p[0..n) against a store holding no
 * enrollment with a printable id other than those in present[]. */
static int expected_get(const uint8_t *p, size_t n, const char *const *present, size_t npresent)
{
    Sidik__V1__GetStatusRequest *r = sidik__v1__get_status_request__unpack(NULL, n, p);
    if (r == NULL)
        return SIDIK_EFORMAT;
    const char *id = r->enrollment_id;
    size_t len = strlen(id);
    int rc = len == 0 || len > SIDIK_ENROLL_ID_MAX ? SIDIK_EINVAL : SIDIK_ENOTFOUND;
    for (size_t i = 0; rc == SIDIK_ENOTFOUND && i < len; i++)
        if (id[i] <= ' ' || id[i] > '~')
            rc = SIDIK_EINVAL;
    for (size_t i = 0; rc == SIDIK_ENOTFOUND && i < npresent; i++)
        if (strcmp(id, present[i]) == 0)
            rc = 0;
    sidik__v1__get_status_request__free_unpacked(r, NULL);
    return rc;
}

static void test_server_status_garbage_bytes(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put(&s, ID36, "JKT-01", 1);
    const char *present[] = {ID36};
    size_t vn;
    uint8_t *valid = pack_get(ID36, &vn);
    uint64_t rng = 42;
    uint8_t buf[128];
    size_t unparsed = 0, parsed = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n;
        if (round % 2 == 0) { /* pure noise */
            n = 1 + sidik_test_rand(&rng) % sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)sidik_test_rand(&rng);
        } else { /* a valid request with a few bytes changed */
            n = vn;
            memcpy(buf, valid, n);
            for (int k = 1 + (int)(sidik_test_rand(&rng) % 3); k > 0; k--)
                buf[sidik_test_rand(&rng) % n] = (uint8_t)sidik_test_rand(&rng);
        }
        int want = expected_get(buf, n, present, 1);
        const char *why = NULL;
        int got = answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, buf, n, &why);
        /* A NUL byte may sit inside the id, which is printable only up to it:
         * EINVAL is right then, and what expected_get cannot see. */
        if (got == SIDIK_EINVAL && (want == 0 || want == SIDIK_ENOTFOUND) &&
            memchr(buf, 0, n) != NULL)
            want = SIDIK_EINVAL;
        if (got != want)
            print_error("round %d: got %s, want %s\n", round, sidik_err_name(got),
                        sidik_err_name(want));
        assert_int_equal(got, want);
        if (want == SIDIK_EINVAL)
            assert_non_null(why);
        if (want == SIDIK_EFORMAT)
            unparsed++;
        else
            parsed++;
        /* List over the same bytes: never a crash; EFORMAT exactly when it
         * does not parse as a ListStatusRequest. */
        Sidik__V1__ListStatusRequest *lr = sidik__v1__list_status_request__unpack(NULL, n, buf);
        got = answer_raw(&s, SIDIK_METHOD_STATUS_LIST, &jkt, buf, n, &why);
        if (lr == NULL)
            assert_int_equal(got, SIDIK_EFORMAT);
        else
            assert_true(got == 0 || got == SIDIK_EINVAL);
        sidik__v1__list_status_request__free_unpacked(lr, NULL);
    }
    assert_true(unparsed > 1000 && parsed > 1000); /* both sides were exercised */
    free(valid);
    store_close(&s);
}

static void test_server_status_get_truncated(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put(&s, ID36, "JKT-01", 1);
    put(&s, "a", "JKT-01", 2);

    /* One field: every proper prefix is an unfinished tag, length or string. */
    size_t n;
    uint8_t *p = pack_get(ID36, &n);
    assert_int_equal(n, 2 + 36);
    assert_int_equal(answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, p, n, NULL), 0);
    for (size_t k = 1; k < n; k++)
        assert_int_equal(answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, p, k, NULL), SIDIK_EFORMAT);
    free(p);

    /* An unknown varint field first: the 2-byte prefix parses, as an empty
     * id; every other proper prefix does not. */
    uint8_t q[2 + 2 + 36] = {0x10, 0x05, 0x0a, 36};
    memcpy(q + 4, ID36, 36);
    assert_int_equal(answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, q, sizeof q, NULL), 0);
    for (size_t k = 1; k < sizeof q; k++) {
        const char *why = NULL;
        int rc = answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, q, k, &why);
        if (k == 2) {
            assert_int_equal(rc, SIDIK_EINVAL);
            assert_non_null(why);
        } else {
            assert_int_equal(rc, SIDIK_EFORMAT);
        }
    }

    /* The id twice (the last one counts): the 3-byte prefix is a complete
     * request for "a", which this office has; longer ones are unfinished. */
    uint8_t r[3 + 2 + 36] = {0x0a, 0x01, 'a', 0x0a, 36};
    memcpy(r + 5, ID36, 36);
    Sidik__V1__EnrollmentState *st;
    const char *why;
    uint8_t *out = NULL;
    size_t len;
    assert_int_equal(
        sidik_status_answer(s.c, SIDIK_METHOD_STATUS_GET, &jkt, r, 3, &out, &len, &why), 0);
    st = sidik__v1__enrollment_state__unpack(NULL, len, out);
    assert_non_null(st);
    assert_string_equal(st->enrollment_id, "a");
    sidik__v1__enrollment_state__free_unpacked(st, NULL);
    sidik_free(out);
    out = NULL;
    assert_int_equal(
        sidik_status_answer(s.c, SIDIK_METHOD_STATUS_GET, &jkt, r, sizeof r, &out, &len, &why), 0);
    st = sidik__v1__enrollment_state__unpack(NULL, len, out);
    assert_non_null(st);
    assert_string_equal(st->enrollment_id, ID36);
    sidik__v1__enrollment_state__free_unpacked(st, NULL);
    sidik_free(out);
    for (size_t k = 1; k < sizeof r; k++) {
        int want = k == 3 ? 0 : SIDIK_EFORMAT;
        assert_int_equal(answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, r, k, NULL), want);
    }

    /* A ListStatusRequest cut short. */
    p = pack_list(SIDIK_STATUS_RECEIVED, T0, 7, "12345", &n);
    assert_int_equal(answer_raw(&s, SIDIK_METHOD_STATUS_LIST, &jkt, p, n, NULL), 0);
    for (size_t k = 1; k < n; k++) {
        Sidik__V1__ListStatusRequest *lr = sidik__v1__list_status_request__unpack(NULL, k, p);
        int rc = answer_raw(&s, SIDIK_METHOD_STATUS_LIST, &jkt, p, k, NULL);
        if (lr == NULL)
            assert_int_equal(rc, SIDIK_EFORMAT);
        else
            assert_int_equal(rc, 0); /* a prefix of whole fields is a valid request */
        sidik__v1__list_status_request__free_unpacked(lr, NULL);
    }
    free(p);
    store_close(&s);
}

static void test_server_status_lying_lengths(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put(&s, "ab", "JKT-01", 1);
    static const struct {
        uint8_t b[16];
        size_t n;
    } get_cases[] = {
        {{0x0a, 0x05, 'a', 'b'}, 4},                         /* 5 claimed, 2 there */
        {{0x0a, 0x03, 'a', 'b'}, 4},                         /* one short */
        {{0x0a, 0x7f, 'a', 'b'}, 4},                         /* 127 */
        {{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a', 'b'}, 8}, /* 2^32 - 1 */
        {{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'a'}, 12}, /* 2^64-1 */
        {{0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
         12},                                         /* 11-byte */
        {{0x0a, 0x80}, 2},                            /* length unfinished */
        {{0x0a, 0x02, 'a', 'b', 0x12, 0x10, 'x'}, 7}, /* unknown field lies */
        {{0x12, 0x7f, 'x', 0x0a, 0x02, 'a', 'b'}, 7}, /* ... before the id */
        {{0x08, 0x01}, 2},                            /* id as a varint */
        {{0x0d, 'a', 'b', 'c', 'd'}, 5},              /* id as fixed32 */
        {{0x0d, 'a', 'b'}, 3},                        /* ... cut short */
        {{0x0b, 0x0c}, 2},                            /* a group */
        {{0x0f}, 1},                                  /* wire type 7 */
    };
    for (size_t i = 0; i < sizeof get_cases / sizeof get_cases[0]; i++) {
        int rc =
            answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, get_cases[i].b, get_cases[i].n, NULL);
        if (rc != SIDIK_EFORMAT)
            print_error("get case %zu: %s\n", i, sidik_err_name(rc));
        assert_int_equal(rc, SIDIK_EFORMAT);
    }
    /* The same bytes with an honest length are fine. */
    static const uint8_t honest[] = {0x0a, 0x02, 'a', 'b', 0x12, 0x01, 'x'};
    assert_int_equal(answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, honest, sizeof honest, NULL), 0);

    static const struct {
        uint8_t b[16];
        size_t n;
    } list_cases[] = {
        {{0x22, 0x05, '1'}, 3}, /* page_token lies */
        {{0x22, 0xff, 0xff, 0xff, 0xff, 0x0f, '1'}, 7},
        {{0x10, 0xff}, 2},       /* since_ms unfinished */
        {{0x18, 0x80, 0x80}, 3}, /* page_size unfinished */
        {{0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 12},
        {{0x22, 0x01}, 2},      /* token missing */
        {{0x2a, 0x03, 'x'}, 3}, /* unknown field lies */
    };
    for (size_t i = 0; i < sizeof list_cases / sizeof list_cases[0]; i++) {
        int rc =
            answer_raw(&s, SIDIK_METHOD_STATUS_LIST, &jkt, list_cases[i].b, list_cases[i].n, NULL);
        if (rc != SIDIK_EFORMAT)
            print_error("list case %zu: %s\n", i, sidik_err_name(rc));
        assert_int_equal(rc, SIDIK_EFORMAT);
    }
    store_close(&s);
}

static void test_server_status_bad_arguments(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put(&s, "a", "JKT-01", 1);
    size_t n;
    uint8_t *p = pack_get("a", &n), *out = NULL;
    size_t len;
    const char *why;
    assert_int_equal(
        sidik_status_answer(NULL, SIDIK_METHOD_STATUS_GET, &jkt, p, n, &out, &len, &why),
        SIDIK_EINVAL);
    assert_int_equal(
        sidik_status_answer(s.c, SIDIK_METHOD_STATUS_GET, NULL, p, n, &out, &len, &why),
        SIDIK_EINVAL);
    assert_int_equal(
        sidik_status_answer(s.c, SIDIK_METHOD_STATUS_GET, &jkt, NULL, n, &out, &len, &why),
        SIDIK_EINVAL);
    assert_int_equal(
        sidik_status_answer(s.c, SIDIK_METHOD_STATUS_GET, &jkt, p, n, NULL, &len, &why),
        SIDIK_EINVAL);
    assert_int_equal(
        sidik_status_answer(s.c, SIDIK_METHOD_STATUS_GET, &jkt, p, n, &out, NULL, &why),
        SIDIK_EINVAL);
    assert_null(out);
    /* Methods that are not Status's. */
    const sidik_method other[] = {0, SIDIK_METHOD_INGEST_UPLOAD, SIDIK_METHOD_AUDIT_GET_DECISION,
                                  SIDIK_METHOD_COUNT_, (sidik_method)-1};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_int_equal(answer_raw(&s, other[i], &jkt, p, n, &why), SIDIK_EUNSUPPORTED);
    /* The happy path with why NULL. */
    assert_int_equal(answer_raw(&s, SIDIK_METHOD_STATUS_GET, &jkt, p, n, NULL), 0);
    assert_int_equal(answer_raw(&s, SIDIK_METHOD_STATUS_LIST, &jkt, NULL, 0, NULL), 0);
    free(p);
    store_close(&s);
}

/* ---- List ------------------------------------------------------------------------- */

static void test_server_status_list_own_in_journal_order(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    /* Ids sort in the opposite order to the journal; offices interleave. */
    const char *jkt_ids[] = {"zulu", "yankee", "xray", "whiskey"};
    for (int i = 0; i < 4; i++) {
        char bid[16];
        snprintf(bid, sizeof bid, "bdg-%d", i);
        put(&s, jkt_ids[i], "JKT-01", (uint64_t)(10 * i + 1));
        put(&s, bid, "BDG-02", (uint64_t)(10 * i + 2));
    }
    put(&s, "jkt-short", "JKT", 100);
    put(&s, "jkt-longer", "JKT-011", 101);
    move(&s, "xray", SIDIK_STATUS_REJECTED, T0 + 5);

    Sidik__V1__ListStatusResponse *r;
    const char *why;
    assert_int_equal(list(&s, &jkt, 0, 0, 0, "", &r, &why), 0);
    assert_int_equal(r->n_enrollments, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(r->enrollments[i]->enrollment_id, jkt_ids[i]);
        assert_string_equal(r->enrollments[i]->office_code, "JKT-01");
        assert_int_equal(r->enrollments[i]->history[0]->time_ms, T0 + (10 * i + 1) * 1000);
    }
    assert_int_equal(r->enrollments[2]->status, SIDIK__V1__ENROLLMENT_STATUS__REJECTED);
    assert_int_equal(r->enrollments[2]->n_history, 2);
    assert_int_equal(r->enrollments[2]->history[1]->time_ms, T0 + 5);
    assert_string_equal(r->next_page_token, "");
    sidik__v1__list_status_response__free_unpacked(r, NULL);

    assert_int_equal(list(&s, &bdg, 0, 0, 0, "", &r, &why), 0);
    assert_int_equal(r->n_enrollments, 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(r->enrollments[i]->office_code, "BDG-02");
    sidik__v1__list_status_response__free_unpacked(r, NULL);

    /* An office with nothing: an empty last page. */
    const sidik_identity none = {SIDIK_ROLE_OFFICE, "SBY-03"};
    assert_int_equal(list(&s, &none, 0, 0, 0, "", &r, &why), 0);
    assert_int_equal(r->n_enrollments, 0);
    assert_string_equal(r->next_page_token, "");
    sidik__v1__list_status_response__free_unpacked(r, NULL);

    /* A caller name that is no office code the store keeps. */
    const sidik_identity odd = {SIDIK_ROLE_OFFICE, "JKT 01"};
    assert_int_equal(list_rc(&s, &odd, 0, 0, 0, "", &why), SIDIK_EINVAL);
    assert_non_null(why);
    store_close(&s);
}

static void test_server_status_list_paging(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put_many(&s, "JKT-01", 1, 5);
    put_many(&s, "BDG-02", 6, 4);

    size_t pages, sizes[8];
    assert_int_equal(list_all(&s, &jkt, 0, 0, 2, &pages, sizes, 8), 5);
    assert_int_equal(pages, 3);
    assert_int_equal(sizes[0], 2);
    assert_int_equal(sizes[1], 2);
    assert_int_equal(sizes[2], 1);

    /* Token by token, looking at the tokens themselves. */
    Sidik__V1__ListStatusResponse *r;
    const char *why;
    assert_int_equal(list(&s, &jkt, 0, 0, 2, "", &r, &why), 0);
    assert_int_equal(r->n_enrollments, 2);
    assert_string_equal(r->enrollments[0]->enrollment_id, "JKT-01/1");
    assert_string_equal(r->enrollments[1]->enrollment_id, "JKT-01/2");
    assert_true(r->next_page_token[0] != 0);
    char token[64];
    snprintf(token, sizeof token, "%s", r->next_page_token);
    sidik__v1__list_status_response__free_unpacked(r, NULL);
    assert_int_equal(list(&s, &jkt, 0, 0, 2, token, &r, &why), 0);
    assert_int_equal(r->n_enrollments, 2);
    assert_string_equal(r->enrollments[0]->enrollment_id, "JKT-01/3");
    assert_string_equal(r->enrollments[1]->enrollment_id, "JKT-01/4");
    assert_true(r->next_page_token[0] != 0);
    snprintf(token, sizeof token, "%s", r->next_page_token);
    sidik__v1__list_status_response__free_unpacked(r, NULL);
    /* The same token again gives the same page. */
    assert_int_equal(list(&s, &jkt, 0, 0, 2, token, &r, &why), 0);
    assert_int_equal(r->n_enrollments, 1);
    assert_string_equal(r->enrollments[0]->enrollment_id, "JKT-01/5");
    assert_string_equal(r->next_page_token, "");
    sidik__v1__list_status_response__free_unpacked(r, NULL);

    /* Exactly full pages: 4 records by 2 end with an empty token on the
     * second page, not an empty third page. */
    assert_int_equal(list_all(&s, &bdg, 0, 0, 2, &pages, sizes, 8), 4);
    assert_int_equal(pages, 2);
    /* page_size 1: one per page. */
    assert_int_equal(list_all(&s, &jkt, 0, 0, 1, &pages, NULL, 8), 5);
    assert_int_equal(pages, 5);
    /* Another office's token shows nothing of this office's that it should
     * not: it is only a position in the caller's own list. */
    assert_int_equal(list(&s, &bdg, 0, 0, 2, "3", &r, &why), 0);
    for (size_t i = 0; i < r->n_enrollments; i++)
        assert_string_equal(r->enrollments[i]->office_code, "BDG-02");
    sidik__v1__list_status_response__free_unpacked(r, NULL);
    /* A token past the end, UINT64_MAX included: an empty last page. */
    assert_int_equal(list(&s, &jkt, 0, 0, 2, "18446744073709551615", &r, &why), 0);
    assert_int_equal(r->n_enrollments, 0);
    assert_string_equal(r->next_page_token, "");
    sidik__v1__list_status_response__free_unpacked(r, NULL);
    store_close(&s);
}

static void test_server_status_list_page_sizes(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put_many(&s, "JKT-01", 1, 1001);

    size_t pages, sizes[16];
    assert_int_equal(list_all(&s, &jkt, 0, 0, 0, &pages, sizes, 16), 1001); /* 0 means 100 */
    assert_int_equal(pages, 11);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(sizes[i], 100);
    assert_int_equal(sizes[10], 1);

    const uint32_t capped[] = {5000, 1001, UINT32_MAX};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(list_all(&s, &jkt, 0, 0, capped[i], &pages, sizes, 16), 1001);
        assert_int_equal(pages, 2);
        assert_int_equal(sizes[0], 1000);
        assert_int_equal(sizes[1], 1);
    }
    assert_int_equal(list_all(&s, &jkt, 0, 0, 1000, &pages, sizes, 16), 1001);
    assert_int_equal(pages, 2);
    assert_int_equal(sizes[0], 1000);
    assert_int_equal(list_all(&s, &jkt, 0, 0, 999, &pages, sizes, 16), 1001);
    assert_int_equal(pages, 2);
    assert_int_equal(sizes[0], 999);
    assert_int_equal(sizes[1], 2);
    store_close(&s);
}

static void test_server_status_list_status_filter(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put_many(&s, "JKT-01", 1, 10);
    put_many(&s, "BDG-02", 11, 3);
    /* JKT-01/2, /5, /9 PRINT_READY; /3 REJECTED; /9 then PRINTED. */
    move(&s, "JKT-01/2", SIDIK_STATUS_PRINT_READY, T0 + 1);
    move(&s, "JKT-01/5", SIDIK_STATUS_PRINT_READY, T0 + 2);
    move(&s, "JKT-01/9", SIDIK_STATUS_PRINT_READY, T0 + 3);
    move(&s, "JKT-01/3", SIDIK_STATUS_REJECTED, T0 + 4);
    move(&s, "JKT-01/9", SIDIK_STATUS_PRINTED, T0 + 5);
    move(&s, "BDG-02/11", SIDIK_STATUS_PRINT_READY, T0 + 6);

    Sidik__V1__ListStatusResponse *r;
    const char *why;
    assert_int_equal(list(&s, &jkt, SIDIK_STATUS_PRINT_READY, 0, 0, "", &r, &why), 0);
    assert_int_equal(r->n_enrollments, 2);
    assert_string_equal(r->enrollments[0]->enrollment_id, "JKT-01/2");
    assert_string_equal(r->enrollments[1]->enrollment_id, "JKT-01/5");
    assert_string_equal(r->next_page_token, "");
    sidik__v1__list_status_response__free_unpacked(r, NULL);

    size_t pages;
    assert_int_equal(list_all(&s, &jkt, SIDIK_STATUS_RECEIVED, 0, 2, &pages, NULL, 8), 6);
    assert_int_equal(pages, 3);
    assert_int_equal(list_all(&s, &jkt, SIDIK_STATUS_REJECTED, 0, 0, &pages, NULL, 8), 1);
    assert_int_equal(list_all(&s, &jkt, SIDIK_STATUS_PRINTED, 0, 0, &pages, NULL, 8), 1);
    assert_int_equal(list_all(&s, &jkt, SIDIK_STATUS_DUPLICATE, 0, 0, &pages, NULL, 8), 0);
    assert_int_equal(list_all(&s, &jkt, SIDIK_STATUS_CAPTURED, 0, 0, &pages, NULL, 8), 0);
    assert_int_equal(list_all(&s, &jkt, 0, 0, 0, &pages, NULL, 8), 10);
    assert_int_equal(list_all(&s, &bdg, SIDIK_STATUS_PRINT_READY, 0, 0, &pages, NULL, 8), 1);
    /* Paging through a filter: 1 each. */
    assert_int_equal(list_all(&s, &jkt, SIDIK_STATUS_PRINT_READY, 0, 1, &pages, NULL, 8), 2);
    assert_int_equal(pages, 2);
    store_close(&s);
}

static void test_server_status_list_since_filter(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put_many(&s, "JKT-01", 1, 10); /* received at T0 + 1000 .. T0 + 10000 */
    /* A later status change does not make an old enrollment new. */
    move(&s, "JKT-01/2", SIDIK_STATUS_PRINT_READY, T0 + 999999);

    size_t pages;
    assert_int_equal(list_all(&s, &jkt, 0, T0 + 4000, 0, &pages, NULL, 8), 7); /* 4..10 */
    assert_int_equal(list_all(&s, &jkt, 0, T0 + 4001, 0, &pages, NULL, 8), 6); /* 5..10 */
    assert_int_equal(list_all(&s, &jkt, 0, T0 + 10000, 0, &pages, NULL, 8), 1);
    assert_int_equal(list_all(&s, &jkt, 0, T0 + 10001, 0, &pages, NULL, 8), 0);
    assert_int_equal(list_all(&s, &jkt, 0, T0 + 999999, 0, &pages, NULL, 8), 0);
    assert_int_equal(list_all(&s, &jkt, 0, INT64_MIN, 0, &pages, NULL, 8), 10);
    assert_int_equal(list_all(&s, &jkt, 0, INT64_MAX, 0, &pages, NULL, 8), 0);
    assert_int_equal(list_all(&s, &jkt, SIDIK_STATUS_PRINT_READY, T0 + 2000, 0, &pages, NULL, 8),
                     1);
    assert_int_equal(list_all(&s, &jkt, SIDIK_STATUS_PRINT_READY, T0 + 2001, 0, &pages, NULL, 8),
                     0);

    Sidik__V1__ListStatusResponse *r;
    const char *why;
    assert_int_equal(list(&s, &jkt, 0, T0 + 8000, 0, "", &r, &why), 0);
    assert_int_equal(r->n_enrollments, 3);
    assert_string_equal(r->enrollments[0]->enrollment_id, "JKT-01/8");
    assert_string_equal(r->enrollments[2]->enrollment_id, "JKT-01/10");
    sidik__v1__list_status_response__free_unpacked(r, NULL);
    /* Paging with the filter: page 2 of 2 since T0 + 6000 (6..10). */
    assert_int_equal(list_all(&s, &jkt, 0, T0 + 6000, 2, &pages, NULL, 8), 5);
    assert_int_equal(pages, 3);
    store_close(&s);
}

static void test_server_status_list_bad_fields(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put_many(&s, "JKT-01", 1, 3);
    const char *why;
    const char *bad_tokens[] = {"x",
                                "-1",
                                "0",
                                "+1",
                                " 1",
                                "1 ",
                                "1x",
                                "0x10",
                                "1.5",
                                "000000000000000000000", /* 21 digits */
                                "100000000000000000000", /* 21 digits */
                                "123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof bad_tokens / sizeof bad_tokens[0]; i++) {
        why = NULL;
        int rc = list_rc(&s, &jkt, 0, 0, 0, bad_tokens[i], &why);
        if (rc != SIDIK_EINVAL)
            print_error("token \"%s\": %s\n", bad_tokens[i], sidik_err_name(rc));
        assert_int_equal(rc, SIDIK_EINVAL);
        assert_non_null(why);
        assert_non_null(strstr(why, "page_token"));
    }
    /* A 1 MiB token. */
    size_t big = (size_t)1 << 20;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, '7', big);
    huge[big] = 0;
    assert_int_equal(list_rc(&s, &jkt, 0, 0, 0, huge, &why), SIDIK_EINVAL);
    assert_non_null(why);
    free(huge);
    /* 20 digits that fit are tokens (past the end here). */
    assert_int_equal(list_rc(&s, &jkt, 0, 0, 0, "00000000000000000001", &why), 0);

    const int bad_status[] = {99, 9, -1, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_status / sizeof bad_status[0]; i++) {
        why = NULL;
        assert_int_equal(list_rc(&s, &jkt, bad_status[i], 0, 0, "", &why), SIDIK_EINVAL);
        assert_non_null(why);
        assert_non_null(strstr(why, "status")); /* why names the field */
    }
    for (int st = 0; st <= SIDIK_STATUS_PRINTED; st++)
        assert_int_equal(list_rc(&s, &jkt, st, 0, 0, "", &why), 0);
    store_close(&s);
}

/* The server issues tokens of at most 20 digits naming a sequence; one
 * that overflows uint64 was never issued and must not be read as another. */
static void test_server_status_list_token_overflow(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put_many(&s, "JKT-01", 1, 3);
    const char *why = NULL;
    int rc = list_rc(&s, &jkt, 0, 0, 0, "99999999999999999999", &why); /* > UINT64_MAX */
    store_close(&s);
    assert_int_equal(rc, SIDIK_EINVAL);
    assert_non_null(why);
}

static void test_server_status_list_roles(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put_many(&s, "JKT-01", 1, 3);
    const char *why;
    /* An auditor sees any one enrollment but lists none (List is per office). */
    assert_int_equal(list_rc(&s, &auditor, 0, 0, 0, "", &why), SIDIK_EDENIED);
    const sidik_identity auditor_named = {SIDIK_ROLE_AUDITOR, "JKT-01"};
    assert_int_equal(list_rc(&s, &auditor_named, 0, 0, 0, "", &why), SIDIK_EDENIED);
    assert_int_equal(list_rc(&s, &admin, 0, 0, 0, "", &why), SIDIK_EDENIED);
    assert_int_equal(list_rc(&s, &printer, 0, 0, 0, "", &why), SIDIK_EDENIED);
    const sidik_identity admin_named = {SIDIK_ROLE_ADMIN, "JKT-01"};
    assert_int_equal(list_rc(&s, &admin_named, 0, 0, 0, "", &why), SIDIK_EDENIED);
    assert_int_equal(list_rc(&s, &jkt, 0, 0, 0, "", &why), 0);
    store_close(&s);
}

static void test_server_status_list_examine_cap(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put_many(&s, "JKT-01", 1, 10050); /* received at T0 + 1000 .. T0 + 10050000 */
    const int64_t since = T0 + 20000000;

    /* None match: the first page stops after 10,000 records, empty, with a
     * token; the second looks at the last 50 and ends. */
    Sidik__V1__ListStatusResponse *r;
    const char *why;
    assert_int_equal(list(&s, &jkt, 0, since, 1000, "", &r, &why), 0);
    assert_int_equal(r->n_enrollments, 0);
    assert_true(r->next_page_token[0] != 0);
    char token[64];
    snprintf(token, sizeof token, "%s", r->next_page_token);
    sidik__v1__list_status_response__free_unpacked(r, NULL);
    assert_int_equal(list(&s, &jkt, 0, since, 1000, token, &r, &why), 0);
    assert_int_equal(r->n_enrollments, 0);
    assert_string_equal(r->next_page_token, "");
    sidik__v1__list_status_response__free_unpacked(r, NULL);
    size_t pages;
    assert_int_equal(list_all(&s, &jkt, 0, since, 0, &pages, NULL, 8), 0);
    assert_int_equal(pages, 2);

    /* One that matches, last in the journal: found on the second page. */
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(s.c, true, &t), 0);
    sidik_enrollment e = {.status = SIDIK_STATUS_RECEIVED, .journal_seq = 30001, .nhistory = 1};
    snprintf(e.id, sizeof e.id, "JKT-01/30001");
    snprintf(e.office, sizeof e.office, "JKT-01");
    e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, since};
    assert_int_equal(sidik_control_enroll_put(t, &e), 0);
    assert_int_equal(sidik_control_commit(t), 0);
    size_t sizes[8];
    assert_int_equal(list_all(&s, &jkt, 0, since, 0, &pages, sizes, 8), 1);
    assert_int_equal(pages, 2);
    assert_int_equal(sizes[0], 0);
    assert_int_equal(sizes[1], 1);
    /* Without the filter, 10,051 come back in pages of 1,000. */
    assert_int_equal(list_all(&s, &jkt, 0, 0, 1000, &pages, NULL, 16), 10051);
    assert_int_equal(pages, 11);
    store_close(&s);
}

/* ---- allocation failure ---------------------------------------------------------- */

/* Fails the 1st, 2nd, ... allocation of one call until the call no longer
 * reaches the armed failure; each failing call reports ENOMEM (or EFORMAT
 * while protobuf-c unpacks: it reports any failure as does-not-parse, and
 * unpacking comes first), leaves nothing allocated, and the store answers
 * normally afterwards. Returns how many allocations the call makes. */
static uint64_t fail_each(store *s, sidik_method m, const sidik_identity *who, const uint8_t *p,
                          size_t n)
{
    uint8_t *out = NULL;
    size_t len = 0, want_len;
    const char *why;
    assert_int_equal(sidik_status_answer(s->c, m, who, p, n, &out, &len, &why), 0);
    uint8_t *want = malloc(len + 1);
    assert_non_null(want);
    memcpy(want, out, len);
    want_len = len;
    sidik_free(out);

    bool seen_nomem = false;
    for (uint64_t k = 1;; k++) {
        assert_true(k < 1000);
        size_t blocks = sidik_alloc_blocks();
        out = NULL;
        sidik_alloc_fail_nth(k);
        int rc = sidik_status_answer(s->c, m, who, p, n, &out, &len, &why);
        bool fired = !sidik_alloc_fail_pending();
        sidik_alloc_fail_nth(0);
        if (!fired) {
            assert_int_equal(rc, 0);
            assert_int_equal(len, want_len);
            assert_memory_equal(out, want, len);
            sidik_free(out);
            assert_int_equal(sidik_alloc_blocks(), blocks);
            free(want);
            return k - 1;
        }
        if (rc != SIDIK_ENOMEM && rc != SIDIK_EFORMAT)
            print_error("allocation %llu failed: %s\n", (unsigned long long)k, sidik_err_name(rc));
        assert_true(rc == SIDIK_ENOMEM || rc == SIDIK_EFORMAT);
        if (rc == SIDIK_EFORMAT)
            assert_false(seen_nomem);
        seen_nomem |= rc == SIDIK_ENOMEM;
        sidik_free(out); /* NULL when it failed, as it should be */
        assert_int_equal(sidik_alloc_blocks(), blocks);
    }
}

static void test_server_status_alloc_failure(void **state)
{
    (void)state;
    store s;
    store_open(&s);
    put_many(&s, "JKT-01", 1, 5);
    move(&s, "JKT-01/3", SIDIK_STATUS_PRINT_READY, T0 + 1);

    size_t n;
    uint8_t *p = pack_get("JKT-01/3", &n);
    assert_true(fail_each(&s, SIDIK_METHOD_STATUS_GET, &jkt, p, n) >= 3);
    assert_true(fail_each(&s, SIDIK_METHOD_STATUS_GET, &auditor, p, n) >= 3);
    free(p);

    p = pack_list(0, 0, 3, "", &n); /* a page with enrollments and a token */
    assert_true(fail_each(&s, SIDIK_METHOD_STATUS_LIST, &jkt, p, n) >= 4);
    free(p);
    p = pack_list(0, T0 + 2000, 0, "1", &n);
    fail_each(&s, SIDIK_METHOD_STATUS_LIST, &jkt, p, n);
    free(p);
    p = pack_list(0, 0, 0, "", &n);
    const sidik_identity none = {SIDIK_ROLE_OFFICE, "SBY-03"};
    fail_each(&s, SIDIK_METHOD_STATUS_LIST, &none, p, n); /* an empty page */
    free(p);
    store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_status_get_own_with_history),
        SIDIK_TEST(test_server_status_get_other_office_not_found),
        SIDIK_TEST(test_server_status_get_roles),
        SIDIK_TEST(test_server_status_get_bad_ids),
        SIDIK_TEST(test_server_status_embedded_nul),
        SIDIK_TEST(test_server_status_garbage_bytes),
        SIDIK_TEST(test_server_status_get_truncated),
        SIDIK_TEST(test_server_status_lying_lengths),
        SIDIK_TEST(test_server_status_bad_arguments),
        SIDIK_TEST(test_server_status_list_own_in_journal_order),
        SIDIK_TEST(test_server_status_list_paging),
        SIDIK_TEST(test_server_status_list_page_sizes),
        SIDIK_TEST(test_server_status_list_status_filter),
        SIDIK_TEST(test_server_status_list_since_filter),
        SIDIK_TEST(test_server_status_list_bad_fields),
        SIDIK_TEST(test_server_status_list_token_overflow),
        SIDIK_TEST(test_server_status_list_roles),
        SIDIK_TEST(test_server_status_list_examine_cap),
        SIDIK_TEST(test_server_status_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
