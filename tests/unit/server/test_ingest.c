/*
 * Ingest.Upload in memory: a stock nghttp2 client streams Enrollments to an
 * h2 connection wired to the ingest service, with a real journal and
 * control store in a scratch folder and the journal's operations held or
 * failed through its fault hook. Receipts only after durability, in
 * order; resends and conflicts; a full disk; flow-control backpressure;
 * replay into an empty control store; the journal record's parser.
 */
#include "test_support.h"

#include "../storage/storage_test.h"
#include "enrollment_fixture.h"
#include "h2_client.h"
#include "sidik/common.h"
#include "sidik/ingest.h"

#include <errno.h>
#include <stdatomic.h>
#include <uv.h>

/* ---- the journal's fault hook ------------------------------------------------ */

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

/* The control store's I/O seam: its write commits fail with this while
 * it is set (SIDIK_EFULL, -EIO). */
static atomic_int fail_commit;

static int control_fault(void *ctx)
{
    (void)ctx;
    return atomic_load(&fail_commit);
}

/* The next stage's state as the ingest asks it (sidikd: the dedup stage's
 * status); nonzero while it is paused. */
static atomic_int downstream_rc;

static int downstream(void *ctx)
{
    (void)ctx;
    return atomic_load(&downstream_rc);
}

static int64_t test_now_ms(void)
{
    return NOW_MS;
}

/* ---- one server: loop, stores, ingest, an h2 connection -------------------------- */

