/*
 * The Admin service against real stores in a scratch folder, without
 * sockets: ListShards and AddShard over a real shard set (the add audited
 * with the caller); Stats against a fixture with known counts (persons,
 * the dedup, review and print queues) and, over a real dedup stage on a
 * test clock, the rate over the last minute and the capacity from the
 * stage's busy time; GetConfig with every key of the table; hostile
 * requests and other roles refused with their exact errors; Rebalance on
 * a libuv loop of the test's own: 2,000 records in one of three shards,
 * progress monotonic to done with moved == total and every record in
 * exactly one shard; a cancelled one and one stopped by the service's
 * destruction leave every record in exactly one shard; a second one while
 * one runs is refused naming who started it.
 */
#include "test_support.h"

#include "../storage/people.h"
#include "enrollment_fixture.h"
#include "sidik.pb-c.h"
#include "sidik/admin_service.h"
#include "sidik/common.h"
#include "sidik/ingest.h"
#include "sidik/workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define SEED 5151

static const sidik_identity admin = {SIDIK_ROLE_ADMIN, "siti"};
static const sidik_identity office = {SIDIK_ROLE_OFFICE, "JKT-01"};
static const sidik_identity auditor = {SIDIK_ROLE_AUDITOR, "auditor.dewi"};
static const sidik_identity printer = {SIDIK_ROLE_PRINTER, "31.71"};

static sidik_fusion *fusion;
static sidik_synth_params params;

static int64_t clock_ns;
static int64_t test_now_ns(void)
{
    return clock_ns;
}
static int64_t test_now_ms(void)
{
    return NOW_MS;
}

typedef struct rig {
    char *dir;
    sidik_control *control;
    sidik_shardset *shards;
    sidik_journal *journal; /* with a dedup stage only */
    sidik_workers *workers;
    sidik_dedup *dedup;
    sidik_config cfg;
    sidik_admin *admin;
    char why[256];
} rig;

/* The gallery shards' I/O seam: their writes fail with this while set. */
static atomic_int fail_shards;

static int shard_fault(void *ctx)
{
    (void)ctx;
    return atomic_load(&fail_shards);
}

static void rig_open(rig *r, bool with_dedup, const sidik_admin_options *extra)
{
    atomic_store(&fail_shards, 0);
    r->dir = scratch_create();
    assert_non_null(r->dir);
    char path[600];
    snprintf(path, sizeof path, "%s/control", r->dir);
    assert_int_equal(sidik_control_open(path, NULL, &r->control, NULL), 0);
    snprintf(path, sizeof path, "%s/gallery", r->dir);
    sidik_shardset_options so = {.fault = shard_fault};
    assert_int_equal(sidik_shardset_open(path, r->control, &so, &r->shards, NULL), 0);
    sidik_config_defaults(&r->cfg);
    snprintf(r->cfg.data_dir, sizeof r->cfg.data_dir, "%s", r->dir);
    r->cfg.io_threads = 3;
    if (with_dedup) {
        /* Five persons migrated from an earlier system: loaded by the stage. */
        sidik_shard_record rec[5];
        for (uint64_t i = 0; i < 5; i++)
            rec[i] = person_record(SIDIK_RECORD_MIGRATED_FIRST + i);
        assert_int_equal(sidik_shardset_put(r->shards, rec, 5, NULL), 0);
        snprintf(path, sizeof path, "%s/journal", r->dir);
        assert_int_equal(sidik_journal_open(path, NULL, &r->journal, NULL), 0);
        assert_int_equal(sidik_workers_create(2, &r->workers), 0);
        sidik_dedup_options o = {.control = r->control,
                                 .journal = r->journal,
                                 .shards = r->shards,
                                 .fusion = fusion,
                                 .pool = sidik_workers_pool(r->workers),
                                 .partitions = 2,
                                 .now_ms = test_now_ms};
        const char *why = NULL;
        assert_int_equal(sidik_dedup_open(&o, &r->dedup, &why), 0);
    }
    sidik_admin_options o = extra != NULL ? *extra : (sidik_admin_options){0};
    o.control = r->control;
    o.shards = r->shards;
    o.dedup = r->dedup;
    o.config = &r->cfg;
    o.now_ms = test_now_ms;
    assert_int_equal(sidik_admin_create(&o, &r->admin), 0);
}

static void rig_close(rig *r)
{
    sidik_admin_destroy(r->admin);
    sidik_dedup_close(r->dedup);
    sidik_workers_destroy(r->workers);
    sidik_journal_close(r->journal);
    sidik_shardset_close(r->shards);
    sidik_control_close(r->control);
    scratch_remove(r->dir);
}

/* Records first..first+n-1 into the set (the emptiest shard each batch). */
static void fill(rig *r, uint64_t first, uint64_t n)
{
    sidik_shard_record rec[100];
    for (uint64_t at = first; at < first + n; at += 100) {
        size_t m = 0;
        for (uint64_t id = at; id < first + n && m < 100; id++)
            rec[m++] = person_record(id);
        assert_int_equal(sidik_shardset_put(r->shards, rec, m, NULL), 0);
    }
}

/* One unary call; its answer unpacked as d (free with protobuf_c_message_free_unpacked). */
static int call(rig *r, sidik_method m, const sidik_identity *who, const void *p, size_t n,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **answer)
{
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = sidik_admin_answer(r->admin, m, who, p, n, &out, &len, r->why, sizeof r->why);
    if (rc == 0) {
        assert_non_null(out);
        *answer = protobuf_c_message_unpack(d, NULL, len, out);
        assert_non_null(*answer);
    } else {
        assert_null(out);
        assert_true(r->why[0] != 0); /* every refusal says why */
    }
    sidik_free(out);
    return rc;
}

