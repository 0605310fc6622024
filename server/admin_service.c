/* The Admin service (sidik/admin_service.h). */
#include "sidik/admin_service.h"
#include "sidik/common.h"
#include "sidik/pb.h"
#include "sidik.pb-c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Samples of the dedup stage's work, one a second from sidikd's timer: 128
 * reach back past the minute the rates are taken over. */
#define SAMPLES 128

#define CANCEL_GONE 1 /* the caller went away */
#define CANCEL_STOP 2 /* the service is being destroyed: sidikd stops */

typedef struct sample {
    int64_t at_ns;
    uint64_t decided, busy_ns;
} sample;

struct sidik_admin {
    sidik_admin_options o;
    pthread_mutex_t mu;       /* running, by, the samples */
    pthread_cond_t idle;      /* running became NULL */
    sidik_admin_job *running; /* the node's one rebalance */
    bool stopping;            /* sidik_admin_stop */
    char by[SIDIK_AUDIT_TEXT_MAX + 1];
    sample ring[SAMPLES];
    uint32_t head, nsamples; /* head: where the next sample goes */
};

struct sidik_admin_job {
    sidik_admin *admin; /* the thread's, until it clears admin->running */
    uv_async_t wake;    /* the thread -> the call's loop */
    pthread_t thread;
    pthread_mutex_t mu; /* the four below */
    uint64_t moved, total;
    bool finished;
    int rc;
    _Atomic int cancel; /* CANCEL_* bits */
    uint32_t max_moves;
    char actor[SIDIK_AUDIT_TEXT_MAX + 1];
    /* The thread's own. */
    int64_t posted_ns;
    int64_t interval_ns;
    /* The loop's own. */
    const sidik_admin_rebalance_cb *cb; /* NULL once cancelled or done */
    void *ctx;
    bool sent;
    uint64_t sent_moved, sent_total;
    char why[256];
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One SIDIK_AUDIT_ADMIN entry in a transaction of its own. */
static int audit(sidik_admin *a, const char *actor, const char *subject, const char *detail)
{
    sidik_audit_entry e = {.kind = SIDIK_AUDIT_ADMIN,
                           .time_ms = a->o.now_ms != NULL ? a->o.now_ms() : wall_ms()};
    snprintf(e.actor, sizeof e.actor, "%s", actor);
    snprintf(e.subject, sizeof e.subject, "%s", subject);
    snprintf(e.detail, sizeof e.detail, "%s", detail);
    sidik_control_txn *t;
    int rc = sidik_control_begin(a->o.control, true, &t);
    if (rc != 0)
        return rc;
    if ((rc = sidik_control_audit_append(t, &e, NULL)) != 0) {
        sidik_control_abort(t);
        return rc;
    }
    return sidik_control_commit(t);
}

int sidik_admin_create(const sidik_admin_options *o, sidik_admin **out)
{
    if (o == NULL || out == NULL || o->control == NULL || o->shards == NULL || o->config == NULL)
        return SIDIK_EINVAL;
    sidik_admin *a = sidik_trycalloc(1, sizeof *a);
    if (a == NULL)
        return SIDIK_ENOMEM;
    a->o = *o;
    if (a->o.progress_ms == 0)
        a->o.progress_ms = SIDIK_ADMIN_PROGRESS_MS;
    if (a->o.now_ns == NULL)
        a->o.now_ns = mono_ns;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->idle, NULL);
    *out = a;
    return 0;
}

void sidik_admin_stop(sidik_admin *a)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->mu);
    a->stopping = true;
    if (a->running != NULL)
        atomic_fetch_or(&a->running->cancel, CANCEL_STOP);
    pthread_mutex_unlock(&a->mu);
}

void sidik_admin_destroy(sidik_admin *a)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->mu);
    if (a->running != NULL)
        atomic_fetch_or(&a->running->cancel, CANCEL_STOP);
    while (a->running != NULL)
        pthread_cond_wait(&a->idle, &a->mu);
    pthread_mutex_unlock(&a->mu);
    pthread_cond_destroy(&a->idle);
    pthread_mutex_destroy(&a->mu);
    sidik_free(a);
}

