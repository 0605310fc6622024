/* Status.Get and Status.List (sidik/status_service.h). */
#include "sidik/common.h"
#include "sidik/pb.h"
#include "sidik/status_service.h"
#include "sidik.pb-c.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 100
#define PAGE_MAX     1000
#define EXAMINE_MAX  10000 /* records one List page may look at */

/* A state message over e (borrowed); changes has room for its history. */
static void state_of(const sidik_enrollment *e, Sidik__V1__EnrollmentState *st,
                     Sidik__V1__StatusChange *changes, Sidik__V1__StatusChange **ptrs)
{
    sidik__v1__enrollment_state__init(st);
    st->enrollment_id = (char *)e->id;
    st->office_code = (char *)e->office;
    st->status = (Sidik__V1__EnrollmentStatus)e->status;
    for (uint32_t i = 0; i < e->nhistory && i < SIDIK_HISTORY_MAX; i++) {
        sidik__v1__status_change__init(&changes[i]);
        changes[i].status = (Sidik__V1__EnrollmentStatus)e->history[i].status;
        changes[i].time_ms = e->history[i].time_ms;
        ptrs[i] = &changes[i];
        st->n_history = i + 1;
    }
    st->history = ptrs;
}

static int get(sidik_control *c, const sidik_identity *who, const uint8_t *p, size_t n,
               uint8_t **out, size_t *len, const char **why)
{
    Sidik__V1__GetStatusRequest *req = sidik__v1__get_status_request__unpack(&sidik_pb_alloc, n, p);
    if (req == NULL)
        return SIDIK_EFORMAT;
    sidik_enrollment e;
    int rc = SIDIK_EINVAL;
    size_t idn = strlen(req->enrollment_id);
    if (idn == 0 || idn > SIDIK_ENROLL_ID_MAX ||
        !sidik_pb_text_clean(&sidik__v1__get_status_request__descriptor, p, n)) {
        *why = "enrollment_id must be 1-64 printable characters";
    } else {
        sidik_control_txn *t;
        rc = sidik_control_begin(c, false, &t);
        if (rc == 0) {
            rc = sidik_control_enroll_get(t, req->enrollment_id, &e);
            sidik_control_abort(t);
        }
        if (rc == SIDIK_EINVAL)
            *why = "enrollment_id must be 1-64 printable characters";
    }
    sidik__v1__get_status_request__free_unpacked(req, &sidik_pb_alloc);
    if (rc == 0 && who->role == SIDIK_ROLE_OFFICE && strcmp(e.office, who->name) != 0)
        rc = SIDIK_ENOTFOUND; /* another office's: as if never received */
    if (rc == SIDIK_ENOTFOUND)
        *why = "no enrollment with this id for the caller";
    if (rc != 0)
        return rc;
    Sidik__V1__EnrollmentState st;
    Sidik__V1__StatusChange changes[SIDIK_HISTORY_MAX], *ptrs[SIDIK_HISTORY_MAX];
    state_of(&e, &st, changes, ptrs);
    return sidik_pb_pack(&st.base, out, len);
}

typedef struct page {
    sidik_enrollment *e;
    uint32_t want, have, examined;
    int64_t since_ms;
    uint64_t last_seq; /* the last record examined */
    bool more;
} page;

#define PAGE_FULL 1 /* the walk's own stop, not an error */

static int collect(void *ctx, const sidik_enrollment *e)
{
    page *pg = ctx;
    if (pg->have == pg->want || pg->examined == EXAMINE_MAX) {
        pg->more = true;
        return PAGE_FULL;
    }
    pg->examined++;
    pg->last_seq = e->journal_seq;
    if (e->nhistory > 0 && e->history[0].time_ms >= pg->since_ms)
        pg->e[pg->have++] = *e;
    return 0;
}

/* The token is the journal sequence the next page starts after. */
static bool parse_token(const char *s, uint64_t *after)
{
    *after = 0;
    if (s[0] == 0)
        return true;
    size_t n = strlen(s);
    if (n > 20 || strspn(s, "0123456789") != n)
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    *after = v;
    return *end == 0 && errno == 0 && v > 0; /* ERANGE: past UINT64_MAX, never issued */
}