static Sidik__V1__ListShardsResponse *list(rig *r)
{
    ProtobufCMessage *m;
    assert_int_equal(call(r, SIDIK_METHOD_ADMIN_LIST_SHARDS, &admin, "", 0,
                          &sidik__v1__list_shards_response__descriptor, &m),
                     0);
    return (Sidik__V1__ListShardsResponse *)m;
}

static Sidik__V1__StatsResponse *stats(rig *r)
{
    ProtobufCMessage *m;
    assert_int_equal(call(r, SIDIK_METHOD_ADMIN_STATS, &admin, "", 0,
                          &sidik__v1__stats_response__descriptor, &m),
                     0);
    return (Sidik__V1__StatsResponse *)m;
}

/* The audit log's entries from `from` on; *n gets how many. */
static uint64_t audit_count(rig *r, uint64_t from, sidik_audit_entry *out, uint64_t cap)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(r->control, false, &t), 0);
    uint64_t n = 0;
    for (uint64_t seq = from;; seq++) {
        sidik_audit_entry e;
        int rc = sidik_control_audit_get(t, seq, &e);
        if (rc == SIDIK_ENOTFOUND)
            break;
        assert_int_equal(rc, 0);
        if (n < cap)
            out[n] = e;
        n++;
    }
    uint64_t checked, bad;
    assert_int_equal(sidik_control_audit_verify(t, &checked, &bad), 0);
    sidik_control_abort(t);
    return n;
}

/* Every record first..first+n-1 named by the directory in exactly one
 * shard, found there, and no shard holding a copy more. */
static void assert_each_once(rig *r, uint64_t n)
{
    Sidik__V1__ListShardsResponse *l = list(r);
    uint64_t stored = 0;
    for (size_t i = 0; i < l->n_shards; i++)
        stored += l->shards[i]->records;
    protobuf_c_message_free_unpacked(&l->base, NULL);
    assert_int_equal(stored, n);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(r->control, false, &t), 0);
    sidik_fmr *f = malloc(sizeof *f);
    for (uint64_t id = 1; id <= n; id++) {
        uint32_t shard;
        assert_int_equal(sidik_control_dir_get(t, id, &shard), 0);
        assert_int_equal(sidik_shardset_fetch(r->shards, id, f), 0);
    }
    free(f);
    sidik_control_abort(t);
}

/* ---- ListShards and AddShard ------------------------------------------------------------- */

static void test_server_admin_list_and_add(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, false, NULL);
    Sidik__V1__ListShardsResponse *l = list(&r);
    assert_int_equal(l->n_shards, 1);
    assert_int_equal(l->shards[0]->id, 0);
    assert_int_equal(l->shards[0]->records, 0);
    assert_string_equal(l->shards[0]->state, "active");
    protobuf_c_message_free_unpacked(&l->base, NULL);

    fill(&r, 1, 10);
    ProtobufCMessage *m;
    assert_int_equal(
        call(&r, SIDIK_METHOD_ADMIN_ADD_SHARD, &admin, "", 0, &sidik__v1__shard__descriptor, &m),
        0);
    Sidik__V1__Shard *s = (Sidik__V1__Shard *)m;
    assert_int_equal(s->id, 1);
    assert_int_equal(s->records, 0);
    assert_string_equal(s->state, "active");
    protobuf_c_message_free_unpacked(m, NULL);

    l = list(&r);
    assert_int_equal(l->n_shards, 2);
    assert_int_equal(l->shards[0]->id, 0);
    assert_int_equal(l->shards[0]->records, 10);
    assert_true(l->shards[0]->bytes > l->shards[1]->bytes);
    assert_int_equal(l->shards[1]->id, 1);
    assert_int_equal(l->shards[1]->records, 0);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    /* Audited with the caller's certificate name. */
    sidik_audit_entry e[4];
    assert_int_equal(audit_count(&r, 1, e, 4), 1);
    assert_int_equal(e[0].kind, SIDIK_AUDIT_ADMIN);
    assert_string_equal(e[0].actor, "admin:siti");
    assert_string_equal(e[0].subject, "shard 1");
    assert_string_equal(e[0].detail, "shard added (shard-0001, empty); the node has 2 shards");
    assert_int_equal(e[0].time_ms, NOW_MS);

    /* New records go to the new, emptiest shard. */
    fill(&r, 11, 3);
    l = list(&r);
    assert_int_equal(l->shards[1]->records, 3);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    rig_close(&r);
}

/* ---- Stats ---------------------------------------------------------------------------------- */

/* Enrollment e<seq> of office, RECEIVED as journal sequence seq. */
static void received(sidik_control_txn *t, uint64_t seq, const char *office_code)
{
    sidik_enrollment e = {.status = SIDIK_STATUS_RECEIVED, .journal_seq = seq, .nhistory = 1};
    snprintf(e.id, sizeof e.id, "e%llu", (unsigned long long)seq);
    snprintf(e.office, sizeof e.office, "%s", office_code);
    snprintf(e.nik, sizeof e.nik, "31710125059%05llu", (unsigned long long)seq);
    e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, NOW_MS - 5000};
    assert_int_equal(sidik_control_enroll_put(t, &e), 0);
    assert_int_equal(sidik_control_set_applied(t, seq), 0);
}