static bool is_admin(const sidik_identity *who, char *why, size_t cap)
{
    if (who->role == SIDIK_ROLE_ADMIN)
        return true;
    sidik_why(why, cap, SIDIK_EDENIED, "only an admin certificate may call the Admin service");
    return false;
}

/* ---- ListShards and AddShard ----------------------------------------------------------- */

static bool rebalancing(sidik_admin *a)
{
    pthread_mutex_lock(&a->mu);
    bool r = a->running != NULL;
    pthread_mutex_unlock(&a->mu);
    return r;
}

static void shard_msg(const sidik_shard_info *s, const char *state, Sidik__V1__Shard *m)
{
    sidik__v1__shard__init(m);
    m->id = s->number;
    m->records = s->records;
    m->bytes = s->bytes;
    m->state = (char *)state;
}

/* The node's shards into a new array (*info, sidik_free it). */
static int shards_of(sidik_admin *a, sidik_shard_info **info, uint32_t *n)
{
    *info = sidik_trymalloc(SIDIK_SHARDSET_MAX * sizeof **info);
    if (*info == NULL)
        return SIDIK_ENOMEM;
    int rc = sidik_shardset_list(a->o.shards, *info, SIDIK_SHARDSET_MAX, n);
    if (rc != 0) {
        sidik_free(*info);
        *info = NULL;
    }
    return rc;
}

static int list_shards(sidik_admin *a, uint8_t **out, size_t *len, char *why, size_t cap)
{
    sidik_shard_info *info;
    uint32_t n;
    int rc = shards_of(a, &info, &n);
    if (rc != 0)
        return sidik_why(why, cap, rc, "the shards cannot be listed: %s", sidik_strerror(rc));
    const char *state = rebalancing(a) ? "rebalancing" : "active";
    Sidik__V1__Shard *m = sidik_trymalloc((n + 1) * sizeof *m);
    Sidik__V1__Shard **ptrs = sidik_trymalloc((n + 1) * sizeof *ptrs);
    rc = m == NULL || ptrs == NULL ? SIDIK_ENOMEM : 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        shard_msg(&info[i], state, &m[i]);
        ptrs[i] = &m[i];
    }
    if (rc == 0) {
        Sidik__V1__ListShardsResponse r;
        sidik__v1__list_shards_response__init(&r);
        r.n_shards = n;
        r.shards = ptrs;
        rc = sidik_pb_pack(&r.base, out, len);
    }
    sidik_free(m);
    sidik_free(ptrs);
    sidik_free(info);
    return rc;
}

static int add_shard(sidik_admin *a, const sidik_identity *who, uint8_t **out, size_t *len,
                     char *why, size_t cap)
{
    uint32_t number;
    int rc = sidik_shardset_add(a->o.shards, &number);
    if (rc == SIDIK_EFULL)
        return sidik_why(why, cap, rc, "this node holds %d shards, the most it can",
                         SIDIK_SHARDSET_MAX);
    if (rc != 0)
        return sidik_why(why, cap, rc, "the shard cannot be made: %s", sidik_strerror(rc));
    sidik_shard_info *info;
    uint32_t n = 0;
    rc = shards_of(a, &info, &n);
    sidik_shard_info mine = {.number = number};
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        if (info[i].number == number)
            mine = info[i];
    if (rc == 0)
        sidik_free(info);
    char actor[SIDIK_AUDIT_TEXT_MAX + 1], subject[32], detail[128];
    snprintf(actor, sizeof actor, "admin:%s", who->name);
    snprintf(subject, sizeof subject, "shard %u", number);
    snprintf(detail, sizeof detail, "shard added (shard-%04u, empty); the node has %u shards",
             number, n);
    int arc = audit(a, actor, subject, detail);
    if (arc != 0) {
        /* The shard exists and takes records; the caller must know the log lacks it. */
        SIDIK_LOG_ERROR("a shard was added but the audit log refused it", "shard=%u error=%s",
                        number, sidik_err_name(arc));
        return sidik_why(why, cap, arc,
                         "shard %u was added, but the audit log refused its entry: %s", number,
                         sidik_strerror(arc));
    }
    if (rc != 0)
        return sidik_why(why, cap, rc, "shard %u was added, but cannot be read back: %s", number,
                         sidik_strerror(rc));
    SIDIK_LOG_INFO("admin added a shard", "shard=%u actor=%s", number, actor);
    Sidik__V1__Shard m;
    shard_msg(&mine, rebalancing(a) ? "rebalancing" : "active", &m);
    return sidik_pb_pack(&m.base, out, len);
}

