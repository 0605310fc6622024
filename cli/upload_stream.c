/*
 * One upload stream (upload_int.h): captures taken from the spool in
 * capture order, sent whole (Ingest.Upload) or in pieces
 * (Ingest.UploadChunks), and each answer recorded in the spool as it comes.
 *
 * At most `concurrency` captures are unanswered at a time: enough to keep
 * a long, thin link busy (four 25 KB enrollments are 0.8 s at 1 Mbit/s,
 * longer than a 300 ms round trip), few enough that a cut costs little
 * more than what was on the wire. On Upload the server answers in order;
 * on UploadChunks answers name their enrollment.
 */
#include "upload_int.h"

#include "cli.h"
#include "sidik/common.h"
#include "sidik.pb-c.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

/* The stream's deadline (grpc-timeout); it is closed and another opened
 * well before, after ROTATE_NS, so a long backlog never runs into it. */
#define STREAM_DEADLINE_MS (60u * 60 * 1000)
#define ROTATE_NS          (10ll * 60 * 1000000000)
/* Plain mode: captures are queued while less than this waits for the
 * window (the window itself is the server's, 1 MiB for sidikd). */
#define FEED_BYTES (256u << 10)
/* Chunked mode: a capture whose bytes are all out but that has no receipt
 * asks again how much the server holds this often, in case the last
 * pieces reached it on a stream that was cut before its answer. */
#define REASK_NS (5ll * 1000000000)
#define PUMP_MS  100

int64_t sidik__upload_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sidik__upload_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *grpc_name(int code)
{
    return sidik_grpc_status_name((sidik_grpc_status)code);
}

/* ---- the captures in flight ------------------------------------------------------ */

static void forget(up_run *run, size_t i)
{
    sidik_free(run->items[i].body);
    memmove(&run->items[i], &run->items[i + 1], (run->nitems - i - 1) * sizeof run->items[0]);
    run->nitems--;
}

void sidik__upload_fail_all(up_run *run)
{
    if (run->nitems == 0)
        return;
    uint64_t seqs[SIDIK_UPLOAD_MAX_CONCURRENCY];
    for (size_t i = 0; i < run->nitems; i++)
        seqs[i] = run->items[i].seq;
    int rc = sidik_spool_mark_failed(run->sp, seqs, run->nitems, sidik__upload_now_ms(), NULL);
    if (rc != 0)
        fprintf(run->o->err, "sidik %s: cannot record %zu failed attempts in the spool: %s\n",
                run->o->cmd, run->nitems, sidik_strerror(rc));
    run->t->failed += run->nitems;
    while (run->nitems > 0)
        forget(run, run->nitems - 1);
}

static size_t find(const up_run *run, const char *id)
{
    for (size_t i = 0; i < run->nitems; i++)
        if (strcmp(run->items[i].id, id) == 0)
            return i;
    return SIZE_MAX;
}

static bool in_flight(const up_run *run, uint64_t seq)
{
    for (size_t i = 0; i < run->nitems; i++)
        if (run->items[i].seq == seq)
            return true;
    return false;
}

/* Takes up to max due captures from the spool onto the wire: read, marked
 * SENT (leased), listed in flight. Returns how many. */
static size_t take(up_run *run, size_t max)
{
    uint64_t seqs[SIDIK_UPLOAD_MAX_CONCURRENCY], sent[SIDIK_UPLOAD_MAX_CONCURRENCY];
    size_t n = 0, k = 0;
    int64_t now = sidik__upload_now_ms();
    /* More than asked for: some may be in flight already (a lease that ran
     * out while a big capture crawled over a thin link). */
    size_t want = max + run->nitems;
    if (want > SIDIK_UPLOAD_MAX_CONCURRENCY)
        want = SIDIK_UPLOAD_MAX_CONCURRENCY;
    int rc = sidik_spool_next(run->sp, now, seqs, want, &n, NULL);
    if (rc != 0) {
        fprintf(run->o->err, "sidik %s: cannot read the spool: %s\n", run->o->cmd,
                sidik_strerror(rc));
        run->fatal = SIDIK_CLI_EXIT_FAIL;
        return 0;
    }
    for (size_t i = 0; i < n && k < max; i++) {
        if (in_flight(run, seqs[i]))
            continue;
        sidik_spool_entry e;
        up_item it = {.seq = seqs[i]};
        rc = sidik_spool_get(run->sp, seqs[i], &e);
        if (rc == 0)
            rc = sidik_spool_body(run->sp, seqs[i], &it.body, &it.n);
        if (rc != 0) {
            /* The station's own copy is damaged or gone: nothing can be
             * sent, so it is refused here, for the operator to capture
             * the person again. */
            fprintf(run->o->err,
                    "sidik %s: capture %" PRIu64 " cannot be read from the spool (%s); "
                    "recorded as refused: capture the person again\n",
                    run->o->cmd, seqs[i], sidik_strerror(rc));
            sidik_spool_mark_refused(run->sp, seqs[i], SIDIK_GRPC_DATA_LOSS,
                                     "the spool's copy is damaged; capture the person again", now);
            run->t->refused++;
            continue;
        }
        memcpy(it.id, e.id, sizeof it.id);
        memcpy(it.sha, e.sha256, 32);
        /* A capture sent before may be partly at the server. */
        it.resume = e.status == SIDIK_STATUS_SENT;
        it.known = !it.resume;
        run->items[run->nitems++] = it;
        sent[k++] = seqs[i];
    }
    if (k == 0)
        return 0;
    rc = sidik_spool_mark_sent(run->sp, sent, k, now, run->o->lease_ms);
    if (rc != 0) {
        fprintf(run->o->err, "sidik %s: cannot record sends in the spool: %s\n", run->o->cmd,
                sidik_strerror(rc));
        run->fatal = SIDIK_CLI_EXIT_FAIL;
    }
    return k;
}

