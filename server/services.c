/*
 * sidikd's gRPC services, dispatched by method: Ingest.Upload and
 * UploadChunks to the ingest service (sidik/ingest.h), Status, Print and Audit to the control
 * store (sidik/status_service.h, sidik/print_service.h,
 * sidik/audit_service.h), Admin to the shard set, the dedup stage and
 * the settings (sidik/admin_service.h; Rebalance on a thread of its own,
 * its progress handed back to the call's loop), and the rest, not yet
 * wired to the pipeline,
 * answered UNIMPLEMENTED after their request is read (so size limits and
 * deadlines apply as they will).
 */
#include "sidik/common.h"
#include "sidik/admin_service.h"
#include "sidik/status_service.h"
#include "sidikd.h"

#include <string.h>

static sidik_method method_of(sidik_h2_call *call)
{
    return sidik_h2_call_method(call)->method;
}

static void not_wired(sidik_h2_call *call)
{
    SIDIK_LOG_DEBUG("call not served", "method=%s", sidik_h2_call_method(call)->path);
    sidik_h2_call_finish(call, SIDIK_GRPC_UNIMPLEMENTED,
                         "this sidikd build does not serve this method yet (see README.md)");
}

/* Ends a unary call: the answer out (handed over, freed here) when rc is 0,
 * else rc's status with why (NULL or empty: the code's own words). */
static void reply(sidik_h2_call *call, int rc, uint8_t *out, size_t len, const char *why)
{
    if (rc == 0)
        rc = sidik_h2_call_send(call, out, len);
    sidik_free(out);
    if (rc == 0)
        sidik_h2_call_finish(call, SIDIK_GRPC_OK, NULL);
    else
        sidik_h2_call_finish(call, sidik_err_grpc(rc),
                             why != NULL && why[0] ? why
                             : rc == SIDIK_EFORMAT ? "the request does not parse"
                                                   : sidik_strerror(rc));
}

static void answer_status(daemon_t *d, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    uint8_t *out = NULL;
    size_t len = 0;
    const char *why = NULL;
    int rc = sidik_status_answer(d->control, method_of(call), sidik_h2_call_peer(call), p, n, &out,
                                 &len, &why);
    reply(call, rc, out, len, why);
}

/* Print calls are rare (a station every few seconds) and one short write
 * transaction each: they run on the loop's thread like Status, waiting at
 * most for the one writer in progress. */
static void answer_print(daemon_t *d, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    uint8_t *out = NULL;
    size_t len = 0;
    char why[256] = "";
    int rc = sidik_print_answer(&d->print, method_of(call), sidik_h2_call_peer(call), p, n, &out,
                                &len, why, sizeof why);
    reply(call, rc, out, len, why);
}

/* Admin calls are rare and short (a shard listed or made, figures read,
 * settings shown): on the loop's thread like Status. Rebalance is the
 * exception: it runs on its own thread (below). */
static void answer_admin(daemon_t *d, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    uint8_t *out = NULL;
    size_t len = 0;
    char why[256] = "";
    int rc = sidik_admin_answer(d->admin, method_of(call), sidik_h2_call_peer(call), p, n, &out,
                                &len, why, sizeof why);
    reply(call, rc, out, len, why);
}

/* Admin.Rebalance streams progress from the rebalance's thread, handed to
 * this loop by the service; the call's data is the job while it runs. */
static void rebalance_progress(void *ctx, const uint8_t *p, size_t n)
{
    sidik_h2_call_send(ctx, p, n); /* SIDIK_ESTATE once a deadline or a stop finished the call */
}

static void rebalance_done(void *ctx, int rc, const char *why)
{
    sidik_h2_call *call = ctx;
    sidik_h2_call_set_data(call, NULL);
    if (rc == 0)
        sidik_h2_call_finish(call, SIDIK_GRPC_OK, NULL);
    else
        sidik_h2_call_finish(call, sidik_err_grpc(rc), why);
}

static const sidik_admin_rebalance_cb rebalance_cb = {rebalance_progress, rebalance_done};

static void start_rebalance(io_loop *l, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    if (sidik_h2_call_data(call) != NULL) { /* on_close cancels the one running */
        sidik_h2_call_finish(call, SIDIK_GRPC_INTERNAL, "a Rebalance carries one request message");
        return;
    }
    sidik_admin_job *job;
    char why[256];
    int rc = sidik_admin_rebalance_start(l->d->admin, l->loop, sidik_h2_call_peer(call), p, n,
                                         &rebalance_cb, call, &job, why, sizeof why);
    if (rc == 0)
        sidik_h2_call_set_data(call, job);
    else
        sidik_h2_call_finish(call, sidik_err_grpc(rc), why[0] ? why : sidik_strerror(rc));
}

