/* SCRAM (RFC 5802, RFC 7677) client messages without any I/O (shared with the unit tests).
 * Channel binding is not used: the GS2 header is "n,,". */
#ifndef UPOPD_SCRAM_CALC_H
#define UPOPD_SCRAM_CALC_H
#include <stddef.h>

#include <mbedtls/md.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCRAM_OK 0
#define SCRAM_FAILED 1 /* the server said e= (authentication failed) */
#define SCRAM_ERROR -1 /* protocol or verification error; err holds a sentence */

#define SCRAM_MAX_USER 255
#define SCRAM_MAX_NONCE 256
#define SCRAM_MAX_MESSAGE 8192     /* longest server message accepted */
#define SCRAM_MIN_ITERATIONS 1
#define SCRAM_MAX_ITERATIONS 100000

typedef struct scram_ctx {
    mbedtls_md_type_t md;
    size_t hlen;
    char *client_first_bare; /* "n=" saslname ",r=" c-nonce (malloc) */
    size_t cfb_len;
    size_t cnonce_len;       /* the c-nonce is the tail of client_first_bare */
    unsigned char server_signature[MBEDTLS_MD_MAX_SIZE];
    int have_signature;
} scram_ctx;

void scram_init(scram_ctx *c, mbedtls_md_type_t md);
/* Frees and wipes everything the context holds. */
void scram_free(scram_ctx *c);

/* client-first-message: "n,," "n=" saslname ",r=" cnonce. *out is malloc'ed (NUL-terminated). */
int scram_client_first(scram_ctx *c, const char *user, const char *cnonce, char **out, size_t *out_len,
                       char *err, size_t errcap);

/* Checks server-first-message (m=, the nonce, salt, iteration bounds before any PBKDF2 work),
 * computes the proof and remembers the expected ServerSignature. *out: client-final-message
 * (malloc'ed, NUL-terminated). */
int scram_client_final(scram_ctx *c, const char *password, const unsigned char *server_first, size_t sf_len,
                       char **out, size_t *out_len, char *err, size_t errcap);

/* server-final-message: SCRAM_OK when v= matches, SCRAM_FAILED for e=, SCRAM_ERROR otherwise
 * (a mismatching v= gives "the server signature does not match ..."). */
int scram_server_final(scram_ctx *c, const unsigned char *server_final, size_t len, char *err, size_t errcap);

#ifdef __cplusplus
}
#endif
#endif