/* ---- answers --------------------------------------------------------------------- */

/* The server's words for a refusal: its reason, then each field error. */
static void refusal_text(const Sidik__V1__Receipt *r, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "%s", r->reason != NULL ? r->reason : "");
    for (size_t i = 0; i < r->n_field_errors && o < cap; i++) {
        const Sidik__V1__FieldError *f = r->field_errors[i];
        o += (size_t)snprintf(out + o, cap - o, "%s%s %s (%s)", o > 0 ? "; " : "",
                              f->field && f->field[0] ? f->field : "enrollment",
                              f->reason_code ? f->reason_code : "", f->detail ? f->detail : "");
    }
}

/* What the centre answered for capture it (a Receipt), recorded. */
static void answered(up_run *run, const up_item *it, const Sidik__V1__Receipt *r)
{
    int64_t now = sidik__upload_now_ms();
    const char *cmd = run->o->cmd;
    run->alive_ns = sidik__upload_mono_ns();
    if (r->code == 0) {
        if (r->content_sha256.len == 32 && memcmp(r->content_sha256.data, it->sha, 32) != 0) {
            /* Cannot happen through TLS unless the server or the spool is
             * wrong: not recorded, so the capture stays due and is seen. */
            fprintf(run->o->err,
                    "sidik %s: %s: the centre's content hash differs from the "
                    "spool's; not recorded as received, it will be sent again\n",
                    cmd, it->id);
            sidik_spool_mark_failed(run->sp, &it->seq, 1, now, NULL);
            run->t->failed++;
            return;
        }
        sidik_spool_receipt rec = {.journal_seq = r->journal_seq,
                                   .received_time_ms = r->received_time_ms};
        if (r->content_sha256.len == 32)
            memcpy(rec.content_sha256, r->content_sha256.data, 32);
        int rc = sidik_spool_mark_received(run->sp, it->seq, &rec, now);
        if (rc != 0 && rc != SIDIK_EEXISTS)
            fprintf(run->o->err, "sidik %s: %s: cannot record the receipt in the spool: %s\n", cmd,
                    it->id, sidik_strerror(rc));
        if (rc == 0 && r->status > SIDIK__V1__ENROLLMENT_STATUS__RECEIVED &&
            r->status <= SIDIK__V1__ENROLLMENT_STATUS__PRINTED)
            sidik_spool_set_status(run->sp, it->seq, (sidik_status)r->status, now);
        run->t->received++;
        run->answered++;
        if (r->resend)
            run->t->resent++;
        return;
    }
    char why[SIDIK_SPOOL_REASON_MAX + 1];
    refusal_text(r, why, sizeof why);
    if (r->code == SIDIK_GRPC_INVALID_ARGUMENT || r->code == SIDIK_GRPC_ALREADY_EXISTS) {
        /* Sending the same bytes again gets the same answer: for good. */
        int rc = sidik_spool_mark_refused(run->sp, it->seq, r->code, why, now);
        if (rc != 0)
            fprintf(run->o->err, "sidik %s: %s: cannot record the refusal in the spool: %s\n", cmd,
                    it->id, sidik_strerror(rc));
        fprintf(run->o->err, "sidik %s: %s refused: %s: %s\n", cmd, it->id, grpc_name(r->code),
                why);
        run->t->refused++;
        run->answered++;
        return;
    }
    /* The journal stopped or is full, the control store unreadable: the
     * server kept nothing and says to send it again later. */
    fprintf(run->o->err, "sidik %s: %s not taken now: %s: %s; it will be retried\n", cmd, it->id,
            grpc_name(r->code), why);
    sidik_spool_mark_failed(run->sp, &it->seq, 1, now, NULL);
    run->t->failed++;
}