static void test_server_admin_stats_counts(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, false, NULL);
    fill(&r, 1, 10);
    /* Seven received over three offices; five decided: two PRINT_READY on
     * the print queue (one of them leased to a station), two ADJUDICATE
     * in two offices, one DUPLICATE; two still waiting for the stage. */
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(r.control, true, &t), 0);
    const char *offices[] = {"JKT-01", "JKT-01", "JKT-01", "BDG-02", "BDG-02", "SBY-03", "BDG-02"};
    for (uint64_t seq = 1; seq <= 7; seq++)
        received(t, seq, offices[seq - 1]);
    assert_int_equal(sidik_control_enroll_status(t, "e1", SIDIK_STATUS_PRINT_READY, NOW_MS, 1), 0);
    assert_int_equal(sidik_control_enroll_status(t, "e2", SIDIK_STATUS_PRINT_READY, NOW_MS, 2), 0);
    assert_int_equal(sidik_control_print_enqueue(t, "e1", "31.71"), 0);
    assert_int_equal(sidik_control_print_enqueue(t, "e2", "31.71"), 0);
    assert_int_equal(sidik_control_enroll_status(t, "e3", SIDIK_STATUS_ADJUDICATE, NOW_MS, 0), 0);
    assert_int_equal(sidik_control_enroll_status(t, "e4", SIDIK_STATUS_ADJUDICATE, NOW_MS, 0), 0);
    assert_int_equal(sidik_control_enroll_status(t, "e5", SIDIK_STATUS_DUPLICATE, NOW_MS, 0), 0);
    assert_int_equal(sidik_control_set_decided(t, 5), 0);
    sidik_enroll_id leased[1];
    uint32_t got;
    assert_int_equal(sidik_control_print_lease(t, "31.71", "31.71", NOW_MS, 60000, 1, leased, &got),
                     0);
    assert_int_equal(got, 1);
    assert_int_equal(sidik_control_commit(t), 0);

    Sidik__V1__StatsResponse *s = stats(&r);
    assert_int_equal(s->gallery_persons, 10); /* no dedup stage: the shards' records */
    assert_int_equal(s->dedup_queue, 2);
    assert_int_equal(s->review_queue, 2);
    assert_int_equal(s->print_queue, 1); /* waiting; the leased one is at a station */
    assert_true(s->decided_per_second == 0 && s->capacity_per_day == 0);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* The counts follow the statuses: one review decided, one card acknowledged. */
    assert_int_equal(sidik_control_begin(r.control, true, &t), 0);
    assert_int_equal(sidik_control_enroll_status(t, "e4", SIDIK_STATUS_DUPLICATE, NOW_MS, 0), 0);
    assert_int_equal(sidik_control_enroll_status(t, "e6", SIDIK_STATUS_ADJUDICATE, NOW_MS, 0), 0);
    assert_int_equal(sidik_control_enroll_status(t, "e7", SIDIK_STATUS_ADJUDICATE, NOW_MS, 0), 0);
    assert_int_equal(sidik_control_set_decided(t, 7), 0);
    uint64_t queued, on_lease;
    assert_int_equal(sidik_control_print_count(t, &queued, &on_lease), 0);
    assert_int_equal(queued, 1);
    assert_int_equal(on_lease, 1);
    assert_int_equal(sidik_control_print_ack(t, leased[0], "31.71", NOW_MS), 0);
    assert_int_equal(sidik_control_print_count(t, &queued, &on_lease), 0);
    assert_int_equal(on_lease, 0);
    uint64_t n;
    assert_int_equal(sidik_control_review_count(t, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(sidik_control_review_count(t, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_control_commit(t), 0);
    s = stats(&r);
    assert_int_equal(s->dedup_queue, 0);
    assert_int_equal(s->review_queue, 3);
    assert_int_equal(s->print_queue, 1);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    rig_close(&r);
}

/* Enrollment id of synthetic person `person`, journaled, durable and
 * recorded RECEIVED, as the ingest leaves it for the stage. */
static void receive(rig *r, uint64_t who, const char *id)
{
    fixture *x = copy();
    snprintf(x->id, sizeof x->id, "%s", id);
    snprintf(x->nik, sizeof x->nik, "317101650590%04u", (unsigned)(who + 1) % 10000);
    sidik_fmr *all = malloc(sizeof *all), *one = malloc(sizeof *one);
    assert_int_equal(sidik_synth_impression(&params, SEED, who, 0, all, NULL, NULL), 0);
    x->e.n_fingers = 0;
    for (uint32_t v = 0; v < all->nviews; v++) {
        *one = (sidik_fmr){.format = SIDIK_FMR_ISO_2005, .nviews = 1};
        one->views[0] = all->views[v];
        size_t len;
        assert_int_equal(sidik_fmr_encode_iso2005(one, x->tmpl[v], sizeof x->tmpl[v], &len), 0);
        x->f[v].position = (Sidik__V1__FingerPosition)all->views[v].position;
        x->f[v].template_.len = len;
        x->e.n_fingers++;
    }
    size_t n = sidik__v1__enrollment__get_packed_size(&x->e);
    uint8_t *entry = malloc(SIDIK_INGEST_RECORD_HEADER + n);
    sidik__v1__enrollment__pack(&x->e, entry + SIDIK_INGEST_RECORD_HEADER);
    sidik_ingest_record rec = {.received_ms = NOW_MS - 1000};
    sidik_ingest_record_header(&rec, entry);
    uint64_t seq;
    assert_int_equal(sidik_journal_append(r->journal, SIDIK_JOURNAL_KIND_ENROLLMENT, entry,
                                          SIDIK_INGEST_RECORD_HEADER + n, &seq),
                     0);
    assert_int_equal(sidik_journal_wait(r->journal, seq), 0);
    sidik_enrollment e = {.status = SIDIK_STATUS_RECEIVED, .journal_seq = seq, .nhistory = 1};
    snprintf(e.id, sizeof e.id, "%s", id);
    snprintf(e.office, sizeof e.office, "JKT-01");
    snprintf(e.nik, sizeof e.nik, "%s", x->nik);
    e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, NOW_MS - 1000};
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(r->control, true, &t), 0);
    assert_int_equal(sidik_control_enroll_put(t, &e), 0);
    assert_int_equal(sidik_control_set_applied(t, seq), 0);
    assert_int_equal(sidik_control_commit(t), 0);
    free(entry);
    free(all);
    free(one);
    free(x);
}

