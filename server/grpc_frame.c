/* gRPC message prefixes and grpc-timeout values, validated strictly. */
#include "sidik/grpc_frame.h"
#include "sidik/err.h"

int sidik_grpc_prefix_decode(const uint8_t p[SIDIK_GRPC_PREFIX_BYTES], uint32_t max_len,
                             bool *compressed, uint32_t *len, const char **why)
{
    if (p[0] > 1) {
        *why = "message prefix flag byte must be 0 or 1";
        return SIDIK_EFORMAT;
    }
    uint32_t l = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    if (l > max_len) {
        *why = "message length exceeds the server's limit";
        return SIDIK_ETOOBIG;
    }
    *compressed = p[0] == 1;
    *len = l;
    return 0;
}

void sidik_grpc_prefix_encode(uint8_t p[SIDIK_GRPC_PREFIX_BYTES], uint32_t len)
{
    p[0] = 0;
    p[1] = (uint8_t)(len >> 24);
    p[2] = (uint8_t)(len >> 16);
    p[3] = (uint8_t)(len >> 8);
    p[4] = (uint8_t)len;
}

int sidik_grpc_timeout_parse(const char *v, size_t n, uint64_t *ns, const char **why)
{
    /* TimeoutValue is "positive integer as ASCII string of at most 8 digits". */
    if (n < 2) {
        *why = "grpc-timeout needs digits and a unit";
        return SIDIK_EFORMAT;
    }
    if (n - 1 > 8) {
        *why = "grpc-timeout has more than 8 digits";
        return SIDIK_EFORMAT;
    }
    uint64_t value = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            *why = "grpc-timeout value is not all digits";
            return SIDIK_EFORMAT;
        }
        value = value * 10 + (uint64_t)(v[i] - '0');
    }
    uint64_t unit;
    switch (v[n - 1]) {
    case 'H':
        unit = 3600ull * 1000000000ull;
        break;
    case 'M':
        unit = 60ull * 1000000000ull;
        break;
    case 'S':
        unit = 1000000000ull;
        break;
    case 'm':
        unit = 1000000ull;
        break;
    case 'u':
        unit = 1000ull;
        break;
    case 'n':
        unit = 1;
        break;
    default:
        *why = "grpc-timeout unit must be one of H M S m u n";
        return SIDIK_EFORMAT;
    }
    /* 99,999,999 hours is 3.6e20 ns, past 64 bits: such a deadline is as
     * good as none, so it saturates. */
    *ns = value > UINT64_MAX / unit ? UINT64_MAX : value * unit;
    return 0;
}