static int on_receipt(void *ctx, ProtobufCMessage *m)
{
    up_run *run = ctx;
    const Sidik__V1__Receipt *r = (const Sidik__V1__Receipt *)m;
    /* Upload answers in order; the id is checked all the same, and an
     * answer for a message that did not parse has none (then order says). */
    size_t i = r->enrollment_id != NULL && r->enrollment_id[0] ? find(run, r->enrollment_id) : 0;
    if (i < run->nitems) {
        answered(run, &run->items[i], r);
        forget(run, i);
    } else {
        fprintf(run->o->err, "sidik %s: a receipt for %s, which is not in flight; ignored\n",
                run->o->cmd, r->enrollment_id);
    }
    sidik_rpc_message_free(m);
    return 0;
}

static int on_chunk_receipt(void *ctx, ProtobufCMessage *m)
{
    up_run *run = ctx;
    const Sidik__V1__ChunkReceipt *cr = (const Sidik__V1__ChunkReceipt *)m;
    size_t i = cr->enrollment_id != NULL ? find(run, cr->enrollment_id) : SIZE_MAX;
    run->alive_ns = sidik__upload_mono_ns();
    run->chunks_ok = true;
    if (i >= run->nitems) {
        fprintf(run->o->err, "sidik %s: a chunk receipt for %s, which is not in flight; ignored\n",
                run->o->cmd, cr->enrollment_id != NULL ? cr->enrollment_id : "(no id)");
    } else if (cr->receipt != NULL) {
        answered(run, &run->items[i], cr->receipt);
        forget(run, i);
    } else {
        up_item *it = &run->items[i];
        uint64_t held = cr->held_bytes < it->n ? cr->held_bytes : it->n;
        if (it->outstanding > 0)
            it->outstanding--; /* every chunk, a question too, gets one answer */
        if (!it->known) {
            /* The answer to "how much do you hold": go on from there. */
            it->known = true;
            it->off = held;
        } else if (!it->queued_all && held > it->off) {
            it->off = held; /* it holds more than we thought: skip that */
        } else if (held < it->off && it->outstanding == 0) {
            /* Every piece sent is answered and the server holds less: it
             * let its staging go (idle, restarted, short of room), or
             * refused pieces out of place. Go on from what it holds. */
            it->off = held;
            it->queued_all = false;
        }
    }
    sidik_rpc_message_free(m);
    return 0;
}

/* ---- sending --------------------------------------------------------------------- */

static int send_chunk(up_run *run, sidik_rpc_bidi *b, up_item *it, uint64_t off, size_t len)
{
    Sidik__V1__EnrollmentChunk ch = SIDIK__V1__ENROLLMENT_CHUNK__INIT;
    ch.enrollment_id = it->id;
    ch.content_sha256 = (ProtobufCBinaryData){32, it->sha};
    ch.total_bytes = it->n;
    ch.offset = off;
    ch.data = (ProtobufCBinaryData){len, len > 0 ? it->body + off : NULL};
    int rc = sidik_rpc_bidi_send(b, &ch.base);
    if (rc == 0) {
        run->t->bytes_queued += protobuf_c_message_get_packed_size(&ch.base) + 5;
        it->outstanding++;
    }
    return rc;
}

/* Queues what the window will take soon of each capture in flight, in
 * order, and takes more from the spool while there is room. */
