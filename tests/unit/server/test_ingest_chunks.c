/*
 * Ingest.UploadChunks in memory, as test_ingest.c does Upload: stock
 * nghttp2 clients (one per office) stream EnrollmentChunks to h2
 * connections wired to the ingest service, with a real journal and control
 * store in a scratch folder. Whole, in pieces, cut and resumed on a new
 * connection, out-of-place offsets, probes, every refusal with its code
 * and reason code, the staging bounds (another office unaffected), idle
 * expiry, resends answered at the first chunk, conflicts, and journal
 * backpressure.
 */
#include "test_support.h"

#include "../storage/storage_test.h"
#include "enrollment_fixture.h"
#include "h2_client.h"
#include "sidik/common.h"
#include "sidik/ingest.h"
#include "sidik/metrics.h"

#include <errno.h>
#include <stdatomic.h>
#include <uv.h>

static atomic_int hold_sync; /* syncs wait while set */
static atomic_int fail_sync; /* syncs fail with -ENOSPC while set */

static int journal_fault(void *ctx, sidik_journal_op op)
{
    (void)ctx;
    if (op != SIDIK_JOURNAL_OP_SYNC)
        return 0;
    while (atomic_load(&hold_sync))
        usleep(200);
    return atomic_load(&fail_sync) ? -ENOSPC : 0;
}

static int64_t test_now_ms(void)
{
    return NOW_MS;
}

/* ---- one server, an h2 connection per office ------------------------------------------ */

enum { JKT, BDG, NOFFICES };
static const sidik_identity offices[NOFFICES] = {{SIDIK_ROLE_OFFICE, "JKT-01"},
                                                 {SIDIK_ROLE_OFFICE, "BDG-02"}};

typedef struct conn {
    sidik_h2_conn *h2;
    nghttp2_session *cl;
} conn;

typedef struct server {
    char *dir;
    uv_loop_t loop;
    sidik_metrics *metrics;
    sidik_control *control;
    sidik_ingest *ingest;
    sidik_ingest_port *port;
    conn c[NOFFICES];
} server;

static int cb_call(void *ctx, sidik_h2_call *call)
{
    return sidik_ingest_on_call(((server *)ctx)->port, call);
}

static int cb_message(void *ctx, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    return sidik_ingest_on_message(((server *)ctx)->port, call, p, n);
}

static void cb_half_close(void *ctx, sidik_h2_call *call)
{
    sidik_ingest_on_half_close(((server *)ctx)->port, call);
}

static void cb_close(void *ctx, sidik_h2_call *call)
{
    sidik_ingest_on_close(((server *)ctx)->port, call);
}

static const sidik_h2_callbacks ingest_cb = {cb_call, cb_message, cb_half_close, cb_close};

static uint32_t conn_window; /* per-stream receive window; 0: h2's default */

static void conn_open(server *s, int office)
{
    sidik_h2_options ho = {.window_bytes = conn_window};
    assert_int_equal(sidik_h2_conn_create(&ho, &offices[office], &ingest_cb, s, &s->c[office].h2),
                     0);
    s->c[office].cl = client_new();
}

/* The link drops: the connection and every call on it are gone. */
static void conn_cut(server *s, int office)
{
    nghttp2_session_del(s->c[office].cl);
    sidik_h2_conn_destroy(s->c[office].h2);
    s->c[office] = (conn){0};
}

/* o: the staging settings and the enrollment limit (NULL: defaults). */
static void server_open(server *s, const sidik_ingest_options *o, size_t max_pending)
{
    atomic_store(&hold_sync, 0);
    atomic_store(&fail_sync, 0);
    assert_non_null(s->dir = scratch_create());
    assert_int_equal(uv_loop_init(&s->loop), 0);
    assert_int_equal(sidik_metrics_create(&s->metrics), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/control", s->dir);
    assert_int_equal(sidik_control_open(path, NULL, &s->control, NULL), 0);
    snprintf(path, sizeof path, "%s/journal", s->dir);
    sidik_ingest_options io = {0};
    if (o != NULL)
        io = *o;
    io.journal_dir = path;
    io.journal = (sidik_journal_options){.max_pending_bytes = max_pending, .fault = journal_fault};
    io.control = s->control;
    io.metrics = s->metrics;
    io.now_ms = test_now_ms;
    const char *why = NULL;
    int rc = sidik_ingest_open(&io, &s->ingest, NULL, &why);
    if (rc != 0)
        fail_msg("ingest open: %s (%s)", sidik_err_name(rc), why ? why : "");
    assert_int_equal(sidik_ingest_port_open(s->ingest, &s->loop, &s->port), 0);
    for (int i = 0; i < NOFFICES; i++)
        conn_open(s, i);
}

static void server_close(server *s)
{
    atomic_store(&hold_sync, 0);
    for (int i = 0; i < NOFFICES; i++)
        if (s->c[i].h2 != NULL)
            conn_cut(s, i);
    sidik_ingest_port_close(s->port, NULL, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&s->loop), 0);
    sidik_ingest_close(s->ingest);
    sidik_control_close(s->control);
    sidik_metrics_destroy(s->metrics);
    scratch_remove(s->dir);
}

static void drive_once(server *s)
{
    for (int i = 0; i < NOFFICES; i++)
        if (s->c[i].h2 != NULL)
            pump(s->c[i].cl, s->c[i].h2);
    uv_run(&s->loop, UV_RUN_NOWAIT);
    for (int i = 0; i < NOFFICES; i++)
        if (s->c[i].h2 != NULL)
            pump(s->c[i].cl, s->c[i].h2);
}

/* ---- a call sending chunks as the test decides ------------------------------------------ */

