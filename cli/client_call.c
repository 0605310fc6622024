/* What every network command does around a call (client_call.h). */
#include "client_call.h"
#include "cli.h"
#include "sidik/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char sidik_cli_exit_codes_usage[] =
    "Exit codes: 0 done; 1 the server answered no (not found, wrong state, a\n"
    "check failed); 2 the command line, the client settings or the certificates\n"
    "are wrong (a certificate the other side does not accept included); 3 the\n"
    "server could not be reached or did not answer in time (try again later);\n"
    "4 this certificate may not do that (another role is needed).\n";

/* The role a method's service wants, for the PERMISSION_DENIED hint; the
 * server's one role table (server/authz.c) is what decides. */
static const char *role_for(const char *path)
{
    static const struct {
        const char *service, *role;
    } map[] = {{"/sidik.v1.Audit/", "an auditor"},
               {"/sidik.v1.Admin/", "an admin"},
               {"/sidik.v1.Print/", "a printer"},
               {"/sidik.v1.Ingest/", "an office"},
               {"/sidik.v1.Status/", "an office or auditor"}};
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(map); i++)
        if (strncmp(path, map[i].service, strlen(map[i].service)) == 0)
            return map[i].role;
    return "another";
}

int sidik_cli_exit_code(int rc, int grpc)
{
    if (rc == 0 && grpc == SIDIK_GRPC_OK)
        return SIDIK_CLI_EXIT_OK;
    switch (grpc) {
    case SIDIK_GRPC_PERMISSION_DENIED:
    case SIDIK_GRPC_UNAUTHENTICATED:
        return SIDIK_CLI_EXIT_DENIED;
    case SIDIK_GRPC_UNAVAILABLE:
    case SIDIK_GRPC_DEADLINE_EXCEEDED:
        return SIDIK_CLI_EXIT_UNREACHABLE;
    default:
        return SIDIK_CLI_EXIT_FAIL;
    }
}

int sidik_cli_connect_exit_code(int rc)
{
    /* Certificate files that cannot be read, do not belong together or do
     * not verify (the server's against our CA, ours at the server) are the
     * caller's settings to fix, not worth a retry; everything else is the
     * way to the server. */
    return rc == -ENOENT || rc == -EACCES || rc == SIDIK_EFORMAT || rc == SIDIK_EUNAUTH
               ? SIDIK_CLI_EXIT_USAGE
               : SIDIK_CLI_EXIT_UNREACHABLE;
}

int sidik_cli_connect(const char *cmd, const sidik_client_flags *f, sidik_rpc **out)
{
    sidik_client_settings s;
    char why[1024];
    int rc = sidik_client_settings_load(&s, f, why, sizeof why);
    if (rc != 0) {
        fprintf(stderr, "sidik %s: %s\n", cmd, why);
        return SIDIK_CLI_EXIT_USAGE;
    }
    rc = sidik_rpc_connect(&s, out, why, sizeof why);
    if (rc != 0) {
        fprintf(stderr, "sidik %s: %s\n", cmd, why);
        return sidik_cli_connect_exit_code(rc);
    }
    return 0;
}

static int outcome(const char *cmd, sidik_rpc *c, const char *path, int rc,
                   const sidik_rpc_status *st)
{
    if (rc == 0 && st->code == SIDIK_GRPC_OK)
        return 0;
    const char *method = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    fprintf(stderr, "sidik %s: %s: %s: %s\n", cmd, method,
            sidik_grpc_status_name((sidik_grpc_status)st->code), st->message);
    switch (st->code) {
    case SIDIK_GRPC_PERMISSION_DENIED:
    case SIDIK_GRPC_UNAUTHENTICATED:
        fprintf(stderr,
                "  this certificate is %s '%s'; this needs %s certificate (--cert, --key)\n",
                sidik_rpc_role(c), sidik_rpc_name(c), role_for(path));
        break;
    case SIDIK_GRPC_UNAVAILABLE:
        fprintf(stderr, "  sidikd did not finish the call; try again (it may be restarting)\n");
        break;
    case SIDIK_GRPC_DEADLINE_EXCEEDED:
        fprintf(stderr, "  no answer in time; try again, or give more with --timeout SECONDS\n");
        break;
    case SIDIK_GRPC_UNIMPLEMENTED:
        fprintf(stderr, "  this sidikd does not serve it: is it older than this sidik?\n");
        break;
    default:
        break;
    }
    return sidik_cli_exit_code(rc, st->code);
}

int sidik_cli_unary(const char *cmd, sidik_rpc *c, const char *path, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
    sidik_rpc_status st;
    *resp = NULL;
    int rc = sidik_rpc_unary(c, path, req, resp_desc, resp, &st);
    return outcome(cmd, c, path, rc, &st);
}

int sidik_cli_stream(const char *cmd, sidik_rpc *c, const char *path, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc,
                     int (*on_message)(void *ctx, ProtobufCMessage *m), void *ctx)
{
    sidik_rpc_status st;
    int rc = sidik_rpc_stream(c, path, req, resp_desc, on_message, ctx, &st);
    return outcome(cmd, c, path, rc, &st);
}

int sidik_cli_bad(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sidik %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "; 'sidik %s --help' shows the options\n", cmd);
    va_end(ap);
    return SIDIK_CLI_EXIT_USAGE;
}