static int feed(up_run *run, sidik_rpc_bidi *b, bool draining)
{
    uint32_t chunk = run->o->chunk_bytes;
    if (run->chunked && !run->chunks_ok) {
        /* A stream opens with a question: "how much of this do you hold"
         * for its first capture, and nothing else until the answer. A
         * server without UploadChunks answers UNIMPLEMENTED instead, and
         * no piece was sent in vain: whatever is written to the socket
         * crosses the link even once the stream is reset, and on a thin
         * link a socket buffer holds many seconds of it. */
        if (run->nitems == 0 && (draining || take(run, 1) == 0))
            return 0;
        up_item *it = &run->items[0];
        if (it->asked_ns == 0) {
            int rc = send_chunk(run, b, it, 0, 0);
            if (rc != 0)
                return rc;
            it->asked_ns = sidik__upload_mono_ns();
        }
        return 0;
    }
    for (;;) {
        bool blocked = false;
        for (size_t i = 0; i < run->nitems && !blocked; i++) {
            up_item *it = &run->items[i];
            if (!run->chunked) {
                if (it->queued_all)
                    continue;
                int rc = sidik_rpc_bidi_send_packed(b, it->body, it->n);
                if (rc != 0)
                    return rc;
                run->t->bytes_queued += it->n + 5;
                it->queued_all = true;
                continue;
            }
            int64_t now = sidik__upload_mono_ns();
            if ((!it->known && it->asked_ns == 0) ||
                (it->queued_all && it->asked_ns != 0 && now - it->asked_ns > REASK_NS)) {
                int rc = send_chunk(run, b, it, it->known ? it->off : 0, 0);
                if (rc != 0)
                    return rc;
                it->asked_ns = now;
            }
            if (!it->known) {
                blocked = true; /* the next bytes wait for its answer */
                break;
            }
            while (it->off < it->n && sidik_rpc_bidi_unsent(b) < 2 * (size_t)chunk) {
                size_t len = it->n - it->off < chunk ? it->n - it->off : chunk;
                int rc = send_chunk(run, b, it, it->off, len);
                if (rc != 0)
                    return rc;
                it->off += len;
            }
            if (it->off < it->n) {
                blocked = true;
                break;
            }
            if (!it->queued_all) {
                it->queued_all = true;
                it->asked_ns = now; /* the reference for asking again */
            }
        }
        if (blocked || draining || run->fatal || run->nitems >= run->o->concurrency ||
            (!run->chunked && sidik_rpc_bidi_unsent(b) > FEED_BYTES))
            return 0;
        if (take(run, run->chunked ? 1 : run->o->concurrency - run->nitems) == 0)
            return 0;
    }
}

/* The stall watchdog: with captures in flight, something must show the
 * link alive (bytes read, or bytes written acknowledged by the server's
 * TCP) within the settings' timeout, or the connection is given up on. A link that died
 * without a reset (a NAT that dropped the flow) shows nothing at all. A
 * server that is only slow to make receipts durable is alive, and says so
 * by answering a PING, sent once half the timeout passed in silence. */
static bool stalled(up_run *run)
{
    sidik_rpc_io_counts now;
    sidik_rpc_io(run->c, &now);
    int64_t t = sidik__upload_mono_ns(), limit = (int64_t)run->timeout_ms * 1000000;
    if (now.received != run->io.received || now.acked != run->io.acked || run->nitems == 0) {
        run->alive_ns = t;
        run->pinged = false;
    }
    run->io = now;
    if (run->nitems > 0 && !run->pinged && t - run->alive_ns > limit / 2) {
        sidik_rpc_ping(run->c);
        run->pinged = true;
    }
    return run->nitems > 0 && t - run->alive_ns > limit;
}

/* The stream is over: what it came to, and what happens next. */
static int ended(up_run *run, sidik_rpc_bidi *b, bool clean)
{
    sidik_rpc_status st;
    int rc = sidik_rpc_bidi_finish(b, &st);
    const char *cmd = run->o->cmd;
    if (rc == 0 && st.code == 0 && run->nitems == 0)
        return clean ? UP_IDLE : UP_AGAIN;
    if (rc == 0 && st.code == SIDIK_GRPC_UNIMPLEMENTED && run->chunked) {
        fprintf(run->o->err,
                "sidik %s: %s does not serve Ingest.UploadChunks (UNIMPLEMENTED: %s); sending "
                "whole enrollments over Ingest.Upload instead\n",
                cmd, run->server, st.message);
        run->chunked = false;
        run->t->chunks_unimplemented = true;
        /* What was in flight goes again, whole, on the next stream. */
        for (size_t i = 0; i < run->nitems; i++)
            run->items[i].queued_all = false;
        return UP_AGAIN;
    }
    if (rc == 0 && st.code == SIDIK_GRPC_RESOURCE_EXHAUSTED && !run->chunked) {
        /* Most likely a capture over the centre's message limit: it would
         * fail every time, so the operator is told what to change. */
        size_t big = 0;
        for (size_t i = 0; i < run->nitems; i++)
            big = run->items[i].n > big ? run->items[i].n : big;
        fprintf(run->o->err,
                "sidik %s: the centre refused a message (RESOURCE_EXHAUSTED: %s); the largest "
                "capture in flight is %zu bytes: sidikd's max_message_bytes must be above it "
                "(default 4 MiB; --chunked does not help, the centre takes no enrollment "
                "larger than that in chunks either)\n",
                cmd, st.message, big);
    }
    sidik__upload_fail_all(run);
    if (rc == 0 &&
        (st.code == SIDIK_GRPC_PERMISSION_DENIED || st.code == SIDIK_GRPC_UNAUTHENTICATED)) {
        fprintf(run->o->err,
                "sidik %s: %s refused the upload: %s: %s; this certificate is %s '%s': uploading "
                "needs an office certificate (--cert, --key)\n",
                cmd, run->server, grpc_name(st.code), st.message, sidik_rpc_role(run->c),
                sidik_rpc_name(run->c));
        run->fatal = SIDIK_CLI_EXIT_DENIED;
        return UP_FATAL;
    }
    if (rc == 0 && st.code == SIDIK_GRPC_UNIMPLEMENTED) {
        fprintf(run->o->err,
                "sidik %s: %s does not serve Ingest.Upload (UNIMPLEMENTED: %s); is "
                "it older than this sidik?\n",
                cmd, run->server, st.message);
        run->fatal = SIDIK_CLI_EXIT_FAIL;
        return UP_FATAL;
    }
    fprintf(run->o->err, "sidik %s: the upload stream ended: %s: %s; %s\n", cmd, grpc_name(st.code),
            st.message,
            rc != 0 && rc != SIDIK_ETIMEOUT && rc != SIDIK_ECANCELLED && rc != SIDIK_EBUSY
                ? "reconnecting"
                : "opening another");
    /* A failure of the call alone leaves the connection usable; anything
     * else (reset, TLS error, GOAWAY) needs a new one. */
    return rc == 0 || rc == SIDIK_ETIMEOUT || rc == SIDIK_ECANCELLED || rc == SIDIK_EBUSY ||
                   rc == SIDIK_EFORMAT
               ? UP_ENDED
               : UP_LOST;
}

