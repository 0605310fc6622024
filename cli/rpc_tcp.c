/*
 * What the kernel knows of a client connection's TCP (rpc_int.h), apart
 * from rpc_conn.c: it needs <linux/tcp.h>'s struct tcp_info, whose
 * tcpi_bytes_acked (Linux 4.1, RFC 4898's ThruOctetsAcked) glibc's
 * <netinet/tcp.h> lacks, and the two headers cannot be included together.
 */
#include "rpc_int.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

uint64_t sidik__rpc_tcp_acked(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof ti.tcpi_bytes_acked)
        return 0; /* an older kernel: unknown */
    return ti.tcpi_bytes_acked;
}