/* ---- Stats ------------------------------------------------------------------------------ */

static sample reading(sidik_admin *a)
{
    sample s = {.at_ns = a->o.now_ns()};
    if (a->o.dedup != NULL)
        sidik_dedup_work(a->o.dedup, &s.decided, &s.busy_ns);
    return s;
}

void sidik_admin_sample(sidik_admin *a)
{
    if (a == NULL || a->o.dedup == NULL)
        return;
    sample s = reading(a);
    pthread_mutex_lock(&a->mu);
    a->ring[a->head] = s;
    a->head = (a->head + 1) % SAMPLES;
    if (a->nsamples < SAMPLES)
        a->nsamples++;
    pthread_mutex_unlock(&a->mu);
}

/* decided_per_second over the last minute and capacity_per_day (the
 * header's estimate). The baseline is the newest sample at least a minute
 * old, or the oldest there is while the service is younger than that. */
static void rates(sidik_admin *a, double *per_second, double *per_day)
{
    *per_second = *per_day = 0;
    if (a->o.dedup == NULL)
        return;
    sample now = reading(a), base = now;
    int64_t since = now.at_ns - (int64_t)SIDIK_ADMIN_RATE_WINDOW_MS * 1000000;
    pthread_mutex_lock(&a->mu);
    for (uint32_t k = 0; k < a->nsamples; k++) {
        base = a->ring[(a->head + 2 * SAMPLES - 1 - k) % SAMPLES];
        if (base.at_ns <= since)
            break;
    }
    pthread_mutex_unlock(&a->mu);
    uint64_t decided = now.decided - base.decided, busy = now.busy_ns - base.busy_ns;
    if (now.at_ns > base.at_ns)
        *per_second = (double)decided / ((double)(now.at_ns - base.at_ns) * 1e-9);
    if (decided == 0 || busy == 0) { /* nothing decided lately: the figures since start */
        decided = now.decided;
        busy = now.busy_ns;
    }
    if (decided > 0 && busy > 0)
        *per_day = 86400.0 / ((double)busy * 1e-9 / (double)decided);
}

static int stats(sidik_admin *a, uint8_t **out, size_t *len, char *why, size_t cap)
{
    Sidik__V1__StatsResponse r;
    sidik__v1__stats_response__init(&r);
    int rc = 0;
    if (a->o.dedup != NULL) {
        r.gallery_persons = sidik_dedup_gallery_size(a->o.dedup);
    } else {
        sidik_shard_info *info;
        uint32_t n;
        if ((rc = shards_of(a, &info, &n)) != 0)
            return sidik_why(why, cap, rc, "the shards cannot be listed: %s", sidik_strerror(rc));
        for (uint32_t i = 0; i < n; i++)
            r.gallery_persons += info[i].records;
        sidik_free(info);
    }
    /* One snapshot for the queues, so received and decided agree. */
    uint64_t applied = 0, decided = 0;
    sidik_control_txn *t;
    if ((rc = sidik_control_begin(a->o.control, false, &t)) != 0)
        return sidik_why(why, cap, rc, "the control store refused: %s", sidik_strerror(rc));
    if ((rc = sidik_control_applied(t, &applied)) == 0 &&
        (rc = sidik_control_decided(t, &decided)) == 0 &&
        (rc = sidik_control_review_count(t, &r.review_queue)) == 0)
        rc = sidik_control_print_count(t, &r.print_queue, NULL);
    sidik_control_abort(t);
    if (rc != 0)
        return sidik_why(why, cap, rc, "the control store refused: %s", sidik_strerror(rc));
    r.dedup_queue = applied > decided ? applied - decided : 0;
    rates(a, &r.decided_per_second, &r.capacity_per_day);
    char paused[160] = "";
    int down = a->o.dedup != NULL ? sidik_dedup_status(a->o.dedup) : 0;
    if (down != 0)
        snprintf(paused, sizeof paused,
                 "%s (%s): retried on its own; new uploads are refused meanwhile",
                 sidik_err_name(down), sidik_strerror(down));
    r.dedup_paused = paused;
    return sidik_pb_pack(&r.base, out, len);
}