typedef struct server {
    char *dir;
    uv_loop_t loop;
    sidik_control *control;
    sidik_ingest *ingest;
    sidik_ingest_port *port;
    sidik_h2_conn *conn;
    nghttp2_session *client;
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
static const sidik_identity jkt = {SIDIK_ROLE_OFFICE, "JKT-01"};

static void open_stores(server *s, size_t max_pending, size_t call_window, uint64_t *replayed)
{
    char path[600];
    snprintf(path, sizeof path, "%s/control", s->dir);
    sidik_control_options co = {.fault = control_fault};
    assert_int_equal(sidik_control_open(path, &co, &s->control, NULL), 0);
    snprintf(path, sizeof path, "%s/journal", s->dir);
    sidik_ingest_options o = {.journal_dir = path,
                              .journal = {.max_pending_bytes = max_pending, .fault = journal_fault},
                              .control = s->control,
                              .call_window_bytes = call_window,
                              .now_ms = test_now_ms,
                              .downstream = downstream};
    const char *why = NULL;
    int rc = sidik_ingest_open(&o, &s->ingest, replayed, &why);
    if (rc != 0)
        fail_msg("ingest open: %s (%s)", sidik_err_name(rc), why ? why : "");
    assert_int_equal(sidik_ingest_port_open(s->ingest, &s->loop, &s->port), 0);
}

static void close_stores(server *s)
{
    sidik_ingest_port_close(s->port, NULL, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT); /* the port's handle closes */
    assert_int_equal(uv_loop_close(&s->loop), 0);
    sidik_ingest_close(s->ingest);
    sidik_control_close(s->control);
}

static void server_open(server *s, size_t max_pending, size_t call_window, uint32_t window)
{
    atomic_store(&hold_sync, 0);
    atomic_store(&fail_sync, 0);
    atomic_store(&fail_commit, 0);
    atomic_store(&downstream_rc, 0);
    if (s->dir == NULL)
        assert_non_null(s->dir = scratch_create());
    assert_int_equal(uv_loop_init(&s->loop), 0);
    open_stores(s, max_pending, call_window, NULL);
    sidik_h2_options ho = {.window_bytes = window};
    assert_int_equal(sidik_h2_conn_create(&ho, &jkt, &ingest_cb, s, &s->conn), 0);
    s->client = client_new();
}

static void server_close(server *s, bool keep_dir)
{
    atomic_store(&hold_sync, 0);
    nghttp2_session_del(s->client);
    sidik_h2_conn_destroy(s->conn);
    close_stores(s);
    if (!keep_dir) {
        scratch_remove(s->dir);
        s->dir = NULL;
    }
}

/* Pumps bytes and runs the loop (durable points arrive from the journal's
 * thread) until r closes or ms pass. */
static void drive(server *s, const reply *r, int ms)
{
    for (int i = 0; i < ms * 2 && !(r != NULL && r->closed); i++) {
        pump(s->client, s->conn);
        uv_run(&s->loop, UV_RUN_NOWAIT);
        pump(s->client, s->conn);
        usleep(500);
    }
}

/* ---- requests and receipts ------------------------------------------------------------ */

/* Enrollment number i of the fixture person: its own id and station. */
static uint8_t *enrollment_bytes(int i, const char *station, size_t *len)
{
    fixture *x = copy();
    snprintf(x->id, sizeof x->id, "0b6f2c1e-8d3a-4c55-9a57-2f4e1b9d%04x", i);
    x->e.station_id = (char *)station;
    *len = sidik__v1__enrollment__get_packed_size(&x->e);
    uint8_t *p = malloc(*len);
    sidik__v1__enrollment__pack(&x->e, p);
    free(x);
    return p;
}

typedef struct upload_req {
    request q;
    reply *r;
} upload_req;

/* Opens an Upload carrying the enrollments numbered ids[0..n). */
static upload_req *upload_start(server *s, const int *ids, size_t n, const char *station)
{
    const char *msgs[64];
    size_t lens[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        msgs[i] = (const char *)enrollment_bytes(ids[i], station, &lens[i]);
    upload_req *u = calloc(1, sizeof *u);
    u->q = frame(msgs, lens, n, 0);
    for (size_t i = 0; i < n; i++)
        free((void *)msgs[i]);
    u->r = calloc(1, sizeof *u->r);
    nghttp2_nv nva[] = {NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "localhost"),
                        NV(":path", "/sidik.v1.Ingest/Upload"), NV("content-type", "application/grpc"),
                        NV("te", "trailers")};
    nghttp2_data_provider dp = {.source.ptr = &u->q, .read_callback = cl_read};
    assert_true(nghttp2_submit_request(s->client, NULL, nva, 6, &dp, u->r) > 0);
    return u;
}

static void upload_free(upload_req *u)
{
    free(u->q.body);
    free(u->r);
    free(u);
}

static int receipts(const reply *r)
{
    int n = 0;
    uint32_t len;
    while (message_at(r, n, &len) != NULL)
        n++;
    return n;
}

/* Receipt i of r (free with sidik__v1__receipt__free_unpacked(x, NULL)). */
static Sidik__V1__Receipt *receipt_at(const reply *r, int i)
{
    uint32_t len;
    const uint8_t *p = message_at(r, i, &len);
    assert_non_null(p);
    Sidik__V1__Receipt *x = sidik__v1__receipt__unpack(NULL, len, p);
    assert_non_null(x);
    return x;
}

static sidik_status stored_status(server *s, int i, sidik_enrollment *e)
{
    char id[40];
    snprintf(id, sizeof id, "0b6f2c1e-8d3a-4c55-9a57-2f4e1b9d%04x", i);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(s->control, false, &t), 0);
    int rc = sidik_control_enroll_get(t, id, e);
    sidik_control_abort(t);
    return rc == 0 ? e->status : 0;
}

/* ---- the tests ------------------------------------------------------------------------- */

static void test_server_ingest_receipt_only_when_durable(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, 0, 0, 0);
    atomic_store(&hold_sync, 1);
    upload_req *u = upload_start(&s, (int[]){1, 2, 3}, 3, "station-07");
    drive(&s, u->r, 200);
    assert_int_equal(receipts(u->r), 0); /* accepted, journaled, not durable: silent */
    assert_int_equal(sidik_ingest_in_flight(s.ingest), 3);
    sidik_enrollment e;
    assert_int_equal(stored_status(&s, 1, &e), 0);

    atomic_store(&hold_sync, 0);
    drive(&s, u->r, 3000);
    assert_true(u->r->closed);
    assert_string_equal(u->r->grpc_status, "0");
    assert_int_equal(receipts(u->r), 3);
    uint64_t last = 0;
    for (int i = 0; i < 3; i++) {
        Sidik__V1__Receipt *x = receipt_at(u->r, i);
        char id[40];
        snprintf(id, sizeof id, "0b6f2c1e-8d3a-4c55-9a57-2f4e1b9d%04x", i + 1);
        assert_string_equal(x->enrollment_id, id); /* in the order sent */
        assert_int_equal(x->code, 0);
        assert_int_equal(x->status, SIDIK__V1__ENROLLMENT_STATUS__RECEIVED);
        assert_int_equal(x->received_time_ms, NOW_MS);
        assert_int_equal(x->content_sha256.len, 32);
        assert_false(x->resend);
        assert_true(x->journal_seq > last);
        last = x->journal_seq;
        /* Recorded before it was answered, with the same facts. */
        assert_int_equal(stored_status(&s, i + 1, &e), SIDIK_STATUS_RECEIVED);
        assert_int_equal(e.journal_seq, x->journal_seq);
        assert_memory_equal(e.sha256, x->content_sha256.data, 32);
        assert_string_equal(e.office, "JKT-01");
        assert_string_equal(e.nik, "3171016505900001");
        sidik__v1__receipt__free_unpacked(x, NULL);
    }
    assert_int_equal(sidik_ingest_in_flight(s.ingest), 0);
    sidik_control_txn *t;
    uint64_t applied = 0;
    assert_int_equal(sidik_control_begin(s.control, false, &t), 0);
    assert_int_equal(sidik_control_applied(t, &applied), 0);
    sidik_control_abort(t);
    assert_int_equal(applied, last);
    upload_free(u);
    server_close(&s, false);
}