typedef struct call {
    server *s;
    int office;
    int32_t stream;
    uint8_t *body;
    size_t len, off, cap;
    bool eof;
    size_t data_sent; /* bytes of chunk data sent on this call */
    reply *r;
} call;

static ssize_t call_read(nghttp2_session *ns, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)ns;
    (void)id;
    (void)ud;
    call *q = src->ptr;
    if (q->off == q->len) {
        if (!q->eof)
            return NGHTTP2_ERR_DEFERRED;
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
    }
    size_t n = q->len - q->off < length ? q->len - q->off : length;
    memcpy(buf, q->body + q->off, n);
    q->off += n;
    return (ssize_t)n;
}

static call *call_open_path(server *s, int office, const char *path)
{
    call *q = calloc(1, sizeof *q);
    q->s = s;
    q->office = office;
    q->r = calloc(1, sizeof *q->r);
    nghttp2_nv nva[] = {NV(":method", "POST"),
                        NV(":scheme", "https"),
                        NV(":authority", "localhost"),
                        NV(":path", path),
                        NV("content-type", "application/grpc"),
                        NV("te", "trailers")};
    nghttp2_data_provider dp = {.source.ptr = q, .read_callback = call_read};
    q->stream = nghttp2_submit_request(s->c[office].cl, NULL, nva, 6, &dp, q->r);
    assert_true(q->stream > 0);
    return q;
}

static call *call_open(server *s, int office)
{
    return call_open_path(s, office, "/sidik.v1.Ingest/UploadChunks");
}

static void call_free(call *q)
{
    free(q->body);
    free(q->r);
    free(q);
}

/* Queues one message (framed) and lets the client send it. */
static void call_raw(call *q, const uint8_t *m, size_t n)
{
    if (q->len + n + SIDIK_GRPC_PREFIX_BYTES > q->cap) {
        q->cap = (q->len + n + SIDIK_GRPC_PREFIX_BYTES) * 2;
        q->body = realloc(q->body, q->cap);
    }
    sidik_grpc_prefix_encode(q->body + q->len, (uint32_t)n);
    memcpy(q->body + q->len + SIDIK_GRPC_PREFIX_BYTES, m, n);
    q->len += SIDIK_GRPC_PREFIX_BYTES + n;
    nghttp2_session_resume_data(q->s->c[q->office].cl, q->stream);
}

static void call_chunk(call *q, const char *id, const uint8_t *sha, size_t sha_len, uint64_t total,
                       uint64_t offset, const uint8_t *data, size_t len)
{
    Sidik__V1__EnrollmentChunk c = SIDIK__V1__ENROLLMENT_CHUNK__INIT;
    c.enrollment_id = (char *)id;
    c.content_sha256.data = (uint8_t *)sha;
    c.content_sha256.len = sha_len;
    c.total_bytes = total;
    c.offset = offset;
    c.data.data = (uint8_t *)data;
    c.data.len = len;
    size_t n = sidik__v1__enrollment_chunk__get_packed_size(&c);
    uint8_t *m = malloc(n + 1);
    sidik__v1__enrollment_chunk__pack(&c, m);
    call_raw(q, m, n);
    free(m);
    q->data_sent += len;
}

static void call_end(call *q)
{
    q->eof = true;
    nghttp2_session_resume_data(q->s->c[q->office].cl, q->stream);
}

static int answers(const call *q)
{
    int n = 0;
    uint32_t len;
    while (message_at(q->r, n, &len) != NULL)
        n++;
    return n;
}

/* Drives until q has `want` answers (or is closed), at most ms. */
static void wait_answers(call *q, int want, int ms)
{
    for (int i = 0; i < ms * 2 && answers(q) < want && !q->r->closed; i++) {
        drive_once(q->s);
        usleep(500);
    }
}

static void wait_closed(call *q, int ms)
{
    for (int i = 0; i < ms * 2 && !q->r->closed; i++) {
        drive_once(q->s);
        usleep(500);
    }
}

/* Answer i (free with sidik__v1__chunk_receipt__free_unpacked(x, NULL)). */
static Sidik__V1__ChunkReceipt *answer_at(const call *q, int i)
{
    uint32_t len;
    const uint8_t *p = message_at(q->r, i, &len);
    if (p == NULL)
        fail_msg("answer %d missing (%d answers)", i, answers(q));
    Sidik__V1__ChunkReceipt *x = sidik__v1__chunk_receipt__unpack(NULL, len, p);
    assert_non_null(x);
    return x;
}

/* Answer i says held_bytes == held and carries no Receipt. */
static void expect_held(const call *q, int i, const char *id, uint64_t held)
{
    Sidik__V1__ChunkReceipt *x = answer_at(q, i);
    if (x->held_bytes != held || x->receipt != NULL)
        fail_msg("answer %d: held %llu (want %llu), receipt %s", i,
                 (unsigned long long)x->held_bytes, (unsigned long long)held,
                 x->receipt ? x->receipt->reason : "none");
    assert_string_equal(x->enrollment_id, id);
    sidik__v1__chunk_receipt__free_unpacked(x, NULL);
}

/* Answer i refuses with code and (when reason_code) one FieldError. */
static void expect_refused(const call *q, int i, uint64_t held, int code, const char *field,
                           const char *reason_code)
{
    Sidik__V1__ChunkReceipt *x = answer_at(q, i);
    assert_non_null(x->receipt);
    if (x->receipt->code != code)
        fail_msg("answer %d: code %d (want %d): %s", i, x->receipt->code, code, x->receipt->reason);
    assert_int_equal(x->held_bytes, held);
    assert_int_equal(x->receipt->journal_seq, 0);
    assert_true(strlen(x->receipt->reason) > 10);
    if (reason_code != NULL) {
        assert_int_equal(x->receipt->n_field_errors, 1);
        assert_string_equal(x->receipt->field_errors[0]->field, field);
        assert_string_equal(x->receipt->field_errors[0]->reason_code, reason_code);
    } else {
        assert_int_equal(x->receipt->n_field_errors, 0);
    }
    sidik__v1__chunk_receipt__free_unpacked(x, NULL);
}