static void test_server_admin_stats_rates(void **state)
{
    (void)state;
    clock_ns = 1000000000000;
    sidik_admin_options o = {.now_ns = test_now_ns};
    rig r = {0};
    rig_open(&r, true, &o);
    Sidik__V1__StatsResponse *s = stats(&r);
    assert_int_equal(s->gallery_persons, 5); /* the migrated persons, loaded by the stage */
    assert_true(s->decided_per_second == 0 && s->capacity_per_day == 0); /* nothing measured */
    protobuf_c_message_free_unpacked(&s->base, NULL);

    sidik_admin_sample(r.admin); /* t = 0: nothing decided */
    receive(&r, 1, "00000000-0000-4000-8000-000000000001");
    receive(&r, 2, "00000000-0000-4000-8000-000000000002");
    receive(&r, 3, "00000000-0000-4000-8000-000000000003");
    s = stats(&r);
    assert_int_equal(s->dedup_queue, 3);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    uint32_t n;
    assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
    assert_int_equal(n, 3);
    uint64_t decided, busy;
    sidik_dedup_work(r.dedup, &decided, &busy);
    assert_int_equal(decided, 3);
    assert_true(busy > 0);
    double per_day = 86400.0 / ((double)busy * 1e-9 / 3.0);

    /* 30 s later: 3 decided over the 30 s since the only sample. */
    clock_ns += 30 * 1000000000LL;
    s = stats(&r);
    assert_int_equal(s->gallery_persons, 8);
    assert_int_equal(s->dedup_queue, 0);
    assert_true(s->decided_per_second > 0.1 - 1e-12 && s->decided_per_second < 0.1 + 1e-12);
    assert_true(s->capacity_per_day > per_day * (1 - 1e-12) &&
                s->capacity_per_day < per_day * (1 + 1e-12));
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* A sample at 30 s, then 70 s without a decision: nothing over the
     * last minute, and the capacity from the figures since start. */
    sidik_admin_sample(r.admin);
    clock_ns += 70 * 1000000000LL;
    s = stats(&r);
    assert_true(s->decided_per_second == 0);
    assert_true(s->capacity_per_day > per_day * (1 - 1e-12) &&
                s->capacity_per_day < per_day * (1 + 1e-12));
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* Samples every second for two minutes: the window is the last minute. */
    for (int i = 0; i < 120; i++) {
        clock_ns += 1000000000LL;
        sidik_admin_sample(r.admin);
    }
    receive(&r, 4, "00000000-0000-4000-8000-000000000004");
    assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
    assert_int_equal(n, 1);
    clock_ns += 1000000000LL;
    s = stats(&r);
    /* The newest sample at least 60 s old is 60 s back: 1 in 60 s. */
    assert_true(s->decided_per_second > 1.0 / 60 - 1e-12 &&
                s->decided_per_second < 1.0 / 60 + 1e-12);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    rig_close(&r);
}

/* The dedup stage paused by a full gallery disk: Stats says so, and why;
 * once a step works again it says nothing. */
static void test_server_admin_stats_dedup_paused(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, true, NULL);
    Sidik__V1__StatsResponse *s = stats(&r);
    assert_string_equal(s->dedup_paused, "");
    protobuf_c_message_free_unpacked(&s->base, NULL);
    receive(&r, 1, "00000000-0000-4000-8000-000000000001");
    atomic_store(&fail_shards, SIDIK_EFULL);
    uint32_t n;
    assert_int_equal(sidik_dedup_step(r.dedup, &n), SIDIK_EFULL);
    s = stats(&r);
    assert_string_equal(s->dedup_paused,
                        "SIDIK_EFULL (storage is full): retried on its own; new uploads are "
                        "refused meanwhile");
    assert_int_equal(s->dedup_queue, 1);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    atomic_store(&fail_shards, 0);
    assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
    assert_int_equal(n, 1);
    s = stats(&r);
    assert_string_equal(s->dedup_paused, "");
    assert_int_equal(s->dedup_queue, 0);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    rig_close(&r);
}

/* ---- GetConfig ---------------------------------------------------------------------------- */