static void test_server_ingest_resend_and_conflict(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, 0, 0, 0);
    /* The same enrollment twice in flight: one journal entry, two receipts. */
    atomic_store(&hold_sync, 1);
    upload_req *u = upload_start(&s, (int[]){7, 7}, 2, "station-07");
    drive(&s, u->r, 100);
    assert_int_equal(sidik_ingest_in_flight(s.ingest), 1);
    atomic_store(&hold_sync, 0);
    drive(&s, u->r, 3000);
    assert_int_equal(receipts(u->r), 2);
    Sidik__V1__Receipt *a = receipt_at(u->r, 0), *b = receipt_at(u->r, 1);
    assert_false(a->resend);
    assert_true(b->resend);
    assert_int_equal(a->journal_seq, b->journal_seq);

    /* Once recorded: a resend is answered from the store, at once; the
     * same id with other content is ALREADY_EXISTS and stores nothing. */
    upload_req *v = upload_start(&s, (int[]){7}, 1, "station-07");
    upload_req *w = upload_start(&s, (int[]){7}, 1, "station-99");
    drive(&s, w->r, 3000);
    drive(&s, v->r, 3000);
    Sidik__V1__Receipt *c = receipt_at(v->r, 0), *d = receipt_at(w->r, 0);
    assert_true(c->resend);
    assert_int_equal(c->code, 0);
    assert_int_equal(c->journal_seq, a->journal_seq);
    assert_int_equal(c->received_time_ms, a->received_time_ms);
    assert_int_equal(d->code, SIDIK_GRPC_ALREADY_EXISTS);
    assert_false(d->resend);
    assert_int_equal(d->journal_seq, 0);
    sidik_enrollment e;
    assert_int_equal(stored_status(&s, 7, &e), SIDIK_STATUS_RECEIVED);
    assert_memory_equal(e.sha256, a->content_sha256.data, 32);
    sidik__v1__receipt__free_unpacked(a, NULL);
    sidik__v1__receipt__free_unpacked(b, NULL);
    sidik__v1__receipt__free_unpacked(c, NULL);
    sidik__v1__receipt__free_unpacked(d, NULL);
    upload_free(u);
    upload_free(v);
    upload_free(w);
    server_close(&s, false);
}