/* ---- enrollments ----------------------------------------------------------------------- */

typedef struct enr {
    char id[40];
    uint8_t *p;
    size_t n;
    uint8_t sha[32];
} enr;

/* Enrollment number i of the fixture person, from office, station: its
 * own id and packed bytes. */
static enr *enr_new(int i, int office, const char *station)
{
    fixture *x = copy();
    snprintf(x->id, sizeof x->id, "7d1c0a52-3b9e-4f61-8c2d-5a0e9f3b%04x", i);
    x->e.office_code = (char *)offices[office].name;
    x->e.station_id = (char *)station;
    enr *e = calloc(1, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", x->id);
    e->n = sidik__v1__enrollment__get_packed_size(&x->e);
    e->p = malloc(e->n);
    sidik__v1__enrollment__pack(&x->e, e->p);
    sha(e->p, e->n, e->sha);
    free(x);
    return e;
}

static void enr_free(enr *e)
{
    free(e->p);
    free(e);
}

/* Sends e's bytes [from, to) in pieces of at most piece bytes. */
static int send_range(call *q, const enr *e, size_t from, size_t to, size_t piece)
{
    int k = 0;
    for (size_t at = from; at < to; at += piece, k++)
        call_chunk(q, e->id, e->sha, 32, e->n, at, e->p + at, to - at < piece ? to - at : piece);
    return k;
}

static sidik_status stored(server *s, const char *id, sidik_enrollment *out)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(s->control, false, &t), 0);
    int rc = sidik_control_enroll_get(t, id, out);
    sidik_control_abort(t);
    return rc == 0 ? out->status : 0;
}

/* The last answer of q is e's accepted Receipt; returns its journal_seq. */
static uint64_t expect_accepted(server *s, const call *q, int i, const enr *e, bool resend)
{
    Sidik__V1__ChunkReceipt *x = answer_at(q, i);
    assert_string_equal(x->enrollment_id, e->id);
    assert_int_equal(x->held_bytes, e->n);
    assert_non_null(x->receipt);
    if (x->receipt->code != 0)
        fail_msg("refused: %d %s", x->receipt->code, x->receipt->reason);
    assert_string_equal(x->receipt->enrollment_id, e->id);
    assert_int_equal(x->receipt->status, SIDIK__V1__ENROLLMENT_STATUS__RECEIVED);
    assert_int_equal(x->receipt->received_time_ms, NOW_MS);
    assert_int_equal(x->receipt->content_sha256.len, 32);
    assert_memory_equal(x->receipt->content_sha256.data, e->sha, 32); /* what Upload computes */
    assert_int_equal(x->receipt->resend, resend);
    assert_true(x->receipt->journal_seq > 0);
    /* Recorded before it was answered, with the same facts. */
    sidik_enrollment st;
    assert_int_equal(stored(s, e->id, &st), SIDIK_STATUS_RECEIVED);
    assert_int_equal(st.journal_seq, x->receipt->journal_seq);
    assert_memory_equal(st.sha256, e->sha, 32);
    uint64_t seq = x->receipt->journal_seq;
    sidik__v1__chunk_receipt__free_unpacked(x, NULL);
    return seq;
}

static int64_t metric(server *s, sidik_metric m)
{
    return sidik_metrics_get(s->metrics, m);
}

/* ---- the tests ------------------------------------------------------------------------- */

static void test_server_chunks_whole_in_one(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, NULL, 0);
    enr *e = enr_new(1, JKT, "station-07");
    assert_true(e->n > 5000 && e->n <= SIDIK_INGEST_CHUNK_MAX);
    /* Not durable yet: no answer, not even held_bytes (answers keep the
     * order the chunks came in). */
    atomic_store(&hold_sync, 1);
    call *q = call_open(&s, JKT);
    send_range(q, e, 0, e->n, e->n);
    wait_answers(q, 1, 200);
    assert_int_equal(answers(q), 0);
    assert_int_equal(sidik_ingest_in_flight(s.ingest), 1);
    assert_int_equal(metric(&s, SIDIK_M_CHUNK_STAGED_BYTES), 0); /* out of the staging */
    atomic_store(&hold_sync, 0);
    call_end(q);
    wait_closed(q, 3000);
    assert_string_equal(q->r->grpc_status, "0");
    assert_int_equal(answers(q), 1);
    expect_accepted(&s, q, 0, e, false);
    assert_int_equal(metric(&s, SIDIK_M_CHUNKS_RECEIVED), 1);
    assert_int_equal(metric(&s, SIDIK_M_ENROLLMENTS_RECEIVED), 1);
    assert_true(sidik_ingest_idle(s.ingest));
    call_free(q);
    enr_free(e);
    server_close(&s);
}

static void test_server_chunks_five_pieces(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, NULL, 0);
    enr *e = enr_new(2, JKT, "station-07");
    size_t piece = (e->n + 4) / 5;
    call *q = call_open(&s, JKT);
    assert_int_equal(send_range(q, e, 0, e->n, piece), 5);
    call_end(q);
    wait_closed(q, 3000);
    assert_string_equal(q->r->grpc_status, "0");
    assert_int_equal(answers(q), 5);
    for (int i = 0; i < 4; i++)
        expect_held(q, i, e->id, piece * (i + 1));
    expect_accepted(&s, q, 4, e, false);
    assert_int_equal(metric(&s, SIDIK_M_CHUNKS_RECEIVED), 5);
    assert_int_equal(metric(&s, SIDIK_M_CHUNK_STAGED_BYTES), 0);
    call_free(q);
    enr_free(e);
    server_close(&s);
}

