/* CRAM-MD5 (RFC 2195): the client response, without any I/O (shared with the unit tests). */
#ifndef UPOPD_CRAM_MD5_CALC_H
#define UPOPD_CRAM_MD5_CALC_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes "user SP lower-hex(HMAC-MD5(password, challenge))" to out (NUL-terminated) and its
 * length to *out_len. Returns 0, or -1 when out is too small or the MD5 HMAC fails. */
int cram_md5_response(const char *user, const char *password, const unsigned char *challenge,
                      size_t challenge_len, char *out, size_t cap, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