static void test_server_ingest_disk_full(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, 0, 0, 0);
    upload_req *u = upload_start(&s, (int[]){1}, 1, "station-07");
    drive(&s, u->r, 3000);
    Sidik__V1__Receipt *ok = receipt_at(u->r, 0);
    assert_int_equal(ok->code, 0);

    /* The next sync fails: the journal stops; what it held is answered
     * RESOURCE_EXHAUSTED, and so is everything after. */
    atomic_store(&fail_sync, 1);
    upload_req *v = upload_start(&s, (int[]){2, 3}, 2, "station-07");
    drive(&s, v->r, 3000);
    assert_true(v->r->closed);
    assert_string_equal(v->r->grpc_status, "0");
    assert_int_equal(receipts(v->r), 2);
    for (int i = 0; i < 2; i++) {
        Sidik__V1__Receipt *x = receipt_at(v->r, i);
        assert_int_equal(x->code, SIDIK_GRPC_RESOURCE_EXHAUSTED);
        assert_non_null(strstr(x->reason, "disk is full"));
        assert_int_equal(x->journal_seq, 0);
        sidik__v1__receipt__free_unpacked(x, NULL);
    }
    upload_req *w = upload_start(&s, (int[]){4}, 1, "station-07");
    drive(&s, w->r, 3000);
    Sidik__V1__Receipt *x = receipt_at(w->r, 0);
    assert_int_equal(x->code, SIDIK_GRPC_RESOURCE_EXHAUSTED);
    sidik__v1__receipt__free_unpacked(x, NULL);
    /* Nothing of the refused is stored; the acknowledged one stays. */
    sidik_enrollment e;
    assert_int_equal(stored_status(&s, 1, &e), SIDIK_STATUS_RECEIVED);
    for (int i = 2; i <= 4; i++)
        assert_int_equal(stored_status(&s, i, &e), 0);
    assert_int_equal(sidik_ingest_in_flight(s.ingest), 0);
    sidik__v1__receipt__free_unpacked(ok, NULL);
    upload_free(u);
    upload_free(v);
    upload_free(w);
    server_close(&s, false);
}

/* One upload's single receipt (the caller frees it). */
static Sidik__V1__Receipt *upload_one(server *s, int id, upload_req **keep)
{
    *keep = upload_start(s, (int[]){id}, 1, "station-07");
    drive(s, (*keep)->r, 3000);
    if (receipts((*keep)->r) != 1)
        fail_msg("upload %d: %d receipts, closed %d, grpc-status %s", id, receipts((*keep)->r),
                 (*keep)->r->closed, (*keep)->r->grpc_status);
    return receipt_at((*keep)->r, 0);
}

/* Uploads enrollment id, which must be refused with code, a reason holding
 * text (and also_text, when not NULL), and no journal sequence (kept
 * nowhere). */
static void upload_refused(server *s, int id, upload_req **keep, int code, const char *text,
                           const char *also_text)
{
    Sidik__V1__Receipt *x = upload_one(s, id, keep);
    assert_int_equal(x->code, code);
    assert_non_null(strstr(x->reason, text));
    if (also_text != NULL)
        assert_non_null(strstr(x->reason, also_text));
    assert_int_equal(x->journal_seq, 0);
    sidik__v1__receipt__free_unpacked(x, NULL);
}

/* The control store's disk fails under the ingest (its I/O seam): what the
 * journal already holds waits for its record and is answered once the
 * store works again, with no upload needed to trigger it; new enrollments
 * are refused meanwhile with a status that says so and kept nowhere; the
 * first one after the store recovers is taken. */
static void test_server_ingest_control_store_fails(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, 0, 0, 0);
    upload_req *u[5];
    Sidik__V1__Receipt *x = upload_one(&s, 1, &u[0]);
    assert_int_equal(x->code, 0);
    sidik__v1__receipt__free_unpacked(x, NULL);
    sidik_enrollment e;
    assert_int_equal(stored_status(&s, 1, &e), SIDIK_STATUS_RECEIVED);

    /* Durable in the journal but not recorded, so not yet acknowledged:
     * its receipt waits for the store. */
    atomic_store(&fail_commit, -EIO);
    u[1] = upload_start(&s, (int[]){2}, 1, "station-07");
    drive(&s, u[1]->r, 300);
    assert_int_equal(receipts(u[1]->r), 0);
    assert_int_equal(stored_status(&s, 2, &e), 0);
    assert_int_equal(sidik_ingest_in_flight(s.ingest), 1);

    /* New work refused, saying why; nothing of it journaled. */
    upload_refused(&s, 3, &u[2], SIDIK_GRPC_UNAVAILABLE, "cannot record enrollments",
                   "nothing acknowledged is lost");
    atomic_store(&fail_commit, SIDIK_EFULL);
    upload_refused(&s, 4, &u[3], SIDIK_GRPC_RESOURCE_EXHAUSTED, "control store disk is full", NULL);

    /* The disk is back: the held one is recorded and answered by the
     * retry timer alone, and the next upload is taken. */
    atomic_store(&fail_commit, 0);
    drive(&s, u[1]->r, 3000);
    assert_int_equal(receipts(u[1]->r), 1);
    x = receipt_at(u[1]->r, 0);
    assert_int_equal(x->code, 0);
    assert_true(x->journal_seq > 0);
    sidik__v1__receipt__free_unpacked(x, NULL);
    x = upload_one(&s, 5, &u[4]);
    assert_int_equal(x->code, 0);
    sidik__v1__receipt__free_unpacked(x, NULL);
    assert_int_equal(stored_status(&s, 2, &e), SIDIK_STATUS_RECEIVED);
    assert_int_equal(stored_status(&s, 5, &e), SIDIK_STATUS_RECEIVED);
    assert_int_equal(stored_status(&s, 3, &e), 0);
    assert_int_equal(stored_status(&s, 4, &e), 0);
    assert_int_equal(sidik_ingest_in_flight(s.ingest), 0);
    for (int i = 0; i < 5; i++)
        upload_free(u[i]);
    server_close(&s, false);
}