static void test_server_admin_config(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, false, NULL);
    ProtobufCMessage *m;
    assert_int_equal(call(&r, SIDIK_METHOD_ADMIN_GET_CONFIG, &admin, "", 0,
                          &sidik__v1__config_response__descriptor, &m),
                     0);
    Sidik__V1__ConfigResponse *c = (Sidik__V1__ConfigResponse *)m;
    size_t keys = 0;
    for (const char *const *k = sidik_config_keys; *k != NULL; k++, keys++) {
        const char *got = NULL;
        for (size_t i = 0; i < c->n_settings; i++)
            if (strcmp(c->settings[i]->key, *k) == 0) {
                assert_null(got); /* once */
                got = c->settings[i]->value;
            }
        if (got == NULL)
            fail_msg("GetConfig lacks %s", *k);
        char want[SIDIK_CONFIG_STR + 32];
        assert_int_equal(sidik_config_format(&r.cfg, *k, want, sizeof want), 0);
        assert_string_equal(got, want);
    }
    assert_int_equal(c->n_settings, keys);
    /* As --check-config prints them. */
    for (size_t i = 0; i < c->n_settings; i++) {
        const char *k = c->settings[i]->key, *v = c->settings[i]->value;
        if (strcmp(k, "data_dir") == 0)
            assert_string_equal(v, r.dir);
        else if (strcmp(k, "io_threads") == 0)
            assert_string_equal(v, "3");
        else if (strcmp(k, "idle_timeout") == 0)
            assert_string_equal(v, "300000ms");
        else if (strcmp(k, "max_message_bytes") == 0)
            assert_string_equal(v, "4194304");
        else if (strcmp(k, "duplicate_fpir") == 0)
            assert_string_equal(v, "0.001");
        else if (strcmp(k, "tls_key") == 0)
            assert_string_equal(v, "./var/pki/server.key");
    }
    protobuf_c_message_free_unpacked(m, NULL);
    char buf[8];
    assert_int_equal(sidik_config_format(&r.cfg, "no_such_key", buf, sizeof buf), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_config_format(&r.cfg, "data_dir", buf, 4), SIDIK_ETOOBIG);
    assert_int_equal(sidik_config_format(NULL, "data_dir", buf, sizeof buf), SIDIK_EINVAL);
    rig_close(&r);
}

/* ---- hostile requests and other roles ------------------------------------------------------- */

static void test_server_admin_hostile(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, false, NULL);
    ProtobufCMessage *m = NULL;
    static const struct {
        sidik_method m;
        const char *name;
    } methods[] = {{SIDIK_METHOD_ADMIN_LIST_SHARDS, "ListShardsRequest"},
                   {SIDIK_METHOD_ADMIN_ADD_SHARD, "AddShardRequest"},
                   {SIDIK_METHOD_ADMIN_STATS, "StatsRequest"},
                   {SIDIK_METHOD_ADMIN_GET_CONFIG, "ConfigRequest"}};
    static const struct {
        const char *bytes;
        size_t n;
    } garbage[] = {
        {"\xff\xff\xff\xff", 4}, /* a varint that never ends */
        {"\x0a\x05\x61\x62", 4}, /* a length past the end */
        {"\x0b", 1},             /* a group start: not proto3 */
        {"\x08", 1},             /* a tag without its value */
    };
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(methods); i++) {
        for (size_t g = 0; g < SIDIK_ARRAY_SIZE(garbage); g++) {
            assert_int_equal(call(&r, methods[i].m, &admin, garbage[g].bytes, garbage[g].n,
                                  &sidik__v1__shard__descriptor, &m),
                             SIDIK_EFORMAT);
            char want[128];
            snprintf(want, sizeof want, "the request does not parse as a %s", methods[i].name);
            assert_string_equal(r.why, want);
        }
        /* Other roles: refused before the request is read. */
        const sidik_identity *who[] = {&office, &auditor, &printer};
        for (size_t k = 0; k < 3; k++) {
            assert_int_equal(
                call(&r, methods[i].m, who[k], "", 0, &sidik__v1__shard__descriptor, &m),
                SIDIK_EDENIED);
            assert_string_equal(r.why, "only an admin certificate may call the Admin service");
        }
    }
    /* Unknown fields are skipped, as protobuf's rules have it. */
    const char unknown[] = "\x78\x05"         /* field 15, varint 5 */
                           "\x82\x01\x03xyz"; /* field 16, 3 bytes */
    assert_int_equal(call(&r, SIDIK_METHOD_ADMIN_LIST_SHARDS, &admin, unknown, sizeof unknown - 1,
                          &sidik__v1__list_shards_response__descriptor, &m),
                     0);
    assert_int_equal(((Sidik__V1__ListShardsResponse *)m)->n_shards, 1);
    protobuf_c_message_free_unpacked(m, NULL);
    assert_int_equal(call(&r, SIDIK_METHOD_ADMIN_STATS, &admin, unknown, sizeof unknown - 1,
                          &sidik__v1__stats_response__descriptor, &m),
                     0);
    protobuf_c_message_free_unpacked(m, NULL);
    /* Not a unary Admin method. */
    assert_int_equal(
        call(&r, SIDIK_METHOD_ADMIN_REBALANCE, &admin, "", 0, &sidik__v1__shard__descriptor, &m),
        SIDIK_EUNSUPPORTED);
    assert_int_equal(
        call(&r, SIDIK_METHOD_PRINT_LEASE, &admin, "", 0, &sidik__v1__shard__descriptor, &m),
        SIDIK_EUNSUPPORTED);
    uint8_t *out;
    size_t len;
    assert_int_equal(sidik_admin_answer(NULL, SIDIK_METHOD_ADMIN_STATS, &admin, NULL, 0, &out, &len,
                                        r.why, sizeof r.why),
                     SIDIK_EINVAL);
    assert_int_equal(sidik_admin_answer(r.admin, SIDIK_METHOD_ADMIN_STATS, &admin, NULL, 3, &out,
                                        &len, r.why, sizeof r.why),
                     SIDIK_EINVAL);
    sidik_admin *a;
    sidik_admin_options bad = {.control = r.control};
    assert_int_equal(sidik_admin_create(&bad, &a), SIDIK_EINVAL);
    assert_int_equal(sidik_admin_create(NULL, &a), SIDIK_EINVAL);
    sidik_admin_destroy(NULL);
    /* Nothing of this was audited. */
    sidik_audit_entry e;
    assert_int_equal(audit_count(&r, 1, &e, 1), 0);
    rig_close(&r);
}

