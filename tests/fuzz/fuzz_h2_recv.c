/*
 * Fuzz target: a server gRPC connection (sidik_h2_conn) fed arbitrary bytes
 * as if from a client, with an application that echoes, answers and refuses.
 *
 * Contract checked beyond "no crash, no leak, no sanitizer report":
 *  - sidik_h2_conn_recv returns 0, SIDIK_EFORMAT or SIDIK_ENOMEM only;
 *  - once it refused the bytes, feeding more never succeeds again;
 *  - every call handed to the application is closed exactly once.
 * The input is fed in pieces whose sizes come from its first byte, so frame
 * boundaries fall everywhere. Seeds (corpus/h2_recv) are client byte
 * streams made by a stock nghttp2 client for the requests test_server_h2
 * sends: a unary call, an upload stream, an unknown method, a message cut by
 * the end of its stream.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sidik/err.h"
#include "sidik/h2.h"

typedef struct app {
    int open;
} app;

static int on_call(void *ctx, sidik_h2_call *call)
{
    ((app *)ctx)->open++;
    return sidik_h2_call_method(call)->method == SIDIK_METHOD_STATUS_LIST ? SIDIK_EBUSY : 0;
}

static int on_message(void *ctx, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    (void)ctx;
    if (n > 0 && p[0] == 'x')
        return SIDIK_EINVAL;
    int rc = sidik_h2_call_send(call, p, n);
    if (rc == 0 && sidik_h2_call_method(call)->shape == SIDIK_CALL_UNARY)
        rc = sidik_h2_call_finish(call, SIDIK_GRPC_OK, "done");
    return rc == SIDIK_ESTATE ? 0 : rc;
}

static void on_half_close(void *ctx, sidik_h2_call *call)
{
    (void)ctx;
    sidik_h2_call_finish(call, SIDIK_GRPC_OK, NULL);
}

static void on_close(void *ctx, sidik_h2_call *call)
{
    (void)call;
    ((app *)ctx)->open--;
}

static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    app a = {0};
    sidik_identity who = {SIDIK_ROLE_OFFICE, "JKT-01"};
    sidik_h2_options o = {.max_message_bytes = 4096, .max_streams = 8, .window_bytes = 65535};
    sidik_h2_callbacks cb = {on_call, on_message, on_half_close, on_close};
    sidik_h2_conn *c;
    if (sidik_h2_conn_create(&o, &who, &cb, &a, &c) != 0)
        abort();
    /* Seeds start with the client preface; inputs that do not get it
     * prepended, so mutations spend their time on frames. */
    int failed = 0;
    if (size < sizeof preface - 1 || memcmp(data, preface, sizeof preface - 1) != 0)
        failed = sidik_h2_conn_recv(c, preface, sizeof preface - 1);
    size_t step = size > 0 ? 1 + data[0] % 64 : 1;
    for (size_t off = 0; off < size && failed == 0; off += step) {
        size_t n = size - off < step ? size - off : step;
        failed = sidik_h2_conn_recv(c, data + off, n);
        if (failed != 0 && failed != SIDIK_EFORMAT && failed != SIDIK_ENOMEM) {
            fprintf(stderr, "fuzz_h2_recv: recv returned %s\n", sidik_err_name(failed));
            abort();
        }
        const uint8_t *p;
        size_t m;
        while (sidik_h2_conn_pending(c, &p, &m) == 0 && m > 0)
            ;
    }
    sidik_h2_conn_destroy(c);
    if (a.open != 0) {
        fprintf(stderr, "fuzz_h2_recv: %d calls never closed\n", a.open);
        abort();
    }
    return 0;
}
