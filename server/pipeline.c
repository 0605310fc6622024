/*
 * sidikd's dedup pipeline (sidikd.h): the gallery shards in data_dir/gallery,
 * the search workers (dedup_threads), the fusion model and the dedup stage
 * (sidik/dedup.h), woken each time the ingest records enrollments RECEIVED;
 * the print service's signing key (print_key); and the Admin service
 * (sidik/admin_service.h) with its once-a-second sample of the dedup
 * stage's work, closed first so a running rebalance stops before the
 * shards do.
 *
 * The search gallery's cohort (sidik_gallery_set_cohort) is synthetic too:
 * SIDIK_SYNTH_COHORT_PERSONS persons of a fixed seed, made at each start
 * (about 0.1 s);
 * the gallery's cohort offsets are computed as the shards load, so nothing
 * of them is stored. A deployment with real captures would draw its cohort
 * from them.
 *
 * The fusion model is learned on the first start from synthetic genuine
 * and impostor finger pairs (sidik_synth_fusion_scores; about a second on
 * one core; sidikd links the generator's library for it) and its scores
 * kept in the control store: every later start decides with the same
 * model, and a restart learns nothing. A deployment that has measured
 * genuine and impostor scores on its own captures would keep those
 * instead; the decision thresholds follow the gallery size as
 * docs/search.md describes either way.
 */
#include "sidik/common.h"
#include "sidik/print_auth.h"
#include "sidikd.h"
#include "synth.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUSION_SEED    20260101u /* fixed: every start decides with the same model */
#define FUSION_PERSONS 200u

/* From the ingest's recorder: more enrollments wait to be decided. */
static void recorded(void *ctx)
{
    daemon_t *d = ctx;
    if (d->dedup != NULL)
        sidik_dedup_kick(d->dedup);
}

/* From the Audit service: a UNIQUE verdict waits for the dedup stage,
 * woken as for new enrollments; a DUPLICATE_OF ends the enrollment's time in
 * the search gallery. */
static void adjudicated(void *ctx, uint64_t journal_seq, bool unique)
{
    daemon_t *d = ctx;
    if (d->dedup == NULL)
        return;
    if (unique)
        sidik_dedup_kick(d->dedup);
    else
        sidik_dedup_forget(d->dedup, journal_seq);
}

/* The scores the control store keeps, or (the first start) learned and
 * kept. *learned says which. */
static int fusion_scores(daemon_t *d, sidik_simd_level level, uint32_t **gen, uint32_t *ngen,
                         uint32_t **imp, uint32_t *nimp, bool *learned)
{
    *gen = *imp = NULL;
    sidik_control_txn *t;
    int rc = sidik_control_begin(d->control, false, &t);
    if (rc != 0)
        return rc;
    rc = sidik_control_fusion_get(t, gen, ngen, imp, nimp);
    sidik_control_abort(t);
    *learned = rc == SIDIK_ENOTFOUND;
    if (!*learned)
        return rc;
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    rc = sidik_synth_fusion_scores(&p, FUSION_SEED, FUSION_PERSONS, level,
                                   sidik_workers_pool(d->workers), gen, ngen, imp, nimp);
    if (rc == 0 && (rc = sidik_control_begin(d->control, true, &t)) == 0) {
        rc = sidik_control_fusion_put(t, *gen, *ngen, *imp, *nimp);
        if (rc == 0)
            rc = sidik_control_commit(t);
        else
            sidik_control_abort(t);
    }
    if (rc != 0) {
        sidik_free(*gen);
        sidik_free(*imp);
    }
    return rc;
}

static int fusion_open(daemon_t *d, sidik_simd_level level)
{
    uint32_t *gen, *imp, ngen, nimp;
    bool learned;
    int rc = fusion_scores(d, level, &gen, &ngen, &imp, &nimp, &learned);
    if (rc != 0)
        return rc;
    rc = sidik_fusion_create(gen, ngen, imp, nimp, &d->fusion);
    sidik_free(gen);
    sidik_free(imp);
    if (rc == 0)
        SIDIK_LOG_INFO("fusion model", "scores=%s genuine=%u impostor=%u",
                       learned ? "learned" : "kept", ngen, nimp);
    return rc;
}

/* The print signing key: loaded, or made when its file does not exist
 * (the public key beside it, .key becoming .pub). */
