/*
 * Print.Lease and Print.Ack against a real control store in a scratch
 * folder: authorisations leased in decision order, each payload naming its
 * enrollment and signed with the server's key; a station's own region
 * only; leases that run out come back with the same bytes; Ack makes each
 * PRINTED once and audits it, passes over a retry, and refuses (naming the
 * id, acknowledging nothing) an id not leased to the caller; an
 * authorisation once printed is never leased again; other roles, garbage
 * and out-of-range requests refused with their exact errors.
 */
#include "test_support.h"

#include "../storage/storage_test.h"
#include "sidik.pb-c.h"
#include "sidik/common.h"
#include "sidik/pb.h"
#include "sidik/print_auth.h"
#include "sidik/print_service.h"

#include <openssl/evp.h>

#define T0       1790000000000LL
#define LEASE_MS 60000

static const sidik_identity station = {SIDIK_ROLE_PRINTER, "31.71"};
static const sidik_identity elsewhere = {SIDIK_ROLE_PRINTER, "32.04"};
static const sidik_identity office = {SIDIK_ROLE_OFFICE, "JKT-01"};
static const sidik_identity auditor = {SIDIK_ROLE_AUDITOR, "auditor.dewi"};

static int64_t clock_ms = T0;
static int64_t now_ms(void)
{
    return clock_ms;
}

typedef struct fixture {
    char *dir;
    sidik_control *c;
    EVP_PKEY *key;
    sidik_print_service ps;
    char why[256];
} fixture;

/* Enrollment i: id "e<i>", NIK ending in i, PRINT_READY at T0 + i s under
 * record 100 + i, queued for region. */
static void ready(fixture *f, int i, const char *region)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(f->c, true, &t), 0);
    sidik_enrollment e = {.status = SIDIK_STATUS_RECEIVED, .journal_seq = (uint64_t)i, .nhistory = 1};
    snprintf(e.id, sizeof e.id, "e%d", i);
    snprintf(e.office, sizeof e.office, "JKT-01");
    snprintf(e.nik, sizeof e.nik, "31710125059%05d", i);
    for (int b = 0; b < 32; b++)
        e.sha256[b] = (uint8_t)(i + b);
    e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, T0};
    assert_int_equal(sidik_control_enroll_put(t, &e), 0);
    assert_int_equal(sidik_control_set_applied(t, (uint64_t)i), 0);
    assert_int_equal(sidik_control_enroll_status(t, e.id, SIDIK_STATUS_PRINT_READY,
                                                 T0 + i * 1000, 100 + (uint64_t)i),
                     0);
    assert_int_equal(sidik_control_print_enqueue(t, e.id, region), 0);
    assert_int_equal(sidik_control_commit(t), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = scratch_create();
    assert_int_equal(sidik_control_open(f->dir, NULL, &f->c, NULL), 0);
    f->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(f->key);
    f->ps = (sidik_print_service){.control = f->c, .key = f->key, .lease_ms = LEASE_MS,
                                  .now_ms = now_ms};
    clock_ms = T0 + 3600 * 1000;
    for (int i = 1; i <= 5; i++)
        ready(f, i, "31.71");
    ready(f, 6, "32.04");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    EVP_PKEY_free(f->key);
    sidik_control_close(f->c);
    scratch_remove(f->dir);
    free(f);
    return 0;
}

/* ---- calls ----------------------------------------------------------------------- */

static int call(fixture *f, sidik_method m, const sidik_identity *who, const ProtobufCMessage *req,
                uint8_t **out, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *p = malloc(n + 1);
    protobuf_c_message_pack(req, p);
    int rc = sidik_print_answer(&f->ps, m, who, p, n, out, len, f->why, sizeof f->why);
    free(p);
    return rc;
}

