/*
 * Inside the uploader (upload.h): the run's state shared by the connection
 * loop (upload_run.c) and one stream's session (upload_stream.c).
 */
#ifndef SIDIK_CLI_UPLOAD_INT_H
#define SIDIK_CLI_UPLOAD_INT_H

#include "out.h"
#include "rpc.h"
#include "upload.h"

/* One capture taken from the spool and not yet answered. */
typedef struct up_item {
    uint64_t seq;
    char id[SIDIK_ENROLL_ID_MAX + 1];
    uint8_t sha[32];
    uint8_t *body;
    size_t n;
    bool queued_all; /* every byte is queued on the current stream */
    /* Chunked mode only. */
    bool resume;          /* sent before: ask how much the server holds first */
    bool known;           /* where to go on from (off) is known */
    int64_t asked_ns;     /* when the last "how much do you hold" went out; 0: never */
    uint64_t off;         /* the next byte to queue */
    uint32_t outstanding; /* chunks sent on this stream without their answer */
} up_item;

typedef struct up_run {
    sidik_spool *sp;
    const sidik_upload_options *o;
    sidik_upload_totals *t;
    sidik_rpc *c;
    char server[256];
    uint32_t timeout_ms; /* the settings' timeout: the stall watchdog's limit */
    bool chunked;        /* the current mode: UploadChunks, or Upload */
    bool chunks_ok;      /* the current stream answered a chunk: the server serves it */
    up_item items[SIDIK_UPLOAD_MAX_CONCURRENCY];
    size_t nitems;
    int fatal; /* non-zero: the exit code that ends the run */
    /* The stall watchdog: the last time anything showed the link alive. */
    int64_t alive_ns;
    sidik_rpc_io_counts io;
    bool pinged; /* a PING went out since */
    /* The progress bar: answered this run, of answered + backlog. */
    sidik_progress bar;
    uint64_t answered, backlog, total;
    int64_t stats_ns;
} up_run;

/* How one stream ended (sidik__upload_stream). */
enum {
    UP_IDLE = 0, /* nothing due and nothing in flight: the stream was closed cleanly */
    UP_AGAIN,    /* open another stream on the same connection (rotated, fell back) */
    UP_ENDED,    /* the server ended the stream early; what was in flight is retried */
    UP_LOST,     /* the connection is gone (or stalled): reconnect */
    UP_STOP,     /* a stop was asked for */
    UP_FATAL,    /* run->fatal says how the run ends */
};

int64_t sidik__upload_now_ms(void);
int64_t sidik__upload_mono_ns(void);

/** Runs one Upload or UploadChunks stream on run->c until it ends (above).
 *  Captures are taken from the spool in capture order while fewer than
 *  run->o->concurrency are unanswered; every outcome is recorded. */
int sidik__upload_stream(up_run *run);

/** Records a failed attempt for every unanswered capture and forgets them. */
void sidik__upload_fail_all(up_run *run);

/** Redraws the progress bar (at most every 100 ms; the backlog re-read
 *  each second). */
void sidik__upload_progress(up_run *run);

#endif