static int print_key_open(daemon_t *d)
{
    const char *path = d->cfg.print_key, *why = NULL;
    struct stat st;
    int rc;
    if (stat(path, &st) == 0) {
        rc = sidik_print_key_load(path, true, &d->print_key, &why);
    } else if (errno != ENOENT) {
        rc = -errno;
        why = "cannot reach the key file";
    } else {
        char pub[SIDIK_CONFIG_STR + 8];
        size_t n = strlen(path);
        if (n > 4 && strcmp(path + n - 4, ".key") == 0)
            snprintf(pub, sizeof pub, "%.*s.pub", (int)(n - 4), path);
        else
            snprintf(pub, sizeof pub, "%s.pub", path);
        rc = sidik_print_key_create(path, pub, &d->print_key, &why);
        if (rc == 0)
            SIDIK_LOG_WARN("print signing key made; print stations check against its public key",
                           "key=\"%s\" public=\"%s\"", path, pub);
    }
    if (rc != 0)
        fprintf(stderr, "sidikd: print_key %s: %s (%s)\n", path, why ? why : "",
                sidik_strerror(rc));
    return rc;
}

/* Every second: a reading of the dedup stage's work for Admin.Stats' rates. */
static void admin_tick(uv_timer_t *t)
{
    daemon_t *d = t->data;
    sidik_admin_sample(d->admin);
}

/* SIDIK_DRILL_SLOW_REBALANCE_MS=N: every rebalance batch is followed by
 * N ms of sleep, as on a node whose disks are busy, so that tests and
 * operator drills can stop sidikd or cancel in the middle of a rebalance.
 * The pause rides in the context pointer: no global. */
static void slow_rebalance(void *ctx, uint64_t moved)
{
    (void)moved;
    usleep((useconds_t)(uintptr_t)ctx * 1000u);
}

static void slow_rebalance_drill(sidik_admin_options *o)
{
    const char *v = getenv("SIDIK_DRILL_SLOW_REBALANCE_MS");
    if (v == NULL || v[0] == 0)
        return;
    char *end;
    unsigned long ms = strtoul(v, &end, 10);
    if (*end != 0 || ms == 0 || ms > 10000) {
        SIDIK_LOG_WARN("SIDIK_DRILL_SLOW_REBALANCE_MS ignored: not 1-10000", "value=%s", v);
        return;
    }
    o->after_batch = slow_rebalance;
    o->test_ctx = (void *)(uintptr_t)ms;
    SIDIK_LOG_WARN("drill: every rebalance batch delayed (SIDIK_DRILL_SLOW_REBALANCE_MS)",
                   "ms=%lu", ms);
}

/* SIDIK_DRILL_GALLERY_FULL=PATH: while a file at PATH exists, every write
 * to a gallery shard fails with SIDIK_EFULL, as when the gallery's disk is
 * full; for tests and operator drills of the paused dedup stage (new
 * uploads refused, nothing acknowledged lost, resumed once the file is
 * gone). The path rides in the context pointer (the environment's own
 * string, which lives as long as the process). */
static int gallery_full(void *ctx)
{
    return access((const char *)ctx, F_OK) == 0 ? SIDIK_EFULL : 0;
}

static void gallery_full_drill(sidik_shardset_options *o)
{
    const char *v = getenv("SIDIK_DRILL_GALLERY_FULL");
    if (v == NULL || v[0] == 0)
        return;
    o->fault = gallery_full;
    o->fault_ctx = (void *)(uintptr_t)v;
    SIDIK_LOG_WARN("drill: gallery writes fail as a full disk while the file exists "
                   "(SIDIK_DRILL_GALLERY_FULL)",
                   "path=\"%s\"", v);
}

/* The Admin service over the shards, the dedup stage and the settings. */
static int admin_open(daemon_t *d)
{
    sidik_admin_options o = {.control = d->control,
                             .shards = d->shards,
                             .dedup = d->dedup,
                             .config = &d->cfg};
    slow_rebalance_drill(&o);
    int rc = sidik_admin_create(&o, &d->admin);
    if (rc != 0) {
        fprintf(stderr, "sidikd: admin service: %s\n", sidik_strerror(rc));
        return 1;
    }
    sidik_admin_sample(d->admin);
    uv_timer_init(&d->loop, &d->admin_tick);
    d->admin_tick.data = d;
    uv_timer_start(&d->admin_tick, admin_tick, 1000, 1000);
    return 0;
}