/* Audit calls: auditors, a handful of people; reads are bounded per page
 * (sidik/audit_service.h) and an adjudication is one write transaction, so
 * they run on the loop's thread like Print (VerifyChain alone does not:
 * start_verify below). */
static void answer_audit(daemon_t *d, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    uint8_t *out = NULL;
    size_t len = 0;
    char why[256] = "";
    int rc = sidik_audit_answer(&d->audit, method_of(call), sidik_h2_call_peer(call), p, n, &out,
                                &len, why, sizeof why);
    reply(call, rc, out, len, why);
}

/* VerifyChain walks the whole audit chain, a SHA-256 and an LMDB read per
 * entry: seconds at a million entries, minutes at the hundreds of millions
 * a national store reaches. So it runs on libuv's thread pool and its
 * answer comes back on the loop's thread; the loop keeps serving meanwhile.
 * A call that closes first only clears job->call (its answer is dropped).
 * A pending job keeps its loop running, so a stop waits for it and the
 * control store is never closed under it. */
typedef struct verify_job {
    uv_work_t req;
    daemon_t *d;
    sidik_h2_call *call; /* NULL once the call closed */
    sidik_identity peer;
    uint8_t *in, *out;
    size_t n, len;
    int rc;
    char why[256];
} verify_job;

static void verify_work(uv_work_t *req)
{
    verify_job *j = SIDIK_CONTAINER_OF(req, verify_job, req);
    j->why[0] = 0;
    j->rc = sidik_audit_answer(&j->d->audit, SIDIK_METHOD_AUDIT_VERIFY_CHAIN, &j->peer, j->in,
                               j->n, &j->out, &j->len, j->why, sizeof j->why);
}

static void verify_done(uv_work_t *req, int status)
{
    verify_job *j = SIDIK_CONTAINER_OF(req, verify_job, req);
    if (j->call != NULL) {
        sidik_h2_call_set_data(j->call, NULL);
        reply(j->call, status != 0 ? SIDIK_ECANCELLED : j->rc, j->out, j->len, j->why);
    } else {
        sidik_free(j->out);
    }
    sidik_free(j->in);
    sidik_free(j);
}

