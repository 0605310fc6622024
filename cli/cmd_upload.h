/*
 * Shared by the `sidik upload` subcommands (cmd_upload.c: add and run;
 * upload_show.c: status): the spool folder's default and opening it with
 * a message that says what to do.
 */
#ifndef SIDIK_CLI_CMD_UPLOAD_H
#define SIDIK_CLI_CMD_UPLOAD_H

#include <stdint.h>

#include "spool.h"

/** The spool folder: flag if given, else $SIDIK_SPOOL, else
 *  $XDG_DATA_HOME/sidik/spool, else ~/.local/share/sidik/spool; into out. */
void sidik__upload_spool_dir(const char *flag, char *out, size_t cap);

/** Opens the spool in dir (retry cap in ms, 0: the spool's default),
 *  printing "sidik upload SUB: ..." on failure. Returns the exit code. */
int sidik__upload_spool_open(const char *sub, const char *dir, int64_t retry_cap_ms,
                             sidik_spool **out);

/** `sidik upload status` (upload_show.c); argv[0] is "status". */
int sidik__upload_status(int argc, char **argv);

/** `sidik upload export` (upload_export.c); argv[0] is "export". */
int sidik__upload_export(int argc, char **argv);

#endif