/* For the ingest: new enrollments are refused while the dedup stage is
 * paused (a gallery disk full or failing). d->dedup is set before the
 * loops start and cleared after they stop. */
static int dedup_paused(void *ctx)
{
    const daemon_t *d = ctx;
    return d->dedup != NULL ? sidik_dedup_status(d->dedup) : 0;
}

void sidikd_pipeline_hook(daemon_t *d, sidik_ingest_options *io)
{
    io->on_recorded = recorded;
    io->recorded_ctx = d;
    io->downstream = dedup_paused;
    io->downstream_ctx = d;
}

int sidikd_pipeline_open(daemon_t *d, sidik_simd_level level)
{
    const sidik_config *c = &d->cfg;
    char dir[SIDIK_CONFIG_STR + 16];
    snprintf(dir, sizeof dir, "%s/gallery", c->data_dir);
    const char *why = NULL;
    sidik_shardset_options so = {0};
    gallery_full_drill(&so);
    int rc = sidik_shardset_open(dir, d->control, &so, &d->shards, &why);
    if (rc != 0) {
        fprintf(stderr, "sidikd: gallery %s: %s (%s)\n", dir, why ? why : "", sidik_strerror(rc));
        return 1;
    }
    rc = sidik_workers_create(c->dedup_threads, &d->workers);
    if (rc == 0)
        rc = fusion_open(d, level);
    if (rc != 0) {
        fprintf(stderr, "sidikd: search workers and fusion model: %s\n", sidik_strerror(rc));
        return 1;
    }
    sidik_synth_params sp;
    sidik_synth_params_default(&sp);
    sidik_person_sig *cohort;
    rc = sidik_synth_cohort(&sp, SIDIK_SYNTH_COHORT_SEED, SIDIK_SYNTH_COHORT_PERSONS, &cohort);
    if (rc != 0) {
        fprintf(stderr, "sidikd: search cohort: %s\n", sidik_strerror(rc));
        return 1;
    }
    sidik_dedup_options o = {.control = d->control,
                             .journal = sidik_ingest_journal(d->ingest),
                             .shards = d->shards,
                             .fusion = d->fusion,
                             .pool = sidik_workers_pool(d->workers),
                             .metrics = d->metrics,
                             .level = level,
                             .duplicate_fpir = c->duplicate_fpir,
                             .review_fpir = c->review_fpir,
                             .cohort = cohort,
                             .ncohort = SIDIK_SYNTH_COHORT_PERSONS};
    sidik_dedup *dd;
    rc = sidik_dedup_open(&o, &dd, &why);
    sidik_free(cohort); /* the stage keeps its own copy */
    if (rc == 0 && (rc = sidik_dedup_start(dd)) != 0)
        sidik_dedup_close(dd);
    if (rc != 0) {
        fprintf(stderr, "sidikd: dedup stage: %s (%s)\n", why ? why : "", sidik_strerror(rc));
        return 1;
    }
    d->dedup = dd;
    if (print_key_open(d) != 0)
        return 1;
    d->audit = (sidik_audit_service){.control = d->control,
                                     .fusion = d->fusion,
                                     .on_verdict = adjudicated,
                                     .verdict_ctx = d};
    d->print = (sidik_print_service){.control = d->control,
                                     .key = d->print_key,
                                     .lease_ms = (int64_t)c->print_lease_ms};
    return admin_open(d);
}

void sidikd_pipeline_close(daemon_t *d)
{
    if (d->admin != NULL) {
        /* First: a rebalance still running is cancelled and its thread
         * waited for (one batch at most) before the shards close. */
        uv_close((uv_handle_t *)&d->admin_tick, NULL);
        sidik_admin_destroy(d->admin);
        d->admin = NULL;
    }
    sidik_dedup *dd = d->dedup;
    d->dedup = NULL;
    sidik_dedup_close(dd);
    sidik_fusion_destroy(d->fusion);
    d->fusion = NULL;
    sidik_workers_destroy(d->workers);
    d->workers = NULL;
    sidik_shardset_close(d->shards);
    d->shards = NULL;
    EVP_PKEY_free(d->print_key);
    d->print_key = NULL;
}
