/*
 * The settings sidikd runs with, kept in the control store and audited.
 *
 * A national system's decisions depend on its settings (the FPIR targets
 * that set the DUPLICATE and REVIEW thresholds above all), so an auditor
 * must be able to tell which were in force when. At every start sidikd
 * compares the settings it was given with those it last started with and,
 * in one control-store transaction, appends an SIDIK_AUDIT_ADMIN entry for
 * each key that changed ("duplicate_fpir: 0.001 -> 0.0001", actor
 * "sidikd", subject "settings") and keeps the new ones. The first start
 * records them with one entry. Keys are those of sidik_config_keys, text
 * as `sidikd --check-config` prints it.
 *
 * Thread safety: one call at start, before the loops run.
 */
#ifndef SIDIK_SETTINGS_RECORD_H
#define SIDIK_SETTINGS_RECORD_H

#include <stdint.h>

#include "sidik/config.h"
#include "sidik/control.h"

/** Records c's settings as above; *changed (may be NULL) gets how many keys
 *  differed from the last start's (every key on the first start). Errors:
 *  those of the control store (SIDIK_EFULL, SIDIK_ECORRUPT for a damaged
 *  record, ...), SIDIK_ENOMEM, SIDIK_ETOOBIG (settings past 64 KiB). */
int sidik_settings_record(sidik_control *control, const sidik_config *c, int64_t now_ms,
                          unsigned *changed);

#endif