/* The link drops after two of five chunks; on a new connection the
 * station asks, hears two chunks' worth, and sends only the rest. */
static void test_server_chunks_cut_and_resume(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, NULL, 0);
    enr *e = enr_new(3, JKT, "station-07");
    size_t piece = (e->n + 4) / 5;
    call *q = call_open(&s, JKT);
    send_range(q, e, 0, 2 * piece, piece);
    wait_answers(q, 2, 3000);
    expect_held(q, 0, e->id, piece);
    expect_held(q, 1, e->id, 2 * piece);
    assert_true(metric(&s, SIDIK_M_CHUNK_STAGED_BYTES) >= (int64_t)(2 * piece));
    conn_cut(&s, JKT);
    call_free(q);
    drive_once(&s);
    assert_int_equal(sidik_ingest_in_flight(s.ingest), 0);

    conn_open(&s, JKT);
    call *r = call_open(&s, JKT);
    call_chunk(r, e->id, e->sha, 32, e->n, 0, NULL, 0); /* where do I resume? */
    wait_answers(r, 1, 3000);
    Sidik__V1__ChunkReceipt *x = answer_at(r, 0);
    uint64_t held = x->held_bytes;
    assert_int_equal(held, 2 * piece);
    assert_null(x->receipt);
    sidik__v1__chunk_receipt__free_unpacked(x, NULL);
    send_range(r, e, held, e->n, piece);
    call_end(r);
    wait_closed(r, 3000);
    assert_string_equal(r->r->grpc_status, "0");
    assert_int_equal(answers(r), 4);
    expect_held(r, 1, e->id, 3 * piece);
    expect_held(r, 2, e->id, 4 * piece);
    expect_accepted(&s, r, 3, e, false);
    /* Every byte crossed once. */
    assert_int_equal(2 * piece + r->data_sent, e->n);
    call_free(r);
    enr_free(e);
    server_close(&s);
}

static void test_server_chunks_wrong_offsets(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, NULL, 0);
    enr *e = enr_new(4, JKT, "station-07");
    size_t piece = 1000;
    call *q = call_open(&s, JKT);
    send_range(q, e, 0, piece, piece);                                          /* held 1000 */
    call_chunk(q, e->id, e->sha, 32, e->n, 2 * piece, e->p + 2 * piece, piece); /* ahead */
    call_chunk(q, e->id, e->sha, 32, e->n, 0, e->p, piece);                     /* behind */
    call_chunk(q, e->id, e->sha, 32, e->n, piece / 2, e->p + piece / 2, piece); /* overlapping */
    call_chunk(q, e->id, e->sha, 32, e->n, piece, NULL, 0);                     /* a probe */
    send_range(q, e, piece, e->n, 4 * piece);
    call_end(q);
    wait_closed(q, 3000);
    int n = answers(q);
    assert_true(n >= 6);
    expect_held(q, 0, e->id, piece);
    for (int i = 1; i <= 4; i++)
        expect_held(q, i, e->id, piece); /* nothing appended */
    expect_held(q, 5, e->id, 5 * piece);
    /* The bytes assembled are exactly the enrollment: it is accepted. */
    expect_accepted(&s, q, n - 1, e, false);
    call_free(q);
    enr_free(e);
    server_close(&s);
}

/* A data-less chunk for an id never seen asks and stages nothing. */
static void test_server_chunks_probe(void **state)
{
    (void)state;
    server s = {0};
    sidik_ingest_options o = {.staging_office_count = 1};
    server_open(&s, &o, 0);
    enr *e = enr_new(5, JKT, "station-07"), *f = enr_new(6, JKT, "station-07");
    call *q = call_open(&s, JKT);
    call_chunk(q, e->id, e->sha, 32, e->n, 0, NULL, 0);
    call_chunk(q, e->id, e->sha, 32, e->n, 500, NULL, 0);
    /* Probes hold no place: the one staging this office may have is free. */
    send_range(q, f, 0, f->n, f->n);
    call_end(q);
    wait_closed(q, 3000);
    assert_int_equal(answers(q), 3);
    expect_held(q, 0, e->id, 0);
    expect_held(q, 1, e->id, 0);
    expect_accepted(&s, q, 2, f, false);
    sidik_enrollment st;
    assert_int_equal(stored(&s, e->id, &st), 0);
    call_free(q);
    enr_free(e);
    enr_free(f);
    server_close(&s);
}

static void test_server_chunks_hash_mismatch(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, NULL, 0);
    enr *e = enr_new(7, JKT, "station-07");
    call *q = call_open(&s, JKT);
    /* One byte damaged on the way (as a station's bug would): the hash
     * catches it when the last byte is in. */
    uint8_t *bad = malloc(e->n);
    memcpy(bad, e->p, e->n);
    bad[e->n / 2] ^= 1;
    size_t half = e->n / 2 + 1;
    call_chunk(q, e->id, e->sha, 32, e->n, 0, bad, half);
    call_chunk(q, e->id, e->sha, 32, e->n, half, bad + half, e->n - half);
    /* Dropped: the station starts again from 0 and gets it in. */
    call_chunk(q, e->id, e->sha, 32, e->n, 0, NULL, 0);
    send_range(q, e, 0, e->n, e->n);
    call_end(q);
    wait_closed(q, 3000);
    assert_int_equal(answers(q), 4);
    expect_held(q, 0, e->id, half);
    expect_refused(q, 1, 0, SIDIK_GRPC_DATA_LOSS, "content_sha256", "CONTENT_HASH_MISMATCH");
    Sidik__V1__ChunkReceipt *x = answer_at(q, 1);
    assert_string_equal(x->enrollment_id, e->id);
    assert_int_equal(x->receipt->status,
                     SIDIK__V1__ENROLLMENT_STATUS__ENROLLMENT_STATUS_UNSPECIFIED);
    sidik__v1__chunk_receipt__free_unpacked(x, NULL);
    expect_held(q, 2, e->id, 0);
    expect_accepted(&s, q, 3, e, false);
    assert_int_equal(metric(&s, SIDIK_M_CHUNK_STAGED_BYTES), 0);
    free(bad);
    call_free(q);
    enr_free(e);
    server_close(&s);
}

