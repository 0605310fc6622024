/*
 * Bidirectional calls on a client connection (rpc.h): the call machinery of
 * rpc_call.c (one stream, a request queue appended to while it runs)
 * driven by the caller's loop instead of a wait for the end.
 *
 * The caller's loop is what bounds the work in flight: _send only queues,
 * nghttp2 takes from the queue as the server's window allows, and
 * _unsent tells the caller how much is still queued, so an uploader keeps
 * a few messages ahead of the wire instead of its whole backlog in memory.
 */
#include "rpc_int.h"
#include "sidik/common.h"

#include <stdio.h>
#include <string.h>

struct sidik_rpc_bidi {
    sidik__rpc_call call;
    bool over; /* the outcome below is final */
    int rc;    /* ... and what _finish returns */
    sidik_rpc_status st;
};

int sidik_rpc_bidi_open(sidik_rpc *c, const char *path, const ProtobufCMessageDescriptor *resp_desc,
                        int (*on_message)(void *ctx, ProtobufCMessage *m), void *ctx,
                        uint32_t timeout_ms, sidik_rpc_bidi **out, sidik_rpc_status *st)
{
    if (c == NULL || path == NULL || resp_desc == NULL || on_message == NULL || out == NULL ||
        st == NULL) {
        if (st != NULL) {
            st->code = SIDIK_GRPC_INTERNAL;
            snprintf(st->message, sizeof st->message, "sidik_rpc: a required argument is NULL");
        }
        return SIDIK_EINVAL;
    }
    sidik_rpc_bidi *b = sidik_trycalloc(1, sizeof *b);
    if (b == NULL) {
        st->code = SIDIK_GRPC_RESOURCE_EXHAUSTED;
        snprintf(st->message, sizeof st->message, "out of memory for a call");
        return SIDIK_ENOMEM;
    }
    int rc = sidik__rpc_call_start(c, &b->call, path, resp_desc, on_message, ctx, timeout_ms);
    if (rc != 0) {
        sidik__rpc_conn_status(c, rc, st);
        sidik__rpc_call_end(&b->call);
        sidik_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

int sidik_rpc_bidi_send(sidik_rpc_bidi *b, const ProtobufCMessage *m)
{
    if (b == NULL || m == NULL)
        return SIDIK_EINVAL;
    return b->over ? SIDIK_ESTATE : sidik__rpc_call_send(&b->call, m);
}

int sidik_rpc_bidi_send_packed(sidik_rpc_bidi *b, const uint8_t *p, size_t n)
{
    if (b == NULL || (p == NULL && n > 0))
        return SIDIK_EINVAL;
    return b->over ? SIDIK_ESTATE : sidik__rpc_call_send_packed(&b->call, p, n);
}

size_t sidik_rpc_bidi_unsent(const sidik_rpc_bidi *b)
{
    return b != NULL ? b->call.out_len - b->call.out_off : 0;
}

int sidik_rpc_bidi_close_send(sidik_rpc_bidi *b)
{
    if (b == NULL || b->over || b->call.done || b->call.send_closed)
        return 0;
    return sidik__rpc_call_close_send(&b->call);
}

/* Records the call's outcome once: the server's status or the call's own
 * failure, when the stream is done. */
static void settle(sidik_rpc_bidi *b)
{
    if (!b->over && b->call.done) {
        b->rc = sidik__rpc_call_outcome(&b->call, &b->st);
        b->over = true;
    }
}

/* The deadline passed: the stream is cancelled, as a stock client does. */
static void expire(sidik_rpc_bidi *b)
{
    sidik_rpc *c = b->call.c;
    sidik__rpc_call_drop(&b->call);
    sidik__rpc_flush_nowait(c);
    b->over = true;
    b->rc = SIDIK_ETIMEOUT;
    b->st.code = SIDIK_GRPC_DEADLINE_EXCEEDED;
    snprintf(b->st.message, sizeof b->st.message, "the call to %s ran past its deadline",
             c->server);
}

int sidik_rpc_bidi_pump(sidik_rpc_bidi *b, uint32_t wait_ms)
{
    if (b == NULL)
        return 1;
    settle(b);
    if (b->over)
        return 1;
    sidik_rpc *c = b->call.c;
    int64_t now = sidik__rpc_now_ns();
    if (now >= b->call.deadline_ns) {
        expire(b);
        return 1;
    }
    int64_t until = now + (int64_t)wait_ms * 1000000;
    if (until > b->call.deadline_ns)
        until = b->call.deadline_ns;
    int rc = sidik__rpc_pump(c, until);
    settle(b);
    if (b->over)
        return 1;
    if (rc == SIDIK_ETIMEOUT) {
        /* The round's wait ran out; only the call's own deadline ends it. */
        if (sidik__rpc_now_ns() >= b->call.deadline_ns) {
            expire(b);
            return 1;
        }
        return 0;
    }
    if (rc != 0) {
        sidik__rpc_call_drop(&b->call);
        sidik__rpc_conn_status(c, rc, &b->st);
        b->rc = rc;
        b->over = true;
        return 1;
    }
    return 0;
}

int sidik_rpc_bidi_over(const sidik_rpc_bidi *b)
{
    return b == NULL || b->over || b->call.done;
}

int sidik_rpc_bidi_finish(sidik_rpc_bidi *b, sidik_rpc_status *st)
{
    if (b == NULL || st == NULL)
        return SIDIK_EINVAL;
    /* Rounds of at most a second: the deadline is checked by the pump. */
    while (sidik_rpc_bidi_pump(b, 1000) == 0) {
    }
    *st = b->st;
    return b->rc;
}

void sidik_rpc_bidi_free(sidik_rpc_bidi *b)
{
    if (b == NULL)
        return;
    sidik__rpc_call_end(&b->call);
    sidik_free(b);
}
