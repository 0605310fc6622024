/*
 * What every network command of `sidik` does around a call, so they fail
 * the same way: connect from the common settings (client_settings.h) and
 * run calls, printing to stderr what went wrong and what to do next, and
 * turning the outcome into the documented exit code.
 *
 * Each function returns a process exit code (cli.h): 0 when it worked,
 * else the code to exit with, the message already printed as
 * "sidik CMD: ...".
 */
#ifndef SIDIK_CLI_CLIENT_CALL_H
#define SIDIK_CLI_CLIENT_CALL_H

#include "client_settings.h"
#include "rpc.h"

/* The exit codes' paragraph for a network command's --help. */
extern const char sidik_cli_exit_codes_usage[];

/** The exit code for a call that returned rc with gRPC status grpc (both
 *  0: SIDIK_CLI_EXIT_OK), for commands that word their own messages. */
int sidik_cli_exit_code(int rc, int grpc);

/** The exit code for a sidik_rpc_connect error rc. */
int sidik_cli_connect_exit_code(int rc);

/** The command line was wrong: prints "sidik CMD: <what>; 'sidik CMD --help'
 *  shows the options" on stderr and returns SIDIK_CLI_EXIT_USAGE. */
int sidik_cli_bad(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Settings from f (see client_settings.h), then a connection in *out.
 *  Exit codes: SIDIK_CLI_EXIT_USAGE (a setting is wrong or missing),
 *  SIDIK_CLI_EXIT_UNREACHABLE (no connection: refused, timeout, TLS). */
int sidik_cli_connect(const char *cmd, const sidik_client_flags *f, sidik_rpc **out);

/** One unary call; *resp (free with sidik_rpc_message_free) only on 0.
 *  Exit codes: SIDIK_CLI_EXIT_DENIED (PERMISSION_DENIED, UNAUTHENTICATED),
 *  SIDIK_CLI_EXIT_UNREACHABLE (the transport failed, UNAVAILABLE,
 *  DEADLINE_EXCEEDED), SIDIK_CLI_EXIT_FAIL (any other status). */
int sidik_cli_unary(const char *cmd, sidik_rpc *c, const char *path, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp);

/** A server-streaming call (sidik_rpc_stream); exit codes as unary. */
int sidik_cli_stream(const char *cmd, sidik_rpc *c, const char *path, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc,
                     int (*on_message)(void *ctx, ProtobufCMessage *m), void *ctx);

#endif
