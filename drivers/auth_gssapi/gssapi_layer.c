/* RFC 4752 §3.1, the last round: the server's 4-octet offer and the client's choice. */
#include "gssapi_layer.h"

#include <stdio.h>
#include <string.h>

int gssapi_layer_check(const unsigned char *msg, size_t len, uint32_t *max_size, char *err, size_t err_cap)
{
    if (len != 4) {
        snprintf(err, err_cap,
                 "the server's security-layer message has %zu bytes instead of 4 (RFC 4752); authentication "
                 "cancelled",
                 len);
        return -1;
    }
    if (!(msg[0] & GSSAPI_LAYER_NONE)) {
        snprintf(err, err_cap,
                 "the server does not offer \"no security layer\" (it offers the layer bits 0x%02x; upopmail "
                 "relies on TLS and supports none of them); authentication cancelled",
                 (unsigned)msg[0]);
        return -1;
    }
    if (max_size) *max_size = ((uint32_t)msg[1] << 16) | ((uint32_t)msg[2] << 8) | msg[3];
    return 0;
}

int gssapi_layer_answer(const char *authzid, unsigned char *out, size_t cap)
{
    size_t n = authzid ? strlen(authzid) : 0;
    if (n > GSSAPI_MAX_AUTHZID || cap < 4 + n) return -1;
    out[0] = GSSAPI_LAYER_NONE;
    out[1] = out[2] = out[3] = 0; /* no layer: the maximum buffer size must be 0 */
    if (n) memcpy(out + 4, authzid, n);
    return (int)(4 + n);
}