static void test_server_chunks_total_bytes(void **state)
{
    (void)state;
    server s = {0};
    sidik_ingest_options o = {.max_enrollment_bytes = 100000};
    server_open(&s, &o, 0);
    enr *e = enr_new(8, JKT, "station-07");
    call *q = call_open(&s, JKT);
    call_chunk(q, e->id, e->sha, 32, 0, 0, e->p, 10);                    /* 0 */
    call_chunk(q, e->id, e->sha, 32, 100001, 0, e->p, 10);               /* over the limit */
    call_chunk(q, e->id, e->sha, 31, e->n, 0, e->p, 10);                 /* a short hash */
    call_chunk(q, e->id, e->sha, 32, e->n, 0, e->p, 1000);               /* held 1000 */
    call_chunk(q, e->id, e->sha, 32, e->n + 1, 1000, e->p + 1000, 1000); /* total changes */
    call_chunk(q, e->id, e->sha, 32, e->n, 1000, NULL, 0);               /* the first is gone */
    call_chunk(q, e->id, e->sha, 32, e->n, 0, e->p, 1000);               /* again from 0 */
    uint8_t other[32];
    memcpy(other, e->sha, 32);
    other[0] ^= 0xff;
    call_chunk(q, e->id, other, 32, e->n, 1000, e->p + 1000, 1000); /* the hash changes */
    call_chunk(q, e->id, e->sha, 32, e->n, 0, NULL, 0);
    call_end(q);
    wait_closed(q, 3000);
    assert_int_equal(answers(q), 9);
    expect_refused(q, 0, 0, SIDIK_GRPC_INVALID_ARGUMENT, "total_bytes", "TOTAL_BYTES_RANGE");
    expect_refused(q, 1, 0, SIDIK_GRPC_INVALID_ARGUMENT, "total_bytes", "TOTAL_BYTES_RANGE");
    expect_refused(q, 2, 0, SIDIK_GRPC_INVALID_ARGUMENT, "content_sha256", "CONTENT_SHA256_LENGTH");
    expect_held(q, 3, e->id, 1000);
    expect_held(q, 4, e->id, 0); /* a new staging for the new content, nothing at 1000 yet */
    expect_held(q, 5, e->id, 0);
    expect_held(q, 6, e->id, 1000);
    expect_held(q, 7, e->id, 0);
    expect_held(q, 8, e->id, 0);
    call_free(q);
    enr_free(e);
    server_close(&s);
}

/* Field bytes by hand: an EnrollmentChunk whose id holds a NUL. */
static size_t chunk_with_nul_id(uint8_t *out, const uint8_t sha[32])
{
    static const char id[] = "7d1c0a52-3b9e-4f61-8c2d-5a0e9f3b0009";
    size_t n = 0;
    out[n++] = 0x0a; /* 1: enrollment_id */
    out[n++] = 37;
    memcpy(out + n, id, 36);
    out[n + 8] = 0; /* "7d1c0a52\0..." */
    n += 36;
    out[n++] = '0';
    out[n++] = 0x12; /* 2: content_sha256 */
    out[n++] = 32;
    memcpy(out + n, sha, 32);
    n += 32;
    out[n++] = 0x18; /* 3: total_bytes = 100 */
    out[n++] = 100;
    out[n++] = 0x2a; /* 5: data, 1 byte */
    out[n++] = 1;
    out[n++] = 0x0a;
    return n;
}

static void test_server_chunks_bad_ids_and_data(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, NULL, 0);
    enr *e = enr_new(9, JKT, "station-07");
    char long_id[70];
    memset(long_id, 'a', 65);
    long_id[65] = 0;
    uint8_t *big = calloc(1, SIDIK_INGEST_CHUNK_MAX + 1);
    call *q = call_open(&s, JKT);
    call_chunk(q, "", e->sha, 32, e->n, 0, e->p, 10);
    call_chunk(q, long_id, e->sha, 32, e->n, 0, e->p, 10);
    call_chunk(q, "not-a-uuid", e->sha, 32, e->n, 0, e->p, 10);
    uint8_t m[128];
    call_raw(q, m, chunk_with_nul_id(m, e->sha));
    call_raw(q, (const uint8_t *)"\xff\xff\xff", 3); /* not a protobuf */
    call_chunk(q, e->id, e->sha, 32, 2 * SIDIK_INGEST_CHUNK_MAX, 0, big,
               SIDIK_INGEST_CHUNK_MAX + 1);
    call_chunk(q, e->id, e->sha, 32, e->n, 0, e->p, 100);
    call_chunk(q, e->id, e->sha, 32, e->n, 100, big, e->n);      /* past the end */
    call_chunk(q, e->id, e->sha, 32, e->n, UINT64_MAX, e->p, 2); /* and far past */
    call_end(q);
    wait_closed(q, 3000);
    assert_string_equal(q->r->grpc_status, "0");
    assert_int_equal(answers(q), 9);
    for (int i = 0; i < 3; i++) {
        expect_refused(q, i, 0, SIDIK_GRPC_INVALID_ARGUMENT, "enrollment_id",
                       "ENROLLMENT_ID_FORMAT");
        Sidik__V1__ChunkReceipt *x = answer_at(q, i);
        assert_string_equal(x->enrollment_id, ""); /* not echoed */
        sidik__v1__chunk_receipt__free_unpacked(x, NULL);
    }
    expect_refused(q, 3, 0, SIDIK_GRPC_INVALID_ARGUMENT, "", "TEXT_HAS_NUL");
    expect_refused(q, 4, 0, SIDIK_GRPC_INVALID_ARGUMENT, "", "MESSAGE_MALFORMED");
    expect_refused(q, 5, 0, SIDIK_GRPC_INVALID_ARGUMENT, "data", "CHUNK_TOO_LARGE");
    expect_held(q, 6, e->id, 100);
    expect_refused(q, 7, 100, SIDIK_GRPC_INVALID_ARGUMENT, "offset", "CHUNK_PAST_END");
    expect_refused(q, 8, 100, SIDIK_GRPC_INVALID_ARGUMENT, "offset", "CHUNK_PAST_END");
    free(big);
    call_free(q);
    enr_free(e);
    server_close(&s);
}