/* ---- GetConfig ---------------------------------------------------------------------------- */

typedef char config_value[SIDIK_CONFIG_STR + 32];

static int get_config(sidik_admin *a, uint8_t **out, size_t *len, char *why, size_t cap)
{
    size_t n = 0;
    while (sidik_config_keys[n] != NULL)
        n++;
    config_value *v = sidik_trymalloc((n + 1) * sizeof *v);
    Sidik__V1__ConfigResponse__SettingsEntry *e = sidik_trymalloc((n + 1) * sizeof *e);
    Sidik__V1__ConfigResponse__SettingsEntry **ptrs = sidik_trymalloc((n + 1) * sizeof *ptrs);
    int rc = v == NULL || e == NULL || ptrs == NULL ? SIDIK_ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((rc = sidik_config_format(a->o.config, sidik_config_keys[i], v[i], sizeof v[i])) != 0)
            sidik_why(why, cap, rc, "setting %s cannot be shown: %s", sidik_config_keys[i],
                      sidik_strerror(rc));
        sidik__v1__config_response__settings_entry__init(&e[i]);
        e[i].key = (char *)sidik_config_keys[i];
        e[i].value = v[i];
        ptrs[i] = &e[i];
    }
    if (rc == 0) {
        Sidik__V1__ConfigResponse r;
        sidik__v1__config_response__init(&r);
        r.n_settings = n;
        r.settings = ptrs;
        rc = sidik_pb_pack(&r.base, out, len);
    }
    sidik_free(v);
    sidik_free(e);
    sidik_free(ptrs);
    return rc;
}

/* ---- the unary calls ---------------------------------------------------------------------- */

/* Every unary Admin request is an empty message: it must parse (unknown
 * fields are skipped, as protobuf's rules have it), and that is all. */
static int parses(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, char *why,
                  size_t cap)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &sidik_pb_alloc, n, p);
    if (m == NULL)
        return sidik_why(why, cap, SIDIK_EFORMAT, "the request does not parse as a %s",
                         d->short_name);
    protobuf_c_message_free_unpacked(m, &sidik_pb_alloc);
    return 0;
}

int sidik_admin_answer(sidik_admin *a, sidik_method m, const sidik_identity *who, const uint8_t *p,
                       size_t n, uint8_t **out, size_t *len, char *why, size_t cap)
{
    if (a == NULL || who == NULL || (p == NULL && n > 0) || out == NULL || len == NULL ||
        why == NULL || cap == 0)
        return SIDIK_EINVAL;
    why[0] = 0;
    if (!is_admin(who, why, cap))
        return SIDIK_EDENIED;
    const ProtobufCMessageDescriptor *d =
        m == SIDIK_METHOD_ADMIN_LIST_SHARDS  ? &sidik__v1__list_shards_request__descriptor
        : m == SIDIK_METHOD_ADMIN_ADD_SHARD  ? &sidik__v1__add_shard_request__descriptor
        : m == SIDIK_METHOD_ADMIN_STATS      ? &sidik__v1__stats_request__descriptor
        : m == SIDIK_METHOD_ADMIN_GET_CONFIG ? &sidik__v1__config_request__descriptor
                                             : NULL;
    if (d == NULL)
        return sidik_why(why, cap, SIDIK_EUNSUPPORTED, "not a unary Admin method");
    int rc = parses(d, p, n, why, cap);
    if (rc != 0)
        return rc;
    switch (m) {
    case SIDIK_METHOD_ADMIN_LIST_SHARDS:
        return list_shards(a, out, len, why, cap);
    case SIDIK_METHOD_ADMIN_ADD_SHARD:
        return add_shard(a, who, out, len, why, cap);
    case SIDIK_METHOD_ADMIN_STATS:
        return stats(a, out, len, why, cap);
    default:
        return get_config(a, out, len, why, cap);
    }
}

/* ---- Rebalance ----------------------------------------------------------------------------- */

/* On the rebalance thread, after the plan and after each batch. The loop
 * hears of it at most every progress_ms (uv_async_send also merges wakes
 * the loop has not taken yet); it reads the latest figures when it does. */