int sidik__upload_stream(up_run *run)
{
    const char *path = run->chunked ? "/sidik.v1.Ingest/UploadChunks" : "/sidik.v1.Ingest/Upload";
    const ProtobufCMessageDescriptor *d =
        run->chunked ? &sidik__v1__chunk_receipt__descriptor : &sidik__v1__receipt__descriptor;
    sidik_rpc_bidi *b;
    sidik_rpc_status st;
    int rc = sidik_rpc_bidi_open(run->c, path, d, run->chunked ? on_chunk_receipt : on_receipt, run,
                                 STREAM_DEADLINE_MS, &b, &st);
    if (rc != 0) {
        fprintf(run->o->err, "sidik %s: %s\n", run->o->cmd, st.message);
        sidik__upload_fail_all(run);
        return UP_LOST;
    }
    int64_t opened = sidik__upload_mono_ns();
    run->alive_ns = opened;
    run->chunks_ok = false;
    for (size_t i = 0; i < run->nitems; i++) {
        /* Nothing sent on a stream gone has an answer coming. */
        run->items[i].asked_ns = 0;
        run->items[i].outstanding = 0;
    }
    sidik_rpc_io(run->c, &run->io);
    int out;
    for (;;) {
        if (run->o->stop != NULL && *run->o->stop) {
            /* Killed in effect: what is in flight stays SENT and leased,
             * and the next start (holding the lock) makes it due again. */
            for (size_t i = run->nitems; i > 0; i--)
                forget(run, i - 1);
            out = UP_STOP;
            break;
        }
        bool draining = sidik__upload_mono_ns() - opened > ROTATE_NS;
        if (!sidik_rpc_bidi_over(b) && (rc = feed(run, b, draining)) != 0 && rc != SIDIK_ESTATE) {
            fprintf(run->o->err, "sidik %s: cannot queue a message: %s\n", run->o->cmd,
                    sidik_strerror(rc));
            run->fatal = SIDIK_CLI_EXIT_FAIL;
        }
        if (run->fatal) {
            sidik__upload_fail_all(run);
            out = UP_FATAL;
            break;
        }
        if (run->nitems == 0 && !sidik_rpc_bidi_over(b)) {
            /* Nothing due, or time for a fresh stream: end this one. */
            sidik_rpc_bidi_close_send(b);
            out = ended(run, b, !draining);
            break;
        }
        if (sidik_rpc_bidi_pump(b, PUMP_MS) != 0) {
            out = ended(run, b, false);
            if (out == UP_IDLE)
                out = UP_AGAIN;
            break;
        }
        sidik__upload_progress(run);
        if (stalled(run)) {
            fprintf(run->o->err,
                    "sidik %s: nothing from %s for %.3g s with %zu enrollments in flight; "
                    "reconnecting\n",
                    run->o->cmd, run->server, run->timeout_ms / 1000.0, run->nitems);
            sidik__upload_fail_all(run);
            out = UP_LOST;
            break;
        }
    }
    sidik_rpc_bidi_free(b);
    return out;
}