/* The assembled bytes must be what the chunks named: the same id, and the
 * canonical encoding (so content_sha256 is the hash the store keeps). */
static void test_server_chunks_assembled_must_match(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, NULL, 0);
    enr *e = enr_new(10, JKT, "station-07");
    /* A repeated station_id: valid protobuf (the last one wins), but
     * protobuf-c packs it once, so the bytes are not canonical. */
    size_t n = e->n + 12;
    uint8_t *dup = malloc(n);
    memcpy(dup, e->p, e->n);
    memcpy(dup + e->n, "\x22\x0astation-07", 12);
    uint8_t dsha[32];
    sha(dup, n, dsha);
    call *q = call_open(&s, JKT);
    call_chunk(q, e->id, dsha, 32, n, 0, dup, n);
    /* e's bytes under another id. */
    static const char other[] = "7d1c0a52-3b9e-4f61-8c2d-5a0e9f3bffff";
    call_chunk(q, other, e->sha, 32, e->n, 0, e->p, e->n);
    call_end(q);
    wait_closed(q, 3000);
    assert_int_equal(answers(q), 2);
    expect_refused(q, 0, n, SIDIK_GRPC_INVALID_ARGUMENT, "content_sha256", "NOT_CANONICAL");
    expect_refused(q, 1, e->n, SIDIK_GRPC_INVALID_ARGUMENT, "enrollment_id",
                   "ENROLLMENT_ID_MISMATCH");
    Sidik__V1__ChunkReceipt *x = answer_at(q, 1);
    assert_string_equal(x->enrollment_id, other);
    assert_int_equal(x->receipt->status, SIDIK__V1__ENROLLMENT_STATUS__REJECTED);
    sidik__v1__chunk_receipt__free_unpacked(x, NULL);
    sidik_enrollment st;
    assert_int_equal(stored(&s, e->id, &st), 0);
    assert_int_equal(stored(&s, other, &st), 0);
    free(dup);
    call_free(q);
    enr_free(e);
    server_close(&s);
}

/* Bounds: JKT at its count and byte bounds, then the total, each refused
 * RESOURCE_EXHAUSTED with its prefix kept, while BDG goes on. */
static void test_server_chunks_bounds(void **state)
{
    (void)state;
    server s = {0};
    sidik_ingest_options o = {.staging_office_count = 2,
                              .staging_office_bytes = (256 << 10) + 100, /* a: 256 KiB, b: 100 */
                              .staging_total_bytes = 384 << 10};
    server_open(&s, &o, 0);
    static uint8_t junk[64 << 10];
    uint8_t fake[32] = {1};
    const char *a = "7d1c0a52-3b9e-4f61-8c2d-5a0e9f3b0a0a",
               *b = "7d1c0a52-3b9e-4f61-8c2d-5a0e9f3b0b0b",
               *c = "7d1c0a52-3b9e-4f61-8c2d-5a0e9f3b0c0c",
               *d = "7d1c0a52-3b9e-4f61-8c2d-5a0e9f3b0d0d";
    uint64_t total = 300 << 10; /* never completes: the hash is made up */
    call *q = call_open(&s, JKT);
    call_chunk(q, a, fake, 32, total, 0, junk, sizeof junk);
    call_chunk(q, b, fake, 32, 100, 0, junk, 10);
    call_chunk(q, c, fake, 32, total, 0, junk, 10); /* a third enrollment */
    for (int i = 1; i < 4; i++)                     /* a grows to 256 KiB */
        call_chunk(q, a, fake, 32, total, (uint64_t)i * sizeof junk, junk, sizeof junk);
    call_chunk(q, a, fake, 32, total, 4 * sizeof junk, junk,
               total - 4 * sizeof junk); /* the rest */
    wait_answers(q, 7, 3000);
    assert_int_equal(answers(q), 7);
    expect_held(q, 0, a, 64 << 10);
    expect_held(q, 1, b, 10);
    expect_refused(q, 2, 0, SIDIK_GRPC_RESOURCE_EXHAUSTED, NULL, NULL);
    for (int i = 3; i < 6; i++)
        expect_held(q, i, a, (uint64_t)(i - 1) * sizeof junk);
    expect_refused(q, 6, 256 << 10, SIDIK_GRPC_RESOURCE_EXHAUSTED, NULL, NULL);
    Sidik__V1__ChunkReceipt *x = answer_at(q, 6);
    assert_non_null(strstr(x->receipt->reason, "chunk_office_bytes"));
    sidik__v1__chunk_receipt__free_unpacked(x, NULL);
    x = answer_at(q, 2);
    assert_non_null(strstr(x->receipt->reason, "chunk_office_enrollments"));
    sidik__v1__chunk_receipt__free_unpacked(x, NULL);
    assert_int_equal(metric(&s, SIDIK_M_CHUNK_STAGED_BYTES), (256 << 10) + 100);

    /* BDG is not held back by JKT's bounds: its enrollment goes in. */
    enr *e = enr_new(11, BDG, "station-02");
    call *r = call_open(&s, BDG);
    send_range(r, e, 0, e->n, 4000);
    int k = (int)((e->n + 3999) / 4000);
    wait_answers(r, k, 3000);
    expect_accepted(&s, r, k - 1, e, false);
    /* The total (384 KiB, JKT holding 256 KiB + 100): BDG may stage
     * 64 KiB more, not 128. */
    call_chunk(r, d, fake, 32, total, 0, junk, sizeof junk);
    call_chunk(r, d, fake, 32, total, sizeof junk, junk, sizeof junk);
    wait_answers(r, k + 2, 3000);
    expect_held(r, k, d, 64 << 10);
    expect_refused(r, k + 1, 64 << 10, SIDIK_GRPC_RESOURCE_EXHAUSTED, NULL, NULL);
    x = answer_at(r, k + 1);
    assert_non_null(strstr(x->receipt->reason, "chunk_total_bytes"));
    sidik__v1__chunk_receipt__free_unpacked(x, NULL);
    /* ... while JKT, within the buffer it has, still appends (b: 10 of 100). */
    call_chunk(q, b, fake, 32, 100, 10, junk, 50);
    wait_answers(q, 8, 3000);
    expect_held(q, 7, b, 60);
    call_end(q);
    call_end(r);
    wait_closed(q, 3000);
    wait_closed(r, 3000);
    call_free(q);
    call_free(r);
    enr_free(e);
    server_close(&s);
}

