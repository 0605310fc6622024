/*
 * Ingest.UploadChunks' staging (sidik/ingest.h, ingest_int.h): per
 * (calling office, enrollment id) the contiguous prefix of an enrollment's
 * packed bytes received so far, shared by every loop (an office whose link
 * dropped may reconnect on another loop), bounded per office and in total,
 * dropped when idle. What this file decides for a chunk the caller
 * answers (ingest.c); an enrollment the chunks complete goes on through
 * the Upload path there.
 *
 * Locking: mu guards everything below. It is held for a hash lookup, the
 * idle list, and at most one append (a realloc and a 64 KiB copy); never
 * while the ingest's mu is taken (ingest_int.h), and never across the
 * SHA-256 of a completed enrollment.
 *
 * Why bounds in buffer bytes allocated rather than bytes received: they
 * are what the process holds. A buffer starts at 64 KiB and doubles up to
 * total_bytes, so a 300 KB enrollment costs at most 512 KiB while it
 * arrives; when doubling would pass a bound the buffer grows to exactly
 * what is needed instead, so an office can use its whole allowance.
 */
#include "ingest_int.h"
#include "sidik/pb.h"
#include "sidik.pb-c.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define STAGE_BUCKETS  4096 /* thousands of offices, a few stagings each */
#define OFFICE_BUCKETS 1024
#define FIRST_CAP      (64u << 10)

typedef struct office_use {
    struct office_use *next; /* its bucket */
    size_t bytes;            /* buffer bytes of its stagings */
    uint32_t count;          /* its stagings; the entry goes with the last */
    char name[SIDIK_IDENTITY_NAME_MAX + 1];
} office_use;

typedef struct stage {
    struct stage *hnext;         /* its bucket */
    struct stage *older, *newer; /* the idle list */
    office_use *office;
    char id[SIDIK_ENROLL_ID_MAX + 1];
    uint8_t sha256[32];
    uint64_t total, held;
    size_t cap;
    uint8_t *buf;
    int64_t touched_ms; /* monotonic */
} stage;

struct sidik__staging {
    pthread_mutex_t mu;
    size_t office_bytes, total_bytes;
    uint32_t office_count;
    int64_t idle_ms;
    sidik_metrics *metrics;
    size_t bytes;                 /* every staging's buffer */
    stage *oldest, *newest;       /* least recently touched first */
    stage *bucket[STAGE_BUCKETS]; /* by office and id */
    office_use *offices[OFFICE_BUCKETS];
};

static int64_t mono_ms(void)
{
    return sidik__mono_ns() / 1000000;
}

static void staged_metric(sidik__staging *g, int64_t d)
{
    if (g->metrics != NULL)
        sidik_metrics_add(g->metrics, SIDIK_M_CHUNK_STAGED_BYTES, d);
}

