/* SCRAM (RFC 5802 / RFC 7677) client computation: messages, proof and server signature. */
#include "scram_calc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>

static void scram_err(char *err, size_t cap, const char *sentence)
{
    if (err && cap) snprintf(err, cap, "%s", sentence);
}

void scram_init(scram_ctx *c, mbedtls_md_type_t md)
{
    memset(c, 0, sizeof *c);
    c->md = md;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    c->hlen = info ? mbedtls_md_get_size(info) : 0;
}

void scram_free(scram_ctx *c)
{
    if (c->client_first_bare) {
        mbedtls_platform_zeroize(c->client_first_bare, c->cfb_len);
        free(c->client_first_bare);
    }
    mbedtls_md_type_t md = c->md;
    mbedtls_platform_zeroize(c, sizeof *c);
    c->md = md;
}

/* printable = %x21-2B / %x2D-7E (RFC 5802: anything visible but ',') */
static int scram_printable(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',') return 0;
    return 1;
}

/* Strict base64 (RFC 4648 alphabet, padding only at the end, length a multiple of 4). */
static int scram_b64_decode(const unsigned char *in, size_t n, unsigned char *out, size_t cap, size_t *olen)
{
    if (n == 0 || n % 4) return -1;
    size_t pad = 0;
    for (size_t i = 0; i < n; ++i) {
        unsigned char ch = in[i];
        if (ch == '=') {
            if (i < n - 2) return -1;
            ++pad;
            continue;
        }
        if (pad) return -1;
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
              ch == '/'))
            return -1;
    }
    return mbedtls_base64_decode(out, cap, olen, in, n) == 0 ? 0 : -1;
}

int scram_client_first(scram_ctx *c, const char *user, const char *cnonce, char **out, size_t *out_len,
                       char *err, size_t errcap)
{
    *out = NULL;
    size_t u = strlen(user), nl = strlen(cnonce);
    if (c->hlen == 0) {
        scram_err(err, errcap, "the SCRAM hash function is not available in this mbedTLS build");
        return SCRAM_ERROR;
    }
    if (u == 0 || u > SCRAM_MAX_USER) {
        scram_err(err, errcap, "the SCRAM user name must have 1 to 255 bytes");
        return SCRAM_ERROR;
    }
    if (nl == 0 || nl > SCRAM_MAX_NONCE || !scram_printable((const unsigned char *)cnonce, nl)) {
        scram_err(err, errcap, "the SCRAM client nonce is not a printable string");
        return SCRAM_ERROR;
    }
    size_t cap = 3 + 2 + 3 * u + 3 + nl + 1;
    char *msg = (char *)malloc(cap);
    if (!msg) {
        scram_err(err, errcap, "out of memory");
        return SCRAM_ERROR;
    }
    size_t n = 0;
    memcpy(msg, "n,,n=", 5), n = 5;
    for (size_t i = 0; i < u; ++i) {
        if (user[i] == ',') memcpy(msg + n, "=2C", 3), n += 3;
        else if (user[i] == '=') memcpy(msg + n, "=3D", 3), n += 3;
        else msg[n++] = user[i];
    }
    memcpy(msg + n, ",r=", 3), n += 3;
    memcpy(msg + n, cnonce, nl), n += nl;
    msg[n] = 0;

    if (c->client_first_bare) {
        mbedtls_platform_zeroize(c->client_first_bare, c->cfb_len);
        free(c->client_first_bare);
    }
    c->cfb_len = n - 3;
    c->client_first_bare = (char *)malloc(c->cfb_len + 1);
    if (!c->client_first_bare) {
        free(msg);
        scram_err(err, errcap, "out of memory");
        return SCRAM_ERROR;
    }
    memcpy(c->client_first_bare, msg + 3, c->cfb_len + 1);
    c->cnonce_len = nl;
    c->have_signature = 0;
    *out = msg;
    *out_len = n;
    return SCRAM_OK;
}

static int scram_hmac(const mbedtls_md_info_t *info, const unsigned char *key, size_t klen, const void *data,
                      size_t dlen, unsigned char *out)
{
    return mbedtls_md_hmac(info, key, klen, (const unsigned char *)data, dlen, out);
}