static void test_server_chunks_idle_expiry(void **state)
{
    (void)state;
    server s = {0};
    sidik_ingest_options o = {.staging_idle_ms = 300, .staging_office_count = 1};
    server_open(&s, &o, 0);
    enr *e = enr_new(12, JKT, "station-07"), *f = enr_new(13, JKT, "station-07");
    call *q = call_open(&s, JKT);
    send_range(q, e, 0, 2000, 1000);
    wait_answers(q, 2, 3000);
    expect_held(q, 1, e->id, 2000);
    assert_true(metric(&s, SIDIK_M_CHUNK_STAGED_BYTES) > 0);
    /* Touched, it lives on. */
    for (int i = 0; i < 3; i++) {
        usleep(100 * 1000);
        call_chunk(q, e->id, e->sha, 32, e->n, 0, NULL, 0);
        wait_answers(q, 3 + i, 3000);
        expect_held(q, 2 + i, e->id, 2000);
    }
    /* Left alone past the idle time, the loop's sweep drops it, with no
     * chunk coming to look. */
    for (int i = 0; i < 2000 && metric(&s, SIDIK_M_CHUNK_STAGED_BYTES) != 0; i++) {
        drive_once(&s);
        usleep(1000);
    }
    assert_int_equal(metric(&s, SIDIK_M_CHUNK_STAGED_BYTES), 0);
    call_chunk(q, e->id, e->sha, 32, e->n, 0, NULL, 0);
    send_range(q, f, 0, f->n, f->n); /* the office's one place is free again */
    call_end(q);
    wait_closed(q, 3000);
    assert_int_equal(answers(q), 7);
    expect_held(q, 5, e->id, 0);
    expect_accepted(&s, q, 6, f, false);
    call_free(q);
    enr_free(e);
    enr_free(f);
    server_close(&s);
}

/* A station that lost its receipt: the first chunk of a resend, data or
 * not, is answered with the original receipt, and nothing more is sent;
 * while in flight, once durable. Also for one sent with Ingest.Upload. */
static void test_server_chunks_resend(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, NULL, 0);
    enr *e = enr_new(14, JKT, "station-07");
    call *q = call_open(&s, JKT);
    send_range(q, e, 0, e->n, 3000);
    int k = (int)((e->n + 2999) / 3000);
    wait_answers(q, k, 3000);
    uint64_t seq = expect_accepted(&s, q, k - 1, e, false);
    call_chunk(q, e->id, e->sha, 32, e->n, 0, NULL, 0);
    call_chunk(q, e->id, e->sha, 32, e->n, 0, e->p, 3000);
    call_end(q);
    wait_closed(q, 3000);
    assert_int_equal(answers(q), k + 2);
    for (int i = k; i < k + 2; i++)
        assert_int_equal(expect_accepted(&s, q, i, e, true), seq);
    assert_int_equal(metric(&s, SIDIK_M_CHUNK_STAGED_BYTES), 0); /* nothing staged */
    assert_int_equal(metric(&s, SIDIK_M_ENROLLMENTS_RECEIVED), 1);

    /* In flight (not durable): the resend's answer waits for it. */
    enr *f = enr_new(15, JKT, "station-07");
    atomic_store(&hold_sync, 1);
    call *r = call_open(&s, JKT);
    send_range(r, f, 0, f->n, f->n);
    call_chunk(r, f->id, f->sha, 32, f->n, 0, NULL, 0);
    wait_answers(r, 1, 200);
    assert_int_equal(answers(r), 0);
    atomic_store(&hold_sync, 0);
    call_end(r);
    wait_closed(r, 3000);
    assert_int_equal(answers(r), 2);
    uint64_t fseq = expect_accepted(&s, r, 0, f, false);
    assert_int_equal(expect_accepted(&s, r, 1, f, true), fseq);

    /* Sent whole with Ingest.Upload, asked after with a chunk. */
    enr *g = enr_new(16, JKT, "station-07");
    call *u = call_open_path(&s, JKT, "/sidik.v1.Ingest/Upload");
    call_raw(u, g->p, g->n);
    call_end(u);
    wait_closed(u, 3000);
    uint32_t len;
    const uint8_t *p = message_at(u->r, 0, &len);
    assert_non_null(p);
    Sidik__V1__Receipt *ur = sidik__v1__receipt__unpack(NULL, len, p);
    assert_int_equal(ur->code, 0);
    call *v = call_open(&s, JKT);
    call_chunk(v, g->id, g->sha, 32, g->n, 0, NULL, 0);
    call_end(v);
    wait_closed(v, 3000);
    assert_int_equal(expect_accepted(&s, v, 0, g, true), ur->journal_seq);
    sidik__v1__receipt__free_unpacked(ur, NULL);
    call_free(u);
    call_free(v);
    enr_free(g);
    call_free(q);
    call_free(r);
    enr_free(e);
    enr_free(f);
    server_close(&s);
}