static int do_lease(fixture *f, const sidik_identity *who, const char *region, uint32_t max,
                    Sidik__V1__LeaseResponse **resp)
{
    Sidik__V1__LeaseRequest req;
    sidik__v1__lease_request__init(&req);
    req.region_code = (char *)region;
    req.max = max;
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = call(f, SIDIK_METHOD_PRINT_LEASE, who, &req.base, &out, &len);
    if (rc == 0) {
        *resp = sidik__v1__lease_response__unpack(NULL, len, out);
        assert_non_null(*resp);
    }
    sidik_free(out);
    return rc;
}

static int do_ack(fixture *f, const sidik_identity *who, const char **ids, size_t n,
                  uint32_t *acknowledged)
{
    Sidik__V1__AckRequest req;
    sidik__v1__ack_request__init(&req);
    req.n_enrollment_ids = n;
    req.enrollment_ids = (char **)ids;
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = call(f, SIDIK_METHOD_PRINT_ACK, who, &req.base, &out, &len);
    if (rc == 0) {
        Sidik__V1__AckResponse *r = sidik__v1__ack_response__unpack(NULL, len, out);
        assert_non_null(r);
        *acknowledged = r->acknowledged;
        sidik__v1__ack_response__free_unpacked(r, NULL);
    }
    sidik_free(out);
    return rc;
}