int scram_client_final(scram_ctx *c, const char *password, const unsigned char *sf, size_t sf_len, char **out,
                       size_t *out_len, char *err, size_t errcap)
{
    char sentence[200];
    *out = NULL;
    if (!c->client_first_bare) {
        scram_err(err, errcap, "internal error: no SCRAM client-first-message");
        return SCRAM_ERROR;
    }
    if (sf_len == 0 || sf_len > SCRAM_MAX_MESSAGE) {
        scram_err(err, errcap, "the server-first-message of SCRAM is empty or longer than 8192 bytes");
        return SCRAM_ERROR;
    }
    if (memchr(sf, 0, sf_len)) {
        scram_err(err, errcap, "the server-first-message of SCRAM contains a NUL byte");
        return SCRAM_ERROR;
    }
    if (sf_len >= 2 && sf[0] == 'm' && sf[1] == '=') {
        scram_err(err, errcap,
                  "the server requires a SCRAM extension (m=) that this client does not support; authentication cancelled");
        return SCRAM_ERROR;
    }
    /* r=nonce,s=salt,i=count[,ext...] in this order */
    const unsigned char *end = sf + sf_len, *p = sf;
    const unsigned char *nonce, *salt, *iter;
    size_t nonce_len, salt_len, iter_len;
#define SCRAM_FIELD(letter, ptr, len)                                                                        \
    do {                                                                                                     \
        if (end - p < 2 || p[0] != (letter) || p[1] != '=') {                                                \
            snprintf(sentence, sizeof sentence,                                                              \
                     "the server-first-message of SCRAM has no '%c=' where RFC 5802 puts it", (letter));     \
            scram_err(err, errcap, sentence);                                                                \
            return SCRAM_ERROR;                                                                              \
        }                                                                                                    \
        p += 2;                                                                                              \
        (ptr) = p;                                                                                           \
        while (p < end && *p != ',') ++p;                                                                    \
        (len) = (size_t)(p - (ptr));                                                                         \
        if (p < end) ++p;                                                                                    \
    } while (0)
    SCRAM_FIELD('r', nonce, nonce_len);
    SCRAM_FIELD('s', salt, salt_len);
    SCRAM_FIELD('i', iter, iter_len);
#undef SCRAM_FIELD
    (void)p; /* extensions after i= are ignored (RFC 5802 §5.1) */

    const char *cnonce = c->client_first_bare + c->cfb_len - c->cnonce_len;
    if (nonce_len < c->cnonce_len || memcmp(nonce, cnonce, c->cnonce_len) != 0) {
        scram_err(err, errcap, "the server's SCRAM nonce does not start with the client nonce; authentication cancelled");
        return SCRAM_ERROR;
    }
    if (!scram_printable(nonce, nonce_len)) {
        scram_err(err, errcap, "the server's SCRAM nonce contains characters outside printable ASCII");
        return SCRAM_ERROR;
    }
    if (iter_len == 0) {
        scram_err(err, errcap, "the SCRAM iteration count of the server is empty");
        return SCRAM_ERROR;
    }
    unsigned long iterations = 0;
    for (size_t i = 0; i < iter_len; ++i) {
        if (iter[i] < '0' || iter[i] > '9' || (i == 0 && iter[i] == '0' && iter_len > 1)) {
            scram_err(err, errcap, "the SCRAM iteration count of the server is not a number");
            return SCRAM_ERROR;
        }
        if (iterations <= SCRAM_MAX_ITERATIONS) iterations = iterations * 10 + (unsigned long)(iter[i] - '0');
    }
    if (iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
        snprintf(sentence, sizeof sentence,
                 "the server asks for %s%.*s PBKDF2 iterations; this client accepts 1 to 100000 (refused before "
                 "any work)",
                 iter_len > 12 ? "more than " : "", (int)(iter_len > 12 ? 12 : iter_len), (const char *)iter);
        scram_err(err, errcap, sentence);
        return SCRAM_ERROR;
    }
    unsigned char saltbin[SCRAM_MAX_MESSAGE];
    size_t saltbin_len = 0;
    if (scram_b64_decode(salt, salt_len, saltbin, sizeof saltbin, &saltbin_len) != 0 || saltbin_len == 0) {
        scram_err(err, errcap, "the SCRAM salt of the server is not valid base64");
        return SCRAM_ERROR;
    }

    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(c->md);
    size_t h = c->hlen;
    unsigned char salted[MBEDTLS_MD_MAX_SIZE], client_key[MBEDTLS_MD_MAX_SIZE], stored_key[MBEDTLS_MD_MAX_SIZE];
    unsigned char client_sig[MBEDTLS_MD_MAX_SIZE], server_key[MBEDTLS_MD_MAX_SIZE];
    int rc = SCRAM_ERROR;
    char *auth = NULL, *msg = NULL;
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    if (!info || mbedtls_md_setup(&md, info, 1) != 0 ||
        mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)password, strlen(password), saltbin, saltbin_len,
                                  (unsigned int)iterations, (uint32_t)h, salted) != 0) {
        scram_err(err, errcap, "PBKDF2 failed in mbedTLS");
        goto done;
    }
    /* client-final-message-without-proof = "c=biws,r=" nonce */
    {
        size_t wp_len = 9 + nonce_len;
        size_t auth_len = c->cfb_len + 1 + sf_len + 1 + wp_len;
        auth = (char *)malloc(auth_len);
        size_t b64cap = 4 * ((MBEDTLS_MD_MAX_SIZE + 2) / 3) + 1;
        msg = (char *)malloc(wp_len + 3 + b64cap);
        if (!auth || !msg) {
            scram_err(err, errcap, "out of memory");
            goto done;
        }
        memcpy(msg, "c=biws,r=", 9);
        memcpy(msg + 9, nonce, nonce_len);
        size_t n = 0;
        memcpy(auth, c->client_first_bare, c->cfb_len), n = c->cfb_len;
        auth[n++] = ',';
        memcpy(auth + n, sf, sf_len), n += sf_len;
        auth[n++] = ',';
        memcpy(auth + n, msg, wp_len), n += wp_len;

        if (scram_hmac(info, salted, h, "Client Key", 10, client_key) != 0 ||
            mbedtls_md(info, client_key, h, stored_key) != 0 ||
            scram_hmac(info, stored_key, h, auth, auth_len, client_sig) != 0 ||
            scram_hmac(info, salted, h, "Server Key", 10, server_key) != 0 ||
            scram_hmac(info, server_key, h, auth, auth_len, c->server_signature) != 0) {
            scram_err(err, errcap, "HMAC failed in mbedTLS");
            goto done;
        }
        for (size_t i = 0; i < h; ++i) client_key[i] ^= client_sig[i]; /* ClientProof */
        memcpy(msg + wp_len, ",p=", 3);
        size_t b64len = 0;
        if (mbedtls_base64_encode((unsigned char *)msg + wp_len + 3, b64cap, &b64len, client_key, h) != 0) {
            scram_err(err, errcap, "base64 failed in mbedTLS");
            goto done;
        }
        msg[wp_len + 3 + b64len] = 0;
        *out_len = wp_len + 3 + b64len;
        *out = msg;
        msg = NULL;
        c->have_signature = 1;
        rc = SCRAM_OK;
        mbedtls_platform_zeroize(auth, auth_len);
    }