/* FNV-1a over office, a NUL, then id (neither holds a NUL). */
static uint32_t key_hash(const char *office, const char *id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)office; *p; p++)
        h = (h ^ *p) * 16777619u;
    h *= 16777619u;
    for (const unsigned char *p = (const unsigned char *)id; id != NULL && *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* ---- the table, under mu ------------------------------------------------------------ */

static stage *stage_find(sidik__staging *g, const char *office, const char *id)
{
    for (stage *st = g->bucket[key_hash(office, id) % STAGE_BUCKETS]; st != NULL; st = st->hnext)
        if (strcmp(st->id, id) == 0 && strcmp(st->office->name, office) == 0)
            return st;
    return NULL;
}

static office_use *office_find(sidik__staging *g, const char *office)
{
    for (office_use *o = g->offices[key_hash(office, NULL) % OFFICE_BUCKETS]; o != NULL;
         o = o->next)
        if (strcmp(o->name, office) == 0)
            return o;
    return NULL;
}

static void idle_unlink(sidik__staging *g, stage *st)
{
    if (st->older != NULL)
        st->older->newer = st->newer;
    else
        g->oldest = st->newer;
    if (st->newer != NULL)
        st->newer->older = st->older;
    else
        g->newest = st->older;
    st->older = st->newer = NULL;
}

static void idle_push(sidik__staging *g, stage *st)
{
    st->older = g->newest;
    st->newer = NULL;
    if (g->newest != NULL)
        g->newest->newer = st;
    else
        g->oldest = st;
    g->newest = st;
}

static void touch(sidik__staging *g, stage *st, int64_t now)
{
    st->touched_ms = now;
    idle_unlink(g, st);
    idle_push(g, st);
}

/* Unlinks st and frees it; its buffer is returned (the caller's). */
static uint8_t *stage_remove(sidik__staging *g, stage *st)
{
    stage **pp = &g->bucket[key_hash(st->office->name, st->id) % STAGE_BUCKETS];
    while (*pp != st)
        pp = &(*pp)->hnext;
    *pp = st->hnext;
    idle_unlink(g, st);
    office_use *o = st->office;
    o->bytes -= st->cap;
    g->bytes -= st->cap;
    staged_metric(g, -(int64_t)st->cap);
    if (--o->count == 0) {
        office_use **op = &g->offices[key_hash(o->name, NULL) % OFFICE_BUCKETS];
        while (*op != o)
            op = &(*op)->next;
        *op = o->next;
        sidik_free(o);
    }
    uint8_t *buf = st->buf;
    sidik_free(st);
    return buf;
}

static void stage_drop(sidik__staging *g, stage *st, const char *why)
{
    SIDIK_LOG_DEBUG("staged upload dropped", "office=%s id=%s held=%llu total=%llu why=%s",
                    st->office->name, st->id, (unsigned long long)st->held,
                    (unsigned long long)st->total, why);
    sidik_free(stage_remove(g, st));
}

static void sweep_locked(sidik__staging *g, int64_t now)
{
    while (g->oldest != NULL && now - g->oldest->touched_ms >= g->idle_ms)
        stage_drop(g, g->oldest, "idle");
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int sidik__staging_create(const sidik_ingest_options *o, sidik_metrics *metrics,
                          sidik__staging **out)
{
    sidik__staging *g = sidik_trycalloc(1, sizeof *g);
    if (g == NULL)
        return SIDIK_ENOMEM;
    g->office_bytes =
        o->staging_office_bytes ? o->staging_office_bytes : SIDIK_INGEST_STAGING_OFFICE_BYTES;
    g->office_count =
        o->staging_office_count ? o->staging_office_count : SIDIK_INGEST_STAGING_OFFICE_COUNT;
    g->total_bytes =
        o->staging_total_bytes ? o->staging_total_bytes : SIDIK_INGEST_STAGING_TOTAL_BYTES;
    g->idle_ms = o->staging_idle_ms > 0 ? o->staging_idle_ms : SIDIK_INGEST_STAGING_IDLE_MS;
    g->metrics = metrics;
    pthread_mutex_init(&g->mu, NULL);
    *out = g;
    return 0;
}

void sidik__staging_destroy(sidik__staging *g)
{
    if (g == NULL)
        return;
    while (g->oldest != NULL)
        sidik_free(stage_remove(g, g->oldest));
    pthread_mutex_destroy(&g->mu);
    sidik_free(g);
}

void sidik__staging_sweep(sidik__staging *g)
{
    int64_t now = mono_ms();
    pthread_mutex_lock(&g->mu);
    sweep_locked(g, now);
    pthread_mutex_unlock(&g->mu);
}

/* Twice per idle time, at most once a minute, at least every 10 ms: a
 * staging outlives its time by at most half of it. */
uint64_t sidik__staging_sweep_ms(const sidik__staging *g)
{
    int64_t every = g->idle_ms / 2;
    if (every > 60000)
        every = 60000;
    return every < 10 ? 10 : (uint64_t)every;
}

/* ---- one chunk ------------------------------------------------------------------------ */

typedef struct chunk {
    const char *office, *id;
    const uint8_t *sha256;
    uint64_t total, offset;
    const uint8_t *data;
    size_t len;
} chunk;

/* The chunk is answered with a Receipt refusing it: code, why, and (when
 * field is set) one FieldError. held: what stays staged. */
static void refuse(sidik__chunk_result *o, uint64_t held, sidik_grpc_status code, const char *field,
                   const char *reason_code, const char *detail, const char *reason)
{
    o->held = held;
    o->final = true;
    o->wait_seq = 0;
    o->r = (receipt){.id = o->id, .code = code, .reason = reason};
    if (field != NULL) {
        o->v = (sidik_validation){.nerrors = 1};
        snprintf(o->v.err[0].field, sizeof o->v.err[0].field, "%s", field);
        o->v.err[0].reason_code = reason_code;
        o->v.err[0].detail = detail;
        o->r.v = &o->v;
    }
}

static const char *over_bounds(const sidik__staging *g, const office_use *ou, size_t more)
{
    size_t office_now = ou != NULL ? ou->bytes : 0;
    if (more > g->office_bytes - office_now)
        return "this office's part-uploaded enrollments fill its staging allowance "
               "(chunk_office_bytes); what is held stays: finish those, then send this chunk "
               "again";
    if (more > g->total_bytes - g->bytes)
        return "the server's staging for chunked uploads is full (chunk_total_bytes); what is "
               "held stays: send this chunk again later";
    return NULL;
}

static size_t grown(size_t cap, uint64_t need, uint64_t total)
{
    uint64_t c = cap ? cap : FIRST_CAP;
    while (c < need)
        c *= 2;
    return (size_t)(c < total ? c : total);
}

/* The append, under mu: q's data goes at held when q->offset is held. The
 * staging is made when this is its first data; its buffer grows within
 * the bounds. A chunk that completes the enrollment takes its bytes out
 * (o->assembled) and the staging goes. */
static void append_locked(sidik__staging *g, const chunk *q, int64_t now, sidik__chunk_result *o)
{
    static const char *short_of_memory =
        "the server is short of memory; what is held stays: send this chunk again later";
    stage *st = stage_find(g, q->office, q->id);
    if (st != NULL && (memcmp(st->sha256, q->sha256, 32) != 0 || st->total != q->total)) {
        stage_drop(g, st, "other content under the id");
        st = NULL;
    }
    uint64_t held = st != NULL ? st->held : 0;
    o->held = held;
    if (q->offset != held) /* another call of this office moved it meanwhile */
        return;
    office_use *ou = st != NULL ? st->office : office_find(g, q->office);
    if (st == NULL && ou != NULL && ou->count >= g->office_count) {
        refuse(o, 0, SIDIK_GRPC_RESOURCE_EXHAUSTED, NULL, NULL, NULL,
               "this office has as many enrollments part-uploaded as the server stages for one "
               "office (chunk_office_enrollments): finish those, then send this chunk again");
        return;
    }
    uint64_t need = held + q->len;
    size_t cap = st != NULL ? st->cap : 0;
    if (need > cap) {
        size_t want = grown(cap, need, q->total);
        const char *why = over_bounds(g, ou, want - cap);
        if (why != NULL && want > need) {
            want = (size_t)need;
            why = over_bounds(g, ou, want - cap);
        }
        if (why != NULL) {
            refuse(o, held, SIDIK_GRPC_RESOURCE_EXHAUSTED, NULL, NULL, NULL, why);
            return;
        }
        if (st == NULL) {
            bool new_office = ou == NULL;
            st = sidik_trycalloc(1, sizeof *st);
            if (new_office)
                ou = sidik_trycalloc(1, sizeof *ou);
            uint8_t *buf = st != NULL && ou != NULL ? sidik_trymalloc(want) : NULL;
            if (buf == NULL) {
                sidik_free(st);
                if (new_office)
                    sidik_free(ou);
                refuse(o, 0, SIDIK_GRPC_RESOURCE_EXHAUSTED, NULL, NULL, NULL, short_of_memory);
                return;
            }
            if (new_office) {
                snprintf(ou->name, sizeof ou->name, "%s", q->office);
                uint32_t b = key_hash(ou->name, NULL) % OFFICE_BUCKETS;
                ou->next = g->offices[b];
                g->offices[b] = ou;
            }
            ou->count++;
            st->office = ou;
            snprintf(st->id, sizeof st->id, "%s", q->id);
            memcpy(st->sha256, q->sha256, 32);
            st->total = q->total;
            st->buf = buf;
            uint32_t b = key_hash(q->office, q->id) % STAGE_BUCKETS;
            st->hnext = g->bucket[b];
            g->bucket[b] = st;
            idle_push(g, st);
        } else {
            uint8_t *buf = sidik_tryrealloc(st->buf, want);
            if (buf == NULL) {
                refuse(o, held, SIDIK_GRPC_RESOURCE_EXHAUSTED, NULL, NULL, NULL, short_of_memory);
                return;
            }
            st->buf = buf;
        }
        ou->bytes += want - cap;
        g->bytes += want - cap;
        staged_metric(g, (int64_t)(want - cap));
        st->cap = want;
    }
    memcpy(st->buf + held, q->data, q->len);
    st->held = need;
    touch(g, st, now);
    o->held = need;
    if (need == q->total) {
        o->assembled_len = (size_t)need;
        o->assembled = stage_remove(g, st);
    }
}

/* q once its fields are known to be sound. */
static int stage_chunk(sidik_ingest *s, const chunk *q, sidik__chunk_result *o)
{
    sidik__staging *g = s->staging;
    int64_t now = mono_ms();
    pthread_mutex_lock(&g->mu);
    sweep_locked(g, now);
    stage *st = stage_find(g, q->office, q->id);
    bool other = st != NULL && (memcmp(st->sha256, q->sha256, 32) != 0 || st->total != q->total);
    uint64_t held = st != NULL && !other ? st->held : 0; /* for the content q names */
    /* A refused chunk changes nothing staged. */
    if (q->len > SIDIK_INGEST_CHUNK_MAX) {
        pthread_mutex_unlock(&g->mu);
        refuse(o, held, SIDIK_GRPC_INVALID_ARGUMENT, "data", "CHUNK_TOO_LARGE",
               "a chunk carries at most 64 KiB of data", "refused: see field_errors");
        return 0;
    }
    if (q->offset > q->total || q->len > q->total - q->offset) {
        pthread_mutex_unlock(&g->mu);
        refuse(o, held, SIDIK_GRPC_INVALID_ARGUMENT, "offset", "CHUNK_PAST_END",
               "offset plus the data's length runs past total_bytes", "refused: see field_errors");
        return 0;
    }
    /* The staging follows the latest content a chunk names under the id
     * (a station that captured again before the first was received):
     * nothing staged was ever acknowledged. */
    if (other) {
        stage_drop(g, st, "other content under the id");
        st = NULL;
    }
    bool staged = st != NULL;
    if (staged)
        touch(g, st, now);
    pthread_mutex_unlock(&g->mu);
    /* Nothing staged: perhaps it is already journaled, and the station
     * only lost the receipt. Then nothing more is sent. */
    if (!staged && sidik__ingest_lookup(s, q->id, q->sha256, q->office, &o->r, &o->wait_seq)) {
        o->final = true;
        o->held = o->r.code == SIDIK_GRPC_OK ? q->total : 0;
        return 0;
    }
    o->held = held;
    if (q->len == 0 || q->offset != held)
        return 0; /* a question, or a chunk out of place: answered with what is held */

    pthread_mutex_lock(&g->mu);
    append_locked(g, q, now, o);
    pthread_mutex_unlock(&g->mu);
    if (o->assembled == NULL)
        return 0;
    uint8_t md[32];
    unsigned mdlen = 0;
    if (EVP_Digest(o->assembled, o->assembled_len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen != 32) {
        sidik_free(o->assembled);
        o->assembled = NULL;
        return SIDIK_ENOMEM;
    }
    if (memcmp(md, q->sha256, 32) != 0) {
        SIDIK_LOG_WARN("chunked upload does not hash to its content_sha256", "office=%s id=%s",
                       q->office, q->id);
        sidik_free(o->assembled);
        o->assembled = NULL;
        refuse(o, 0, SIDIK_GRPC_DATA_LOSS, "content_sha256", "CONTENT_HASH_MISMATCH",
               "the bytes received do not hash to content_sha256",
               "nothing of this enrollment was kept: send it again from offset 0");
    }
    return 0;
}

int sidik__chunk_take(sidik_ingest *s, const sidik_identity *who, const uint8_t *p, size_t n,
                      sidik__chunk_result *o)
{
    memset(o, 0, sizeof *o);
    sidik__ingest_metric(s, SIDIK_M_CHUNKS_RECEIVED, 1);
    Sidik__V1__EnrollmentChunk *c = sidik__v1__enrollment_chunk__unpack(&sidik_pb_alloc, n, p);
    if (c == NULL || !sidik_pb_text_clean(&sidik__v1__enrollment_chunk__descriptor, p, n)) {
        if (c == NULL)
            refuse(o, 0, SIDIK_GRPC_INVALID_ARGUMENT, "", "MESSAGE_MALFORMED",
                   "not an EnrollmentChunk message: the protobuf does not parse",
                   "the message does not parse as an EnrollmentChunk");
        else
            refuse(o, 0, SIDIK_GRPC_INVALID_ARGUMENT, "", "TEXT_HAS_NUL",
                   "a text field holds a NUL byte; none may", "a text field holds a NUL byte");
        if (c != NULL)
            sidik__v1__enrollment_chunk__free_unpacked(c, &sidik_pb_alloc);
        return 0;
    }
    int rc = 0;
    if (!sidik_enrollment_id_valid(c->enrollment_id)) {
        refuse(o, 0, SIDIK_GRPC_INVALID_ARGUMENT, "enrollment_id", "ENROLLMENT_ID_FORMAT",
               "enrollment_id must be a UUID (8-4-4-4-12 hex digits)", "refused: see field_errors");
    } else {
        snprintf(o->id, sizeof o->id, "%s", c->enrollment_id);
        if (c->content_sha256.len != 32)
            refuse(o, 0, SIDIK_GRPC_INVALID_ARGUMENT, "content_sha256", "CONTENT_SHA256_LENGTH",
                   "content_sha256 must be the 32-byte SHA-256 of the whole packed Enrollment",
                   "refused: see field_errors");
        else if (c->total_bytes == 0 || c->total_bytes > s->max_enrollment)
            refuse(o, 0, SIDIK_GRPC_INVALID_ARGUMENT, "total_bytes", "TOTAL_BYTES_RANGE",
                   "total_bytes must be 1 to the server's max_message_bytes: an Enrollment "
                   "larger than an Upload message may be is never accepted",
                   "refused: see field_errors");
        else {
            memcpy(o->sha256, c->content_sha256.data, 32);
            chunk q = {.office = who->name,
                       .id = o->id,
                       .sha256 = o->sha256,
                       .total = c->total_bytes,
                       .offset = c->offset,
                       .data = c->data.data,
                       .len = c->data.len};
            rc = stage_chunk(s, &q, o);
        }
    }
    sidik__v1__enrollment_chunk__free_unpacked(c, &sidik_pb_alloc);
    return rc;
}