/* ---- Rebalance --------------------------------------------------------------------------------
 */

#define MAX_MSGS 4096

/* What a caller on the loop saw, and the test's hold on the thread. */
typedef struct watcher {
    rig *r;
    sidik_admin_job *job;
    uint64_t moved[MAX_MSGS], total[MAX_MSGS];
    bool done_flag[MAX_MSGS];
    size_t n;
    int done_calls, rc;
    char why[256];
    /* The hold: the rebalance thread waits in after_batch at the call
     * numbered hold_at (1: the plan) until released. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int hold_at, calls;
    bool held, released;
    /* On the loop, at the first progress that moved something: cancel. */
    bool cancel_on_progress;
} watcher;

static void watcher_init(watcher *w, rig *r)
{
    memset(w, 0, sizeof *w);
    w->r = r;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
}

static void watcher_release(watcher *w)
{
    pthread_mutex_lock(&w->mu);
    w->released = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Waits (at most 10 s) until the thread is held. */
static void watcher_wait_held(watcher *w)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&w->mu);
    while (!w->held)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0)
            break;
    bool held = w->held;
    pthread_mutex_unlock(&w->mu);
    assert_true(held);
}

static void after_batch(void *ctx, uint64_t moved)
{
    (void)moved;
    watcher *w = ctx;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10; /* never hang the suite on a broken test */
    pthread_mutex_lock(&w->mu);
    if (++w->calls == w->hold_at) {
        w->held = true;
        pthread_cond_broadcast(&w->cv);
        while (!w->released)
            if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0)
                break;
    }
    pthread_mutex_unlock(&w->mu);
}

static void on_progress(void *ctx, const uint8_t *p, size_t n)
{
    watcher *w = ctx;
    Sidik__V1__RebalanceProgress *m = sidik__v1__rebalance_progress__unpack(NULL, n, p);
    assert_non_null(m);
    assert_true(w->n < MAX_MSGS);
    w->moved[w->n] = m->moved;
    w->total[w->n] = m->total;
    w->done_flag[w->n] = m->done;
    w->n++;
    bool moved_some = m->moved > 0;
    sidik__v1__rebalance_progress__free_unpacked(m, NULL);
    if (w->cancel_on_progress && moved_some) {
        sidik_admin_rebalance_cancel(w->job);
        watcher_release(w);
    }
}

static void on_done(void *ctx, int rc, const char *why)
{
    watcher *w = ctx;
    w->done_calls++;
    w->rc = rc;
    snprintf(w->why, sizeof w->why, "%s", why ? why : "");
}

static const sidik_admin_rebalance_cb cbs = {on_progress, on_done};

/* A node of three shards whose first holds records 1..2000. */
static void three_shards(rig *r)
{
    fill(r, 1, 2000);
    uint32_t number;
    assert_int_equal(sidik_shardset_add(r->shards, &number), 0);
    assert_int_equal(sidik_shardset_add(r->shards, &number), 0);
}

static void request(uint32_t max_moves, uint8_t *buf, size_t *n)
{
    Sidik__V1__RebalanceRequest q = SIDIK__V1__REBALANCE_REQUEST__INIT;
    q.max_moves = max_moves;
    *n = sidik__v1__rebalance_request__pack(&q, buf);
}

static void test_server_admin_rebalance_streams(void **state)
{
    (void)state;
    watcher *w = malloc(sizeof *w);
    rig r = {0};
    sidik_admin_options o = {.progress_ms = 1};
    rig_open(&r, false, &o);
    watcher_init(w, &r);
    three_shards(&r);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uint8_t req[16];
    size_t n;
    request(0, req, &n);
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &admin, req, n, &cbs, w, &w->job,
                                                 r.why, sizeof r.why),
                     0);
    assert_int_equal(w->n, 0); /* never from inside the start */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);

    assert_int_equal(w->done_calls, 1);
    assert_int_equal(w->rc, 0);
    assert_true(w->n >= 2);
    for (size_t i = 1; i < w->n; i++) {
        assert_true(w->moved[i] >= w->moved[i - 1]);
        assert_true(w->moved[i] <= w->total[i]);
        assert_false(w->done_flag[i - 1]);
    }
    size_t last = w->n - 1;
    assert_true(w->done_flag[last]);
    assert_int_equal(w->moved[last], 1333); /* 2000 over three: 667, 667, 666 */
    assert_int_equal(w->total[last], w->moved[last]);
    assert_int_equal(w->total[0], 1333); /* the plan, known from the first message */
    Sidik__V1__ListShardsResponse *l = list(&r);
    assert_int_equal(l->n_shards, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(l->shards[i]->records == 666 || l->shards[i]->records == 667);
        assert_string_equal(l->shards[i]->state, "active");
    }
    protobuf_c_message_free_unpacked(&l->base, NULL);
    assert_each_once(&r, 2000);
    sidik_audit_entry e[4];
    assert_int_equal(audit_count(&r, 1, e, 4), 2);
    assert_string_equal(e[0].actor, "admin:siti");
    assert_string_equal(e[0].subject, "shards");
    assert_string_equal(e[0].detail, "rebalance started (max_moves 0: as many as balance needs)");
    assert_string_equal(e[1].detail, "rebalance finished: 1333 records moved");

    /* Balanced now: a second one moves nothing and says so at once. */
    watcher_init(w, &r);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &admin, req, n, &cbs, w, &w->job,
                                                 r.why, sizeof r.why),
                     0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(w->done_calls, 1);
    assert_int_equal(w->n, 1);
    assert_true(w->done_flag[0] && w->moved[0] == 0 && w->total[0] == 0);
    rig_close(&r);
    free(w);
}