static void on_moved(void *ctx, uint64_t moved, uint64_t total)
{
    sidik_admin_job *j = ctx;
    pthread_mutex_lock(&j->mu);
    j->moved = moved;
    j->total = total;
    pthread_mutex_unlock(&j->mu);
    const sidik_admin_options *o = &j->admin->o;
    int64_t now = o->now_ns();
    /* The plan at once; then at most every interval. A test holding the
     * thread after a batch is sure the loop hears of that batch. */
    if (moved == 0 || now - j->posted_ns >= j->interval_ns || o->after_batch != NULL) {
        j->posted_ns = now;
        uv_async_send(&j->wake);
    }
    if (o->after_batch != NULL)
        o->after_batch(o->test_ctx, moved);
}

static void *rebalance_thread(void *arg)
{
    sidik_admin_job *j = arg;
    sidik_admin *a = j->admin;
    char detail[160];
    uint64_t moved = 0;
    snprintf(detail, sizeof detail, "rebalance started (max_moves %u%s)", j->max_moves,
             j->max_moves == 0 ? ": as many as balance needs" : "");
    int rc = audit(a, j->actor, "shards", detail);
    if (rc == 0) {
        sidik_rebalance_options ro = {
            .max_moves = j->max_moves, .progress = on_moved, .ctx = j, .cancel = &j->cancel};
        rc = sidik_shardset_rebalance_with(a->o.shards, &ro, &moved);
        int how = atomic_load(&j->cancel);
        if (rc == SIDIK_ECANCELLED && (how & CANCEL_STOP))
            rc = SIDIK_ESHUTDOWN;
        snprintf(detail, sizeof detail, "rebalance %s: %llu records moved%s%s",
                 rc == 0                  ? "finished"
                 : rc == SIDIK_ESHUTDOWN  ? "stopped (sidikd stopping)"
                 : rc == SIDIK_ECANCELLED ? "cancelled (the caller went away)"
                                          : "failed",
                 (unsigned long long)moved, rc != 0 ? "; error " : "",
                 rc != 0 ? sidik_err_name(rc) : "");
        int arc = audit(a, j->actor, "shards", detail);
        if (arc != 0)
            SIDIK_LOG_ERROR("the audit log refused a rebalance's end", "moved=%llu error=%s",
                            (unsigned long long)moved, sidik_err_name(arc));
        SIDIK_LOG_INFO("admin rebalance ended", "actor=%s moved=%llu error=%s", j->actor,
                       (unsigned long long)moved, sidik_err_name(rc));
    }
    /* After this a may be destroyed: the job alone is touched from here. */
    pthread_mutex_lock(&a->mu);
    a->running = NULL;
    pthread_cond_broadcast(&a->idle);
    pthread_mutex_unlock(&a->mu);
    pthread_mutex_lock(&j->mu);
    j->moved = moved;
    if (rc == 0)
        j->total = moved; /* done: what was planned and what moved are one */
    j->rc = rc;
    j->finished = true;
    pthread_mutex_unlock(&j->mu);
    uv_async_send(&j->wake);
    return NULL;
}

static void job_free(uv_handle_t *h)
{
    sidik_admin_job *j = h->data;
    pthread_mutex_destroy(&j->mu);
    sidik_free(j);
}

static void send_progress(sidik_admin_job *j, uint64_t moved, uint64_t total, bool done)
{
    Sidik__V1__RebalanceProgress m;
    sidik__v1__rebalance_progress__init(&m);
    m.moved = moved;
    m.total = total;
    m.done = done;
    uint8_t buf[64]; /* three fields: at most 2 * 11 + 2 bytes */
    size_t n = sidik__v1__rebalance_progress__pack(&m, buf);
    j->sent = true;
    j->sent_moved = moved;
    j->sent_total = total;
    j->cb->progress(j->ctx, buf, n);
}

/* On the call's loop: the latest figures to the caller, and at the end
 * the last message and done, the thread joined (it has nothing left but
 * to return) and the handle closed, which frees the job. */