/* The dedup stage paused (its gallery disk full or failing): new
 * enrollments are refused with a status that says so and kept nowhere; a
 * resend of one already received still gets its receipt; once the stage
 * works again the next upload is taken. */
static void test_server_ingest_refused_while_dedup_paused(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, 0, 0, 0);
    upload_req *u[5];
    Sidik__V1__Receipt *x = upload_one(&s, 1, &u[0]);
    assert_int_equal(x->code, 0);
    uint64_t first_seq = x->journal_seq;
    sidik__v1__receipt__free_unpacked(x, NULL);

    atomic_store(&downstream_rc, SIDIK_EFULL);
    upload_refused(&s, 2, &u[1], SIDIK_GRPC_RESOURCE_EXHAUSTED, "gallery disk is full",
                   "nothing acknowledged is lost");
    atomic_store(&downstream_rc, -EIO);
    upload_refused(&s, 3, &u[2], SIDIK_GRPC_UNAVAILABLE, "cannot deduplicate", NULL);
    x = upload_one(&s, 1, &u[3]); /* a resend: answered from the store */
    assert_int_equal(x->code, 0);
    assert_int_equal(x->journal_seq, first_seq);
    sidik__v1__receipt__free_unpacked(x, NULL);

    atomic_store(&downstream_rc, 0);
    x = upload_one(&s, 2, &u[4]);
    assert_int_equal(x->code, 0);
    assert_true(x->journal_seq > first_seq);
    sidik__v1__receipt__free_unpacked(x, NULL);
    sidik_enrollment e;
    assert_int_equal(stored_status(&s, 2, &e), SIDIK_STATUS_RECEIVED);
    assert_int_equal(stored_status(&s, 3, &e), 0);
    for (int i = 0; i < 5; i++)
        upload_free(u[i]);
    server_close(&s, false);
}

/* While the journal is behind, the office is stopped by HTTP/2 flow
 * control: the server takes at most a window's worth, and everything
 * arrives once the journal catches up. */
static void test_server_ingest_backpressure(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, 64 << 10, 16 << 10, 64 << 10);
    atomic_store(&hold_sync, 1);
    int ids[48];
    for (int i = 0; i < 48; i++)
        ids[i] = 100 + i;
    upload_req *u = upload_start(&s, ids, 48, "station-07");
    drive(&s, u->r, 300);
    assert_true(u->q.len > 4 * (64u << 10)); /* far more than the windows */
    /* The client is stuck: it sent at most the stream window (64 KiB),
     * plus what nghttp2 had already framed. */
    assert_true(u->q.off < u->q.len);
    assert_true(u->q.off <= (64u << 10) + 16384);
    assert_int_equal(receipts(u->r), 0);

    atomic_store(&hold_sync, 0);
    drive(&s, u->r, 10000);
    assert_true(u->r->closed);
    assert_string_equal(u->r->grpc_status, "0");
    assert_int_equal(u->q.off, u->q.len);
    assert_int_equal(receipts(u->r), 48);
    uint64_t last = 0;
    for (int i = 0; i < 48; i++) {
        Sidik__V1__Receipt *x = receipt_at(u->r, i);
        assert_int_equal(x->code, 0);
        assert_true(x->journal_seq > last);
        last = x->journal_seq;
        sidik__v1__receipt__free_unpacked(x, NULL);
    }
    upload_free(u);
    server_close(&s, false);
}

/* A control store that lost what the journal holds (a crash between the
 * journal sync and the control commit, taken to the extreme) gets it all
 * back at open, with the original times. */