done:
    mbedtls_md_free(&md);
    free(auth);
    free(msg);
    mbedtls_platform_zeroize(salted, sizeof salted);
    mbedtls_platform_zeroize(client_key, sizeof client_key);
    mbedtls_platform_zeroize(stored_key, sizeof stored_key);
    mbedtls_platform_zeroize(client_sig, sizeof client_sig);
    mbedtls_platform_zeroize(server_key, sizeof server_key);
    return rc;
}

int scram_server_final(scram_ctx *c, const unsigned char *sf, size_t len, char *err, size_t errcap)
{
    char sentence[300];
    if (!c->have_signature) {
        scram_err(err, errcap, "internal error: no SCRAM client-final-message");
        return SCRAM_ERROR;
    }
    if (len > SCRAM_MAX_MESSAGE || memchr(sf, 0, len)) {
        scram_err(err, errcap, "the server-final-message of SCRAM is longer than 8192 bytes or has a NUL byte");
        return SCRAM_ERROR;
    }
    if (len >= 2 && sf[0] == 'e' && sf[1] == '=') {
        size_t n = 2;
        while (n < len && sf[n] != ',') ++n;
        char shown[101];
        size_t k = 0;
        for (size_t i = 2; i < n && k < 100; ++i) shown[k++] = (sf[i] >= 0x20 && sf[i] < 0x7f) ? (char)sf[i] : '?';
        shown[k] = 0;
        snprintf(sentence, sizeof sentence, "the server refused the SCRAM authentication: e=%s", shown);
        scram_err(err, errcap, sentence);
        return SCRAM_FAILED;
    }
    if (len < 2 || sf[0] != 'v' || sf[1] != '=') {
        scram_err(err, errcap, "the server-final-message of SCRAM has neither v= nor e=");
        return SCRAM_ERROR;
    }
    size_t n = 2;
    while (n < len && sf[n] != ',') ++n; /* extensions after v= are ignored */
    unsigned char sig[SCRAM_MAX_MESSAGE];
    size_t sig_len = 0;
    if (scram_b64_decode(sf + 2, n - 2, sig, sizeof sig, &sig_len) != 0) {
        scram_err(err, errcap, "the server signature (v=) of SCRAM is not valid base64");
        return SCRAM_ERROR;
    }
    unsigned char diff = (unsigned char)(sig_len != c->hlen);
    for (size_t i = 0; i < c->hlen && i < sig_len; ++i) diff |= (unsigned char)(sig[i] ^ c->server_signature[i]);
    if (diff) {
        scram_err(err, errcap,
                  "the server signature does not match: the server does not know the password (or the exchange "
                  "was tampered with)");
        return SCRAM_ERROR;
    }
    return SCRAM_OK;
}
