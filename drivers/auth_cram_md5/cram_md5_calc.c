/* CRAM-MD5 (RFC 2195): user SP lower-hex(HMAC-MD5(password, challenge)). */
#include "cram_md5_calc.h"

#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

int cram_md5_response(const char *user, const char *password, const unsigned char *challenge,
                      size_t challenge_len, char *out, size_t cap, size_t *out_len)
{
    static const char hex[] = "0123456789abcdef";
    size_t u = strlen(user);
    if (cap < u + 1 + 32 + 1) return -1;
    const mbedtls_md_info_t *md5 = mbedtls_md_info_from_type(MBEDTLS_MD_MD5);
    unsigned char mac[16];
    if (!md5 || mbedtls_md_hmac(md5, (const unsigned char *)password, strlen(password), challenge,
                                challenge_len, mac) != 0)
        return -1;
    memcpy(out, user, u);
    out[u] = ' ';
    for (size_t i = 0; i < 16; ++i) {
        out[u + 1 + 2 * i] = hex[mac[i] >> 4];
        out[u + 2 + 2 * i] = hex[mac[i] & 15];
    }
    out[u + 33] = 0;
    mbedtls_platform_zeroize(mac, sizeof mac);
    if (out_len) *out_len = u + 33;
    return 0;
}