static void test_server_ingest_replay(void **state)
{
    (void)state;
    server s = {0};
    server_open(&s, 0, 0, 0);
    upload_req *u = upload_start(&s, (int[]){1, 2, 3}, 3, "station-07");
    drive(&s, u->r, 3000);
    assert_int_equal(receipts(u->r), 3);
    upload_free(u);
    server_close(&s, true);

    char path[600];
    snprintf(path, sizeof path, "%s/control", s.dir);
    char *ctl = strdup(path);
    scratch_remove(ctl); /* frees ctl */
    assert_int_equal(uv_loop_init(&s.loop), 0);
    uint64_t replayed = 0;
    open_stores(&s, 0, 0, &replayed);
    assert_int_equal(replayed, 3);
    sidik_enrollment e;
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(stored_status(&s, i, &e), SIDIK_STATUS_RECEIVED);
        assert_int_equal(e.history[0].time_ms, NOW_MS);
    }
    close_stores(&s);

    /* Opening again replays nothing: the applied point moved. */
    assert_int_equal(uv_loop_init(&s.loop), 0);
    open_stores(&s, 0, 0, &replayed);
    assert_int_equal(replayed, 0);
    close_stores(&s);

    /* A journal entry of kind 1 that is not an enrollment record: the
     * store refuses to open rather than skip what was acknowledged. */
    snprintf(path, sizeof path, "%s/journal", s.dir);
    sidik_journal *j;
    assert_int_equal(sidik_journal_open(path, NULL, &j, NULL), 0);
    uint64_t seq;
    assert_int_equal(sidik_journal_append(j, SIDIK_JOURNAL_KIND_ENROLLMENT, "junk", 4, &seq), 0);
    assert_int_equal(sidik_journal_wait(j, seq), 0);
    assert_int_equal(sidik_journal_close(j), 0);
    snprintf(path, sizeof path, "%s/control", s.dir);
    assert_int_equal(sidik_control_open(path, NULL, &s.control, NULL), 0);
    snprintf(path, sizeof path, "%s/journal", s.dir);
    sidik_ingest_options o = {.journal_dir = path, .control = s.control};
    const char *why = NULL;
    assert_int_equal(sidik_ingest_open(&o, &s.ingest, &replayed, &why), SIDIK_ECORRUPT);
    assert_non_null(why);
    sidik_control_close(s.control);
    scratch_remove(s.dir);
}

static void test_server_ingest_record_parse(void **state)
{
    (void)state;
    sidik_ingest_record r = {.received_ms = -5, .enrollment = (const uint8_t *)"xyz", .enrollment_len = 3};
    memset(r.sha256, 0xab, 32);
    uint8_t buf[SIDIK_INGEST_RECORD_HEADER + 3];
    sidik_ingest_record_header(&r, buf);
    memcpy(buf + SIDIK_INGEST_RECORD_HEADER, "xyz", 3);
    sidik_ingest_record back;
    assert_int_equal(sidik_ingest_record_parse(buf, sizeof buf, &back), 0);
    assert_int_equal(back.received_ms, -5);
    assert_memory_equal(back.sha256, r.sha256, 32);
    assert_int_equal(back.enrollment_len, 3);
    assert_memory_equal(back.enrollment, "xyz", 3);
    for (size_t n = 0; n < SIDIK_INGEST_RECORD_HEADER; n++)
        assert_int_equal(sidik_ingest_record_parse(buf, n, &back), SIDIK_ETRUNCATED);
    assert_int_equal(sidik_ingest_record_parse(NULL, 100, &back), SIDIK_ETRUNCATED);
    buf[0] = 2;
    assert_int_equal(sidik_ingest_record_parse(buf, sizeof buf, &back), SIDIK_EVERSION);
    buf[0] = 1;
    buf[5] = 1;
    assert_int_equal(sidik_ingest_record_parse(buf, sizeof buf, &back), SIDIK_EFORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_ingest_receipt_only_when_durable),
        SIDIK_TEST(test_server_ingest_resend_and_conflict),
        SIDIK_TEST(test_server_ingest_disk_full),
        SIDIK_TEST(test_server_ingest_control_store_fails),
        SIDIK_TEST(test_server_ingest_refused_while_dedup_paused),
        SIDIK_TEST(test_server_ingest_backpressure),
        SIDIK_TEST(test_server_ingest_replay),
        SIDIK_TEST(test_server_ingest_record_parse),
    };
    return cmocka_run_group_tests(tests, make_base, NULL);
}