static int list(sidik_control *c, const sidik_identity *who, const uint8_t *p, size_t n,
                uint8_t **out, size_t *len, const char **why)
{
    Sidik__V1__ListStatusRequest *req =
        sidik__v1__list_status_request__unpack(&sidik_pb_alloc, n, p);
    if (req == NULL)
        return SIDIK_EFORMAT;
    uint64_t after;
    bool token_ok = parse_token(req->page_token, &after) &&
                    sidik_pb_text_clean(&sidik__v1__list_status_request__descriptor, p, n);
    int status = req->status;
    page pg = {.want = req->page_size == 0         ? PAGE_DEFAULT
                       : req->page_size > PAGE_MAX ? PAGE_MAX
                                                   : req->page_size,
               .since_ms = req->since_ms};
    sidik__v1__list_status_request__free_unpacked(req, &sidik_pb_alloc);
    if (!token_ok) {
        *why = "page_token is not one this server issued";
        return SIDIK_EINVAL;
    }
    if (status < 0 || status > SIDIK_STATUS_PRINTED) {
        *why = "status must be an EnrollmentStatus (0 for any)";
        return SIDIK_EINVAL;
    }
    if (who->role != SIDIK_ROLE_OFFICE)
        return SIDIK_EDENIED;
    pg.e = sidik_trycalloc(pg.want, sizeof *pg.e);
    if (pg.e == NULL)
        return SIDIK_ENOMEM;
    sidik_control_txn *t;
    int rc = sidik_control_begin(c, false, &t);
    if (rc == 0) {
        rc = sidik_control_enroll_list(t, who->name, (sidik_status)status, after, 0, collect, &pg);
        sidik_control_abort(t);
    }
    if (rc == PAGE_FULL)
        rc = 0;
    if (rc == SIDIK_EINVAL)
        *why = "the caller's office code is not one the store keeps";
    Sidik__V1__EnrollmentState *st = NULL;
    Sidik__V1__EnrollmentState **stp = NULL;
    Sidik__V1__StatusChange *ch = NULL, **chp = NULL;
    if (rc == 0 && pg.have > 0) {
        st = sidik_trycalloc(pg.have, sizeof *st);
        stp = sidik_trycalloc(pg.have, sizeof *stp);
        ch = sidik_trycalloc((size_t)pg.have * SIDIK_HISTORY_MAX, sizeof *ch);
        chp = sidik_trycalloc((size_t)pg.have * SIDIK_HISTORY_MAX, sizeof *chp);
        if (st == NULL || stp == NULL || ch == NULL || chp == NULL)
            rc = SIDIK_ENOMEM;
    }
    if (rc == 0) {
        Sidik__V1__ListStatusResponse resp = SIDIK__V1__LIST_STATUS_RESPONSE__INIT;
        for (uint32_t i = 0; i < pg.have; i++) {
            state_of(&pg.e[i], &st[i], ch + (size_t)i * SIDIK_HISTORY_MAX,
                     chp + (size_t)i * SIDIK_HISTORY_MAX);
            stp[i] = &st[i];
        }
        resp.n_enrollments = pg.have;
        resp.enrollments = stp;
        char token[24] = "";
        if (pg.more)
            snprintf(token, sizeof token, "%llu", (unsigned long long)pg.last_seq);
        resp.next_page_token = token;
        rc = sidik_pb_pack(&resp.base, out, len);
    }
    sidik_free(st);
    sidik_free(stp);
    sidik_free(ch);
    sidik_free(chp);
    sidik_free(pg.e);
    return rc;
}

int sidik_status_answer(sidik_control *c, sidik_method m, const sidik_identity *who,
                        const uint8_t *p, size_t n, uint8_t **out, size_t *len, const char **why)
{
    static const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (c == NULL || who == NULL || (p == NULL && n > 0) || out == NULL || len == NULL)
        return SIDIK_EINVAL;
    if (who->role != SIDIK_ROLE_OFFICE && who->role != SIDIK_ROLE_AUDITOR)
        return SIDIK_EDENIED;
    if (m == SIDIK_METHOD_STATUS_GET)
        return get(c, who, p, n, out, len, why);
    if (m == SIDIK_METHOD_STATUS_LIST)
        return list(c, who, p, n, out, len, why);
    return SIDIK_EUNSUPPORTED;
}