static void test_server_admin_rebalance_max_moves(void **state)
{
    (void)state;
    watcher *w = malloc(sizeof *w);
    rig r = {0};
    rig_open(&r, false, NULL);
    watcher_init(w, &r);
    three_shards(&r);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uint8_t req[16];
    size_t n;
    request(100, req, &n);
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &admin, req, n, &cbs, w, &w->job,
                                                 r.why, sizeof r.why),
                     0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(w->rc, 0);
    size_t last = w->n - 1;
    assert_true(w->done_flag[last]);
    assert_int_equal(w->moved[last], 100);
    assert_int_equal(w->total[last], 100);
    assert_each_once(&r, 2000);
    rig_close(&r);
    free(w);
}

static void test_server_admin_rebalance_cancelled(void **state)
{
    (void)state;
    watcher *w = malloc(sizeof *w);
    rig r = {0};
    sidik_admin_options o = {.progress_ms = 1, .after_batch = after_batch};
    watcher_init(w, &r);
    o.test_ctx = w;
    rig_open(&r, false, &o);
    three_shards(&r);
    /* Held after the first batch until the loop has seen it and cancelled:
     * the caller goes away mid-rebalance. */
    w->hold_at = 2;
    w->cancel_on_progress = true;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uint8_t req[16];
    size_t n;
    request(0, req, &n);
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &admin, req, n, &cbs, w, &w->job,
                                                 r.why, sizeof r.why),
                     0);
    uv_run(&loop, UV_RUN_DEFAULT); /* runs until the job freed itself */
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(w->done_calls, 0); /* nothing after the cancel */
    assert_true(w->n >= 1);
    uint64_t seen = w->moved[w->n - 1];
    assert_true(seen > 0 && seen < 1333);
    assert_each_once(&r, 2000);
    sidik_audit_entry e[4];
    assert_int_equal(audit_count(&r, 1, e, 4), 2);
    char want[128];
    snprintf(want, sizeof want,
             "rebalance cancelled (the caller went away): %llu records moved; "
             "error SIDIK_ECANCELLED",
             (unsigned long long)seen);
    assert_string_equal(e[1].detail, want);
    /* Not running any more: another may start. */
    Sidik__V1__ListShardsResponse *l = list(&r);
    assert_string_equal(l->shards[0]->state, "active");
    protobuf_c_message_free_unpacked(&l->base, NULL);
    rig_close(&r);
    free(w);
}

static void test_server_admin_rebalance_one_at_a_time(void **state)
{
    (void)state;
    watcher *w = malloc(sizeof *w), *second = malloc(sizeof *second);
    rig r = {0};
    sidik_admin_options o = {.progress_ms = 1, .after_batch = after_batch};
    watcher_init(w, &r);
    watcher_init(second, &r);
    o.test_ctx = w;
    rig_open(&r, false, &o);
    three_shards(&r);
    w->hold_at = 1; /* held at its plan */
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uint8_t req[16];
    size_t n;
    request(0, req, &n);
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &admin, req, n, &cbs, w, &w->job,
                                                 r.why, sizeof r.why),
                     0);
    watcher_wait_held(w);
    const sidik_identity other = {SIDIK_ROLE_ADMIN, "budi"};
    sidik_admin_job *job2 = NULL;
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &other, req, n, &cbs, second,
                                                 &job2, r.why, sizeof r.why),
                     SIDIK_ESTATE);
    assert_string_equal(r.why, "a rebalance is already running (started by admin:siti)");
    assert_null(job2);
    Sidik__V1__ListShardsResponse *l = list(&r);
    for (size_t i = 0; i < l->n_shards; i++)
        assert_string_equal(l->shards[i]->state, "rebalancing");
    protobuf_c_message_free_unpacked(&l->base, NULL);
    /* Refused before anything else: garbage and other roles. */
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &admin, (const uint8_t *)"\xff", 1,
                                                 &cbs, second, &job2, r.why, sizeof r.why),
                     SIDIK_EFORMAT);
    assert_string_equal(r.why, "the request does not parse as a RebalanceRequest");
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &office, req, n, &cbs, second,
                                                 &job2, r.why, sizeof r.why),
                     SIDIK_EDENIED);
    assert_int_equal(sidik_admin_rebalance_start(r.admin, NULL, &admin, req, n, &cbs, second, &job2,
                                                 r.why, sizeof r.why),
                     SIDIK_EINVAL);
    watcher_release(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(w->rc, 0);
    assert_int_equal(w->done_calls, 1);
    assert_int_equal(second->n + (size_t)second->done_calls, 0);
    /* Once it is done, the next one starts. */
    watcher_init(second, &r);
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &other, req, n, &cbs, second,
                                                 &job2, r.why, sizeof r.why),
                     0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(second->done_calls, 1);
    assert_int_equal(second->rc, 0);
    sidik_audit_entry e[8];
    assert_int_equal(audit_count(&r, 1, e, 8), 4);
    assert_string_equal(e[2].actor, "admin:budi");
    assert_each_once(&r, 2000);
    rig_close(&r);
    free(w);
    free(second);
}