/* The same id with other content: ALREADY_EXISTS at the first chunk,
 * without the bytes; the stored enrollment is untouched. */
static void test_server_chunks_conflict(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, NULL, 0);
    enr *e = enr_new(16, JKT, "station-07"), *g = enr_new(16, JKT, "station-99");
    assert_memory_not_equal(e->sha, g->sha, 32);
    call *q = call_open(&s, JKT);
    send_range(q, e, 0, e->n, e->n);
    call_chunk(q, g->id, g->sha, 32, g->n, 0, g->p, 2000);
    call_chunk(q, g->id, g->sha, 32, g->n, 0, NULL, 0);
    call_end(q);
    wait_closed(q, 3000);
    assert_int_equal(answers(q), 3);
    uint64_t seq = expect_accepted(&s, q, 0, e, false);
    for (int i = 1; i < 3; i++) {
        expect_refused(q, i, 0, SIDIK_GRPC_ALREADY_EXISTS, NULL, NULL);
        Sidik__V1__ChunkReceipt *x = answer_at(q, i);
        assert_false(x->receipt->resend);
        assert_string_equal(x->enrollment_id, g->id);
        sidik__v1__chunk_receipt__free_unpacked(x, NULL);
    }
    sidik_enrollment st;
    assert_int_equal(stored(&s, e->id, &st), SIDIK_STATUS_RECEIVED);
    assert_int_equal(st.journal_seq, seq);
    assert_memory_equal(st.sha256, e->sha, 32);
    assert_int_equal(metric(&s, SIDIK_M_CHUNK_STAGED_BYTES), 0);
    call_free(q);
    enr_free(e);
    enr_free(g);
    server_close(&s);
}

/* While the journal is behind, completed enrollments wait for room with
 * the call paused; everything arrives in order once it catches up. A
 * journal that stops answers what it lost, held_bytes 0. */
static void test_server_chunks_journal_busy_and_stopped(void **state)
{
    (void)state;
    server s = {0};
    conn_window = 32 << 10;
    server_open(&s, NULL, 64 << 10);
    conn_window = 0;
    atomic_store(&hold_sync, 1);
    enum { N = 40 }; /* 270 KB: far more than the journal room and the windows */
    enr *e[N];
    call *q = call_open(&s, JKT);
    for (int i = 0; i < N; i++) {
        e[i] = enr_new(100 + i, JKT, "station-07");
        send_range(q, e[i], 0, e[i]->n, e[i]->n / 2 + 1);
    }
    call_end(q);
    wait_answers(q, 2, 300);
    /* The first half's answer; the rest wait behind the first receipt. */
    assert_int_equal(answers(q), 1);
    assert_true(q->off < q->len); /* held back by flow control */
    atomic_store(&hold_sync, 0);
    wait_closed(q, 10000);
    assert_string_equal(q->r->grpc_status, "0");
    assert_int_equal(answers(q), 2 * N);
    uint64_t last = 0;
    for (int i = 0; i < N; i++) {
        expect_held(q, 2 * i, e[i]->id, e[i]->n / 2 + 1);
        uint64_t seq = expect_accepted(&s, q, 2 * i + 1, e[i], false);
        assert_true(seq > last);
        last = seq;
    }
    assert_true(sidik_ingest_idle(s.ingest));

    atomic_store(&fail_sync, 1);
    enr *f = enr_new(200, JKT, "station-07");
    call *r = call_open(&s, JKT);
    send_range(r, f, 0, f->n, f->n);
    call_end(r);
    wait_closed(r, 3000);
    assert_int_equal(answers(r), 1);
    expect_refused(r, 0, 0, SIDIK_GRPC_RESOURCE_EXHAUSTED, NULL, NULL);
    sidik_enrollment st;
    assert_int_equal(stored(&s, f->id, &st), 0);
    for (int i = 0; i < N; i++)
        enr_free(e[i]);
    enr_free(f);
    call_free(q);
    call_free(r);
    server_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_chunks_whole_in_one),
        SIDIK_TEST(test_server_chunks_five_pieces),
        SIDIK_TEST(test_server_chunks_cut_and_resume),
        SIDIK_TEST(test_server_chunks_wrong_offsets),
        SIDIK_TEST(test_server_chunks_probe),
        SIDIK_TEST(test_server_chunks_hash_mismatch),
        SIDIK_TEST(test_server_chunks_total_bytes),
        SIDIK_TEST(test_server_chunks_bad_ids_and_data),
        SIDIK_TEST(test_server_chunks_assembled_must_match),
        SIDIK_TEST(test_server_chunks_bounds),
        SIDIK_TEST(test_server_chunks_idle_expiry),
        SIDIK_TEST(test_server_chunks_resend),
        SIDIK_TEST(test_server_chunks_conflict),
        SIDIK_TEST(test_server_chunks_journal_busy_and_stopped),
    };
    return cmocka_run_group_tests(tests, make_base, NULL);
}
