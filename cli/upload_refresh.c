/*
 * Where the centre's decisions stand for the spool's captures (upload.h):
 * Status.Get one by one for a few, the office's Status.List for many (one
 * call answers a thousand, where Get costs a round trip each: 300 ms on a
 * thin link).
 */
#include "upload_int.h"

#include "cli.h"
#include "client_call.h"
#include "sidik/common.h"
#include "sidik.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define GET_AT_MOST 32
#define PAGE        1000

typedef struct pending {
    uint64_t seq;
    sidik_status status;
    char id[SIDIK_ENROLL_ID_MAX + 1];
} pending;

typedef struct want {
    pending *v;
    size_t n, cap;
    int64_t since_ms; /* the earliest receipt among them */
} want;

static int add(want *w, const sidik_spool_entry *e)
{
    pending *v = sidik_trygrow(w->v, &w->cap, w->n, sizeof *v, 64);
    if (v == NULL)
        return SIDIK_ENOMEM;
    w->v = v;
    pending *p = &w->v[w->n++];
    p->seq = e->seq;
    p->status = e->status;
    memcpy(p->id, e->id, sizeof p->id);
    int64_t at = e->receipt.received_time_ms;
    if (at == 0)
        at = e->changed_ms[SIDIK_STATUS_RECEIVED];
    if (at != 0 && (w->since_ms == 0 || at < w->since_ms))
        w->since_ms = at;
    return 0;
}

/* The captures the centre holds and may still move on. */
static int collect(sidik_spool *sp, want *w)
{
    static const sidik_status open[] = {SIDIK_STATUS_RECEIVED, SIDIK_STATUS_ADJUDICATE,
                                        SIDIK_STATUS_PRINT_READY};
    sidik_spool_entry page[128];
    for (size_t k = 0; k < SIDIK_ARRAY_SIZE(open); k++) {
        uint64_t after = 0;
        for (;;) {
            size_t n = 0;
            int rc = sidik_spool_list(sp, after, open[k], page, 128, &n);
            for (size_t i = 0; rc == 0 && i < n; i++)
                rc = add(w, &page[i]);
            if (rc != 0)
                return rc;
            if (n < 128)
                break;
            after = page[n - 1].seq;
        }
    }
    return 0;
}

/* The time the centre gave the state's status (its last history entry for
 * it), or now when it names none. */
static int64_t when(const Sidik__V1__EnrollmentState *s)
{
    for (size_t i = s->n_history; i > 0; i--)
        if (s->history[i - 1]->status == s->status)
            return s->history[i - 1]->time_ms;
    return sidik__upload_now_ms();
}

/* Records s for seq when it moves the capture on; counts it in *moved. */
static void apply(sidik_spool *sp, uint64_t seq, sidik_status was,
                  const Sidik__V1__EnrollmentState *s, uint64_t *moved)
{
    if (s->status < SIDIK__V1__ENROLLMENT_STATUS__RECEIVED ||
        s->status > SIDIK__V1__ENROLLMENT_STATUS__PRINTED || (sidik_status)s->status == was)
        return;
    if (sidik_spool_set_status(sp, seq, (sidik_status)s->status, when(s)) != 0)
        return;
    sidik_spool_entry e;
    if (sidik_spool_get(sp, seq, &e) == 0 && e.status != was)
        (*moved)++;
}

static int by_get(sidik_spool *sp, sidik_rpc *c, const char *cmd, FILE *err, const want *w,
                  uint64_t *moved)
{
    for (size_t i = 0; i < w->n; i++) {
        Sidik__V1__GetStatusRequest req = SIDIK__V1__GET_STATUS_REQUEST__INIT;
        req.enrollment_id = (char *)w->v[i].id;
        ProtobufCMessage *m = NULL;
        sidik_rpc_status st;
        int rc = sidik_rpc_unary(c, "/sidik.v1.Status/Get", &req.base,
                                 &sidik__v1__enrollment_state__descriptor, &m, &st);
        if (m != NULL) {
            apply(sp, w->v[i].seq, w->v[i].status, (const Sidik__V1__EnrollmentState *)m, moved);
            sidik_rpc_message_free(m);
            continue;
        }
        if (rc == 0 && st.code == SIDIK_GRPC_NOT_FOUND) {
            /* It gave a receipt, so this is a centre restored from an older
             * backup, or another office's certificate: worth a word. */
            fprintf(err,
                    "sidik %s: %s: the centre does not know it, though it gave a receipt "
                    "for it; check with the centre (is this the office's certificate?)\n",
                    cmd, w->v[i].id);
            continue;
        }
        fprintf(err, "sidik %s: Status.Get: %s: %s\n", cmd,
                sidik_grpc_status_name((sidik_grpc_status)st.code), st.message);
        return sidik_cli_exit_code(rc != 0 ? rc : -1, st.code);
    }
    return 0;
}

static int by_list(sidik_spool *sp, sidik_rpc *c, const char *cmd, FILE *err, const want *w,
                   uint64_t *moved)
{
    Sidik__V1__ListStatusRequest req = SIDIK__V1__LIST_STATUS_REQUEST__INIT;
    /* A second's margin: the spool's receipt time is the centre's own. */
    req.since_ms = w->since_ms > 1000 ? w->since_ms - 1000 : 0;
    req.page_size = PAGE;
    char token[64] = "";
    for (;;) {
        req.page_token = token;
        ProtobufCMessage *m = NULL;
        sidik_rpc_status st;
        int rc = sidik_rpc_unary(c, "/sidik.v1.Status/List", &req.base,
                                 &sidik__v1__list_status_response__descriptor, &m, &st);
        if (m == NULL) {
            fprintf(err, "sidik %s: Status.List: %s: %s\n", cmd,
                    sidik_grpc_status_name((sidik_grpc_status)st.code), st.message);
            return sidik_cli_exit_code(rc != 0 ? rc : -1, st.code);
        }
        const Sidik__V1__ListStatusResponse *r = (const Sidik__V1__ListStatusResponse *)m;
        for (size_t i = 0; i < r->n_enrollments; i++) {
            const Sidik__V1__EnrollmentState *s = r->enrollments[i];
            uint64_t seq;
            sidik_spool_entry e;
            if (s->enrollment_id == NULL || sidik_spool_find(sp, s->enrollment_id, &seq) != 0 ||
                sidik_spool_get(sp, seq, &e) != 0)
                continue; /* another station of the office, or compacted here */
            apply(sp, seq, e.status, s, moved);
        }
        bool more = r->next_page_token[0] != 0 && strlen(r->next_page_token) < sizeof token;
        if (more)
            snprintf(token, sizeof token, "%s", r->next_page_token);
        sidik_rpc_message_free(m);
        if (!more)
            return 0;
    }
}

int sidik_upload_refresh(sidik_spool *sp, sidik_rpc *c, const char *cmd, FILE *err, uint64_t *moved)
{
    *moved = 0;
    want w = {0};
    int rc = collect(sp, &w);
    if (rc != 0) {
        fprintf(err, "sidik %s: cannot read the spool: %s\n", cmd, sidik_strerror(rc));
        sidik_free(w.v);
        return SIDIK_CLI_EXIT_FAIL;
    }
    int code = 0;
    if (w.n > 0)
        code = w.n <= GET_AT_MOST ? by_get(sp, c, cmd, err, &w, moved)
                                  : by_list(sp, c, cmd, err, &w, moved);
    sidik_free(w.v);
    return code;
}