/* sidikd stopping: the service is destroyed while a rebalance runs; it
 * waits for the thread to stop after its batch, and the caller hears
 * SIDIK_ESHUTDOWN on the loop afterwards. */
typedef struct destroyer {
    sidik_admin *admin;
} destroyer;

static void *destroy_thread(void *arg)
{
    destroyer *d = arg;
    sidik_admin_destroy(d->admin);
    return NULL;
}

static void test_server_admin_rebalance_stopped_by_destroy(void **state)
{
    (void)state;
    watcher *w = malloc(sizeof *w);
    rig r = {0};
    sidik_admin_options o = {.progress_ms = 1, .after_batch = after_batch};
    watcher_init(w, &r);
    o.test_ctx = w;
    rig_open(&r, false, &o);
    three_shards(&r);
    w->hold_at = 2;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uint8_t req[16];
    size_t n;
    request(0, req, &n);
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &admin, req, n, &cbs, w, &w->job,
                                                 r.why, sizeof r.why),
                     0);
    watcher_wait_held(w);
    destroyer d = {r.admin};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, destroy_thread, &d), 0);
    /* The destroy sets the stop flag at once, then waits for the thread,
     * which is held: give it the moment to get there. */
    usleep(200 * 1000);
    watcher_release(w);
    assert_int_equal(pthread_join(th, NULL), 0);
    sidik_admin_options again = {.control = r.control, .shards = r.shards, .config = &r.cfg};
    assert_int_equal(sidik_admin_create(&again, &r.admin), 0); /* for the checks below */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(w->done_calls, 1);
    assert_int_equal(w->rc, SIDIK_ESHUTDOWN);
    assert_non_null(strstr(w->why, "sidikd is stopping: the rebalance stopped after 256 records"));
    assert_each_once(&r, 2000);
    sidik_audit_entry e[4];
    assert_int_equal(audit_count(&r, 1, e, 4), 2);
    assert_string_equal(e[1].detail, "rebalance stopped (sidikd stopping): 256 records moved; "
                                     "error SIDIK_ESHUTDOWN");
    rig_close(&r);
    free(w);
}

/* sidik_admin_stop (SIGTERM): the running one stops after its batch with
 * SIDIK_ESHUTDOWN, and no new one starts. */
static void test_server_admin_rebalance_stop(void **state)
{
    (void)state;
    watcher *w = malloc(sizeof *w);
    rig r = {0};
    sidik_admin_options o = {.progress_ms = 1, .after_batch = after_batch};
    watcher_init(w, &r);
    o.test_ctx = w;
    rig_open(&r, false, &o);
    three_shards(&r);
    w->hold_at = 2;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uint8_t req[16];
    size_t n;
    request(0, req, &n);
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &admin, req, n, &cbs, w, &w->job,
                                                 r.why, sizeof r.why),
                     0);
    watcher_wait_held(w);
    sidik_admin_stop(r.admin);
    watcher_release(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(w->done_calls, 1);
    assert_int_equal(w->rc, SIDIK_ESHUTDOWN);
    assert_string_equal(w->why, "sidikd is stopping: the rebalance stopped after 256 records "
                                "moved, which stay moved; start it again later");
    watcher *again = malloc(sizeof *again);
    watcher_init(again, &r);
    sidik_admin_job *job;
    assert_int_equal(sidik_admin_rebalance_start(r.admin, &loop, &admin, req, n, &cbs, again, &job,
                                                 r.why, sizeof r.why),
                     SIDIK_ESHUTDOWN);
    assert_string_equal(r.why, "sidikd is stopping; start the rebalance again once it is back");
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_each_once(&r, 2000); /* the unary calls still answer */
    sidik_admin_stop(NULL);
    rig_close(&r);
    free(w);
    free(again);
}

static int setup(void **state)
{
    sidik_synth_params_default(&params);
    if (make_base(state) != 0 || make_people(state) != 0)
        return -1;
    return sidik_synth_fusion(&params, SEED + 1, 120, SIDIK_SIMD_SCALAR, NULL, &fusion);
}

static int teardown(void **state)
{
    sidik_fusion_destroy(fusion);
    return free_people(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_admin_list_and_add),
        SIDIK_TEST(test_server_admin_stats_counts),
        SIDIK_TEST(test_server_admin_stats_rates),
        SIDIK_TEST(test_server_admin_stats_dedup_paused),
        SIDIK_TEST(test_server_admin_config),
        SIDIK_TEST(test_server_admin_hostile),
        SIDIK_TEST(test_server_admin_rebalance_streams),
        SIDIK_TEST(test_server_admin_rebalance_max_moves),
        SIDIK_TEST(test_server_admin_rebalance_cancelled),
        SIDIK_TEST(test_server_admin_rebalance_one_at_a_time),
        SIDIK_TEST(test_server_admin_rebalance_stopped_by_destroy),
        SIDIK_TEST(test_server_admin_rebalance_stop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