static void start_verify(io_loop *l, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    if (sidik_h2_call_data(call) != NULL) {
        sidik_h2_call_finish(call, SIDIK_GRPC_INTERNAL, "a unary call carries one request message");
        return;
    }
    verify_job *j = sidik_trycalloc(1, sizeof *j);
    uint8_t *in = j != NULL ? sidik_trymalloc(n ? n : 1) : NULL;
    if (in == NULL) {
        sidik_free(j);
        sidik_h2_call_finish(call, SIDIK_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    if (n > 0)
        memcpy(in, p, n);
    *j = (verify_job){.d = l->d, .call = call, .peer = *sidik_h2_call_peer(call), .in = in, .n = n};
    int rc = uv_queue_work(l->loop, &j->req, verify_work, verify_done);
    if (rc != 0) {
        sidik_free(in);
        sidik_free(j);
        sidik_h2_call_finish(call, SIDIK_GRPC_UNAVAILABLE, uv_strerror(rc));
        return;
    }
    sidik_h2_call_set_data(call, j);
}

static int on_call(void *ctx, sidik_h2_call *call)
{
    io_loop *l = ctx;
    sidik_metrics_add(l->d->metrics, SIDIK_M_STREAMS_OPEN, 1);
    if (method_of(call) == SIDIK_METHOD_INGEST_UPLOAD ||
        method_of(call) == SIDIK_METHOD_INGEST_UPLOAD_CHUNKS)
        return sidik_ingest_on_call(l->port, call);
    return 0;
}

static int on_message(void *ctx, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    io_loop *l = ctx;
    switch (method_of(call)) {
    case SIDIK_METHOD_INGEST_UPLOAD:
    case SIDIK_METHOD_INGEST_UPLOAD_CHUNKS:
        return sidik_ingest_on_message(l->port, call, p, n);
    case SIDIK_METHOD_STATUS_GET:
    case SIDIK_METHOD_STATUS_LIST:
        answer_status(l->d, call, p, n); /* unary: a second message finds the call finished */
        return 0;
    case SIDIK_METHOD_PRINT_LEASE:
    case SIDIK_METHOD_PRINT_ACK:
        answer_print(l->d, call, p, n);
        return 0;
    case SIDIK_METHOD_AUDIT_GET_DECISION:
    case SIDIK_METHOD_AUDIT_SEARCH_DECISIONS:
    case SIDIK_METHOD_AUDIT_REVIEW_QUEUE:
    case SIDIK_METHOD_AUDIT_ADJUDICATE:
        answer_audit(l->d, call, p, n);
        return 0;
    case SIDIK_METHOD_AUDIT_VERIFY_CHAIN:
        start_verify(l, call, p, n);
        return 0;
    case SIDIK_METHOD_ADMIN_LIST_SHARDS:
    case SIDIK_METHOD_ADMIN_ADD_SHARD:
    case SIDIK_METHOD_ADMIN_STATS:
    case SIDIK_METHOD_ADMIN_GET_CONFIG:
        answer_admin(l->d, call, p, n);
        return 0;
    case SIDIK_METHOD_ADMIN_REBALANCE:
        start_rebalance(l, call, p, n);
        return 0;
    default:
        not_wired(call);
        return 0;
    }
}

static void on_half_close(void *ctx, sidik_h2_call *call)
{
    io_loop *l = ctx;
    switch (method_of(call)) {
    case SIDIK_METHOD_INGEST_UPLOAD:
    case SIDIK_METHOD_INGEST_UPLOAD_CHUNKS:
        sidik_ingest_on_half_close(l->port, call);
        return;
    case SIDIK_METHOD_STATUS_GET:
    case SIDIK_METHOD_STATUS_LIST:
    case SIDIK_METHOD_PRINT_LEASE:
    case SIDIK_METHOD_PRINT_ACK:
    case SIDIK_METHOD_AUDIT_GET_DECISION:
    case SIDIK_METHOD_AUDIT_SEARCH_DECISIONS:
    case SIDIK_METHOD_AUDIT_REVIEW_QUEUE:
    case SIDIK_METHOD_AUDIT_ADJUDICATE:
    case SIDIK_METHOD_ADMIN_LIST_SHARDS:
    case SIDIK_METHOD_ADMIN_ADD_SHARD:
    case SIDIK_METHOD_ADMIN_STATS:
    case SIDIK_METHOD_ADMIN_GET_CONFIG:
        /* SIDIK_ESTATE when the request was answered: the usual case. */
        sidik_h2_call_finish(call, SIDIK_GRPC_INTERNAL, "a unary call carries one request message");
        return;
    case SIDIK_METHOD_AUDIT_VERIFY_CHAIN:
        /* Answered when the walk is done; without a request it never began
         * (SIDIK_ESTATE when already answered). */
        if (sidik_h2_call_data(call) == NULL)
            sidik_h2_call_finish(call, SIDIK_GRPC_INTERNAL, "a unary call carries one request message");
        return;
    case SIDIK_METHOD_ADMIN_REBALANCE:
        /* The request's end, not the call's: the progress stream goes on
         * until the rebalance is done. Without a request it never began. */
        if (sidik_h2_call_data(call) == NULL)
            sidik_h2_call_finish(call, SIDIK_GRPC_INTERNAL,
                                 "a Rebalance carries one request message");
        return;
    default:
        not_wired(call); /* SIDIK_ESTATE when a message already answered it */
    }
}

static void on_close(void *ctx, sidik_h2_call *call)
{
    io_loop *l = ctx;
    sidik_metrics_add(l->d->metrics, SIDIK_M_STREAMS_OPEN, -1);
    if (method_of(call) == SIDIK_METHOD_INGEST_UPLOAD ||
        method_of(call) == SIDIK_METHOD_INGEST_UPLOAD_CHUNKS)
        sidik_ingest_on_close(l->port, call);
    else if (method_of(call) == SIDIK_METHOD_ADMIN_REBALANCE)
        sidik_admin_rebalance_cancel(sidik_h2_call_data(call)); /* NULL: none running */
    else if (method_of(call) == SIDIK_METHOD_AUDIT_VERIFY_CHAIN && sidik_h2_call_data(call))
        ((verify_job *)sidik_h2_call_data(call))->call = NULL; /* its answer has no one to go to */
}

const sidik_h2_callbacks sidikd_services = {on_call, on_message, on_half_close, on_close};
