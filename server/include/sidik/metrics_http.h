/*
 * The /metrics endpoint: plain HTTP/1.1 on its own address (127.0.0.1 by
 * default: metrics are for the operator's scraper, not for offices).
 *
 * Answers `GET /metrics` with the Prometheus text (sidik/metrics.h) and
 * closes; anything else gets 404 or 400; a request line over 4 KiB or a
 * client silent for 5 s is cut. One response per connection.
 *
 * Threads: runs on the caller's loop.
 */
#ifndef SIDIK_METRICS_HTTP_H
#define SIDIK_METRICS_HTTP_H

#include <uv.h>

#include "sidik/metrics.h"

typedef struct sidik_metrics_http sidik_metrics_http;

/** Listens on "host:port" (port 0: any). m is borrowed. Errors:
 *  SIDIK_EINVAL (bad address), SIDIK_ENOMEM, -errno. */
int sidik_metrics_http_start(uv_loop_t *loop, const char *listen, const sidik_metrics *m,
                             sidik_metrics_http **out);
int sidik_metrics_http_port(const sidik_metrics_http *h);
/** Stops listening and closes open connections; h is freed once all its
 *  handles are closed (the loop must run on). */
void sidik_metrics_http_stop(sidik_metrics_http *h);

#endif