static sidik_status status_of(fixture *f, const char *id)
{
    sidik_control_txn *t;
    sidik_enrollment e;
    assert_int_equal(sidik_control_begin(f->c, false, &t), 0);
    assert_int_equal(sidik_control_enroll_get(t, id, &e), 0);
    sidik_control_abort(t);
    return e.status;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_server_print_lease_signed(void **state)
{
    fixture *f = *state;
    Sidik__V1__LeaseResponse *r;
    assert_int_equal(do_lease(f, &station, "", 3, &r), 0);
    assert_int_equal(r->n_authorisations, 3);
    assert_int_equal(r->lease_expires_ms, clock_ms + LEASE_MS);
    for (int i = 0; i < 3; i++) {
        const Sidik__V1__PrintAuthorisation *a = r->authorisations[i];
        char id[16];
        snprintf(id, sizeof id, "e%d", i + 1); /* in the order they were decided */
        assert_string_equal(a->enrollment_id, id);
        assert_string_equal(a->region_code, "31.71");
        assert_int_equal(a->authorised_time_ms, T0 + (i + 1) * 1000);
        assert_int_equal(sidik_print_verify(f->key, a->payload.data, a->payload.len,
                                            a->signature.data, a->signature.len),
                         0);
        sidik_print_auth p;
        assert_int_equal(sidik_print_auth_decode(a->payload.data, a->payload.len, &p, NULL), 0);
        assert_string_equal(p.enrollment_id, id);
        assert_string_equal(p.nik, a->nik);
        assert_string_equal(p.region, "31.71");
        assert_int_equal(p.record_id, 101 + i);
        assert_int_equal(p.content_sha256[0], i + 1);
        assert_int_equal(p.authorised_ms, a->authorised_time_ms);
    }
    sidik__v1__lease_response__free_unpacked(r, NULL);
    /* The rest of the region; then nothing: all are leased. */
    assert_int_equal(do_lease(f, &station, "31.71", 0, &r), 0);
    assert_int_equal(r->n_authorisations, 2);
    assert_string_equal(r->authorisations[0]->enrollment_id, "e4");
    sidik__v1__lease_response__free_unpacked(r, NULL);
    assert_int_equal(do_lease(f, &station, "", 0, &r), 0);
    assert_int_equal(r->n_authorisations, 0);
    assert_int_equal(r->lease_expires_ms, 0);
    sidik__v1__lease_response__free_unpacked(r, NULL);
    /* Another region's station sees its own. */
    assert_int_equal(do_lease(f, &elsewhere, "", 0, &r), 0);
    assert_int_equal(r->n_authorisations, 1);
    assert_string_equal(r->authorisations[0]->enrollment_id, "e6");
    sidik__v1__lease_response__free_unpacked(r, NULL);
}

static void test_server_print_lease_refusals(void **state)
{
    fixture *f = *state;
    Sidik__V1__LeaseResponse *r = NULL;
    assert_int_equal(do_lease(f, &station, "32.04", 0, &r), SIDIK_EDENIED);
    assert_non_null(strstr(f->why, "its own region, 31.71"));
    assert_int_equal(do_lease(f, &office, "", 0, &r), SIDIK_EDENIED);
    assert_int_equal(do_lease(f, &auditor, "", 0, &r), SIDIK_EDENIED);
    const sidik_identity odd = {SIDIK_ROLE_PRINTER, "print station 1"};
    assert_int_equal(do_lease(f, &odd, "", 0, &r), SIDIK_EINVAL);
    assert_non_null(strstr(f->why, "CN is not a print region"));

    uint8_t *out = NULL;
    size_t len = 0;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(sidik_print_answer(&f->ps, SIDIK_METHOD_PRINT_LEASE, &station, garbage,
                                        sizeof garbage, &out, &len, f->why, sizeof f->why),
                     SIDIK_EFORMAT);
    const uint8_t cut[] = {0x0a, 0x05, '3', '1'}; /* region_code: 5 bytes declared, 2 there */
    assert_int_equal(sidik_print_answer(&f->ps, SIDIK_METHOD_PRINT_LEASE, &station, cut,
                                        sizeof cut, &out, &len, f->why, sizeof f->why),
                     SIDIK_EFORMAT);
    const uint8_t nul[] = {0x0a, 0x05, '3', '1', 0, '7', '1'};
    assert_int_equal(sidik_print_answer(&f->ps, SIDIK_METHOD_PRINT_LEASE, &station, nul,
                                        sizeof nul, &out, &len, f->why, sizeof f->why),
                     SIDIK_EINVAL);
    assert_int_equal(sidik_print_answer(&f->ps, SIDIK_METHOD_STATUS_GET, &station, NULL, 0, &out,
                                        &len, f->why, sizeof f->why),
                     SIDIK_EUNSUPPORTED);
    assert_null(out);
    /* None of that leased anything. */
    assert_int_equal(do_lease(f, &station, "", 0, &r), 0);
    assert_int_equal(r->n_authorisations, 5);
    sidik__v1__lease_response__free_unpacked(r, NULL);
}

static void test_server_print_ack_once(void **state)
{
    fixture *f = *state;
    Sidik__V1__LeaseResponse *r;
    assert_int_equal(do_lease(f, &station, "", 2, &r), 0);
    sidik__v1__lease_response__free_unpacked(r, NULL);
    uint32_t n = 99;
    const char *two[] = {"e1", "e2"};
    assert_int_equal(do_ack(f, &station, two, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(status_of(f, "e1"), SIDIK_STATUS_PRINTED);
    assert_int_equal(status_of(f, "e2"), SIDIK_STATUS_PRINTED);
    /* A retry whose answer was lost: passed over, not counted again. */
    assert_int_equal(do_ack(f, &station, two, 2, &n), 0);
    assert_int_equal(n, 0);
    /* Both prints are in the audit chain, by the station. */
    sidik_control_txn *t;
    uint64_t checked = 0, bad = 0;
    assert_int_equal(sidik_control_begin(f->c, false, &t), 0);
    assert_int_equal(sidik_control_audit_verify(t, &checked, &bad), 0);
    assert_int_equal(checked, 2);
    sidik_audit_entry a;
    assert_int_equal(sidik_control_audit_get(t, 2, &a), 0);
    assert_int_equal(a.kind, SIDIK_AUDIT_PRINT);
    assert_string_equal(a.actor, "printer:31.71");
    assert_string_equal(a.subject, "e2");
    assert_string_equal(a.detail, "card printed (record 102)");
    sidik_control_abort(t);

    /* e3 is queued, not leased: the whole Ack is refused, e.g. e4 too. */
    assert_int_equal(do_lease(f, &station, "", 0, &r), 0); /* e3, e4, e5 */
    sidik__v1__lease_response__free_unpacked(r, NULL);
    const char *bad_mix[] = {"e4", "e6"};
    assert_int_equal(do_ack(f, &station, bad_mix, 2, &n), SIDIK_ESTATE);
    assert_non_null(strstr(f->why, "e6 is not leased to this station"));
    assert_int_equal(status_of(f, "e4"), SIDIK_STATUS_PRINT_READY);
    const char *unknown[] = {"e4", "no-such"};
    assert_int_equal(do_ack(f, &station, unknown, 2, &n), SIDIK_ESTATE);
    assert_int_equal(status_of(f, "e4"), SIDIK_STATUS_PRINT_READY);
    /* Held by 31.71: another station cannot acknowledge it. */
    const char *theirs[] = {"e4"};
    assert_int_equal(do_ack(f, &elsewhere, theirs, 1, &n), SIDIK_EDENIED);
    assert_non_null(strstr(f->why, "another print station"));
    assert_int_equal(do_ack(f, &office, theirs, 1, &n), SIDIK_EDENIED);
    /* Counts and ids out of range. */
    assert_int_equal(do_ack(f, &station, theirs, 0, &n), SIDIK_EINVAL);
    const char *many[SIDIK_PRINT_BATCH_MAX + 1];
    for (int i = 0; i <= SIDIK_PRINT_BATCH_MAX; i++)
        many[i] = "e4";
    assert_int_equal(do_ack(f, &station, many, SIDIK_PRINT_BATCH_MAX + 1, &n), SIDIK_EINVAL);
    char longid[80];
    memset(longid, 'x', 65);
    longid[65] = 0;
    const char *too_long[] = {longid};
    assert_int_equal(do_ack(f, &station, too_long, 1, &n), SIDIK_EINVAL);
    const char *empty[] = {""};
    assert_int_equal(do_ack(f, &station, empty, 1, &n), SIDIK_EINVAL);
    assert_int_equal(status_of(f, "e4"), SIDIK_STATUS_PRINT_READY);
    assert_int_equal(do_ack(f, &station, theirs, 1, &n), 0);
    assert_int_equal(n, 1);
}

static void test_server_print_lease_runs_out(void **state)
{
    fixture *f = *state;
    Sidik__V1__LeaseResponse *first, *again;
    assert_int_equal(do_lease(f, &station, "", 0, &first), 0);
    assert_int_equal(first->n_authorisations, 5);
    uint32_t n;
    const char *one[] = {"e1"};
    assert_int_equal(do_ack(f, &station, one, 1, &n), 0);
    /* Not acknowledged in time: back in the queue, the same bytes again;
     * the printed one never. */
    clock_ms += LEASE_MS + 1;
    assert_int_equal(do_lease(f, &station, "", 0, &again), 0);
    assert_int_equal(again->n_authorisations, 4);
    for (int i = 0; i < 4; i++) {
        const Sidik__V1__PrintAuthorisation *a = first->authorisations[i + 1],
                                            *b = again->authorisations[i];
        assert_string_equal(a->enrollment_id, b->enrollment_id);
        assert_int_equal(a->payload.len, b->payload.len);
        assert_memory_equal(a->payload.data, b->payload.data, a->payload.len);
        assert_memory_equal(a->signature.data, b->signature.data, SIDIK_PRINT_SIG_BYTES);
    }
    sidik__v1__lease_response__free_unpacked(first, NULL);
    sidik__v1__lease_response__free_unpacked(again, NULL);
    const char *all[] = {"e2", "e3", "e4", "e5"};
    assert_int_equal(do_ack(f, &station, all, 4, &n), 0);
    assert_int_equal(n, 4);
    clock_ms += 10 * LEASE_MS;
    assert_int_equal(do_lease(f, &station, "", 0, &again), 0);
    assert_int_equal(again->n_authorisations, 0);
    sidik__v1__lease_response__free_unpacked(again, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_server_print_lease_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_print_lease_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_print_ack_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_print_lease_runs_out, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
