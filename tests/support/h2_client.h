/*
 * A stock nghttp2 client session for the server tests: requests framed as
 * gRPC, replies collected per stream (status, trailers, body), and a pump
 * that moves bytes between the client and a sidik_h2_conn in memory.
 * Include after test_support.h (it asserts with cmocka).
 */
#ifndef SIDIK_TEST_H2_CLIENT_H
#define SIDIK_TEST_H2_CLIENT_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sidik/grpc_frame.h"
#include "sidik/h2.h"

/* ---- the client side: stock nghttp2 --------------------------------------- */

typedef struct reply {
    char status[8], grpc_status[8], grpc_message[128], content_type[64];
    uint8_t body[1 << 20];
    size_t body_len;
    int closed;
    uint32_t error_code;
} reply;

typedef struct request {
    uint8_t *body;
    size_t len, off;
} request;

static inline int cl_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nn,
                     const uint8_t *value, size_t vn, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    reply *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (r == NULL)
        return 0;
    char *dst = NULL;
    size_t cap = 0;
    if (nn == 7 && memcmp(name, ":status", 7) == 0)
        dst = r->status, cap = sizeof r->status;
    else if (nn == 11 && memcmp(name, "grpc-status", 11) == 0)
        dst = r->grpc_status, cap = sizeof r->grpc_status;
    else if (nn == 12 && memcmp(name, "grpc-message", 12) == 0)
        dst = r->grpc_message, cap = sizeof r->grpc_message;
    else if (nn == 12 && memcmp(name, "content-type", 12) == 0)
        dst = r->content_type, cap = sizeof r->content_type;
    if (dst != NULL && vn < cap) {
        memcpy(dst, value, vn);
        dst[vn] = 0;
    }
    return 0;
}

static inline int cl_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *p, size_t n, void *ud)
{
    (void)flags;
    (void)ud;
    reply *r = nghttp2_session_get_stream_user_data(s, id);
    if (r != NULL && r->body_len + n <= sizeof r->body) {
        memcpy(r->body + r->body_len, p, n);
        r->body_len += n;
    }
    return 0;
}

static inline int cl_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *ud)
{
    (void)ud;
    reply *r = nghttp2_session_get_stream_user_data(s, id);
    if (r != NULL) {
        r->closed = 1;
        r->error_code = error_code;
    }
    return 0;
}

static inline ssize_t cl_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                       uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)ud;
    request *q = src->ptr;
    size_t n = q->len - q->off < length ? q->len - q->off : length;
    memcpy(buf, q->body + q->off, n);
    q->off += n;
    if (q->off == q->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static inline nghttp2_session *client_new(void)
{
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, cl_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cl_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cl_close);
    nghttp2_session *s;
    assert_int_equal(nghttp2_session_client_new(&s, cbs, NULL), 0);
    nghttp2_session_callbacks_del(cbs);
    assert_int_equal(nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
    return s;
}

/* Moves bytes both ways until neither side has anything to say. */
static inline void pump(nghttp2_session *cl, sidik_h2_conn *sv)
{
    for (int round = 0; round < 10000; round++) {
        int moved = 0;
        const uint8_t *p;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(cl, &p)) > 0) {
            assert_int_equal(sidik_h2_conn_recv(sv, p, (size_t)n), 0);
            moved = 1;
        }
        size_t m;
        while (sidik_h2_conn_pending(sv, &p, &m) == 0 && m > 0) {
            assert_int_equal(nghttp2_session_mem_recv(cl, p, m), (ssize_t)m);
            moved = 1;
        }
        if (!moved)
            return;
    }
    fail_msg("the connection never settled");
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE}

/* Frames msgs[0..n) into one request body (flag 1 marks compressed). */
static inline request frame(const char *const *msgs, const size_t *lens, size_t n, int compressed)
{
    request q = {0};
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += SIDIK_GRPC_PREFIX_BYTES + lens[i];
    q.body = malloc(total + 1);
    for (size_t i = 0; i < n; i++) {
        sidik_grpc_prefix_encode(q.body + q.len, (uint32_t)lens[i]);
        q.body[q.len] = (uint8_t)compressed;
        memcpy(q.body + q.len + SIDIK_GRPC_PREFIX_BYTES, msgs[i], lens[i]);
        q.len += SIDIK_GRPC_PREFIX_BYTES + lens[i];
    }
    return q;
}

/* The i-th message of a reply body. */
static inline const uint8_t *message_at(const reply *r, int i, uint32_t *len)
{
    size_t off = 0;
    for (;;) {
        if (off + SIDIK_GRPC_PREFIX_BYTES > r->body_len)
            return NULL;
        bool compressed;
        const char *why;
        assert_int_equal(sidik_grpc_prefix_decode(r->body + off, 1u << 30, &compressed, len, &why), 0);
        if (i-- == 0)
            return r->body + off + SIDIK_GRPC_PREFIX_BYTES;
        off += SIDIK_GRPC_PREFIX_BYTES + *len;
    }
}

#endif