static void on_wake(uv_async_t *h)
{
    sidik_admin_job *j = h->data;
    pthread_mutex_lock(&j->mu);
    uint64_t moved = j->moved, total = j->total;
    bool finished = j->finished;
    int rc = j->rc;
    pthread_mutex_unlock(&j->mu);
    if (j->cb != NULL && !finished &&
        (!j->sent || moved != j->sent_moved || total != j->sent_total))
        send_progress(j, moved, total, false);
    if (!finished)
        return;
    if (j->cb != NULL) {
        const sidik_admin_rebalance_cb *cb = j->cb;
        if (rc == 0) {
            send_progress(j, moved, total, true);
            j->cb = NULL;
            cb->done(j->ctx, 0, NULL);
        } else {
            j->cb = NULL;
            if (rc == SIDIK_ESHUTDOWN)
                snprintf(j->why, sizeof j->why,
                         "sidikd is stopping: the rebalance stopped after %llu records moved, "
                         "which stay moved; start it again later",
                         (unsigned long long)moved);
            else
                snprintf(j->why, sizeof j->why,
                         "the rebalance stopped after %llu records moved, which stay moved: %s",
                         (unsigned long long)moved, sidik_strerror(rc));
            cb->done(j->ctx, rc, j->why);
        }
    }
    pthread_join(j->thread, NULL);
    uv_close((uv_handle_t *)&j->wake, job_free);
}

int sidik_admin_rebalance_start(sidik_admin *a, uv_loop_t *loop, const sidik_identity *who,
                                const uint8_t *p, size_t n, const sidik_admin_rebalance_cb *cb,
                                void *ctx, sidik_admin_job **job, char *why, size_t cap)
{
    if (a == NULL || loop == NULL || who == NULL || (p == NULL && n > 0) || cb == NULL ||
        cb->progress == NULL || cb->done == NULL || job == NULL || why == NULL || cap == 0)
        return SIDIK_EINVAL;
    why[0] = 0;
    if (!is_admin(who, why, cap))
        return SIDIK_EDENIED;
    Sidik__V1__RebalanceRequest *req = sidik__v1__rebalance_request__unpack(&sidik_pb_alloc, n, p);
    if (req == NULL)
        return sidik_why(why, cap, SIDIK_EFORMAT,
                         "the request does not parse as a RebalanceRequest");
    uint32_t max_moves = req->max_moves;
    sidik__v1__rebalance_request__free_unpacked(req, &sidik_pb_alloc);

    pthread_mutex_lock(&a->mu);
    int rc = 0;
    sidik_admin_job *j = NULL;
    if (a->stopping)
        rc = sidik_why(why, cap, SIDIK_ESHUTDOWN,
                       "sidikd is stopping; start the rebalance again once it is back");
    else if (a->running != NULL)
        rc = sidik_why(why, cap, SIDIK_ESTATE, "a rebalance is already running (started by %s)",
                       a->by);
    else if ((j = sidik_trycalloc(1, sizeof *j)) == NULL)
        rc = sidik_why(why, cap, SIDIK_ENOMEM, "out of memory");
    if (rc == 0) {
        j->admin = a;
        j->max_moves = max_moves;
        j->interval_ns = (int64_t)a->o.progress_ms * 1000000;
        j->cb = cb;
        j->ctx = ctx;
        snprintf(j->actor, sizeof j->actor, "admin:%s", who->name);
        pthread_mutex_init(&j->mu, NULL);
        j->wake.data = j;
        if ((rc = uv_async_init(loop, &j->wake, on_wake)) != 0) {
            pthread_mutex_destroy(&j->mu);
            sidik_free(j);
            sidik_why(why, cap, rc, "cannot start the rebalance: %s", uv_strerror(rc));
        } else if ((rc = -pthread_create(&j->thread, NULL, rebalance_thread, j)) != 0) {
            uv_close((uv_handle_t *)&j->wake, job_free);
            sidik_why(why, cap, rc, "cannot start the rebalance's thread: %s", sidik_strerror(rc));
        } else {
            a->running = j;
            snprintf(a->by, sizeof a->by, "%s", j->actor);
            *job = j;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void sidik_admin_rebalance_cancel(sidik_admin_job *job)
{
    if (job == NULL)
        return;
    job->cb = NULL;
    atomic_fetch_or(&job->cancel, CANCEL_GONE);
}
