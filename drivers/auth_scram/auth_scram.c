/* AUTH SCRAM-SHA-256 (RFC 7677) and AUTH SCRAM-SHA-1 (RFC 5802), without channel binding
 * (GS2 header "n,,"). The client nonce comes from mbedTLS's CTR-DRBG seeded by its entropy
 * collector; the server's nonce, salt and iteration count are checked before any PBKDF2 work;
 * the server must prove that it knows the password (v=), else the logon fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/platform_util.h>

#include "scram_calc.h"
#include "sasl_common.h"
#include "upopmail_driver.h"

#define SCRAM_NONCE_BYTES 24

typedef struct scram_kind {
    const char *mechanism;
    mbedtls_md_type_t md;
} scram_kind;

static const scram_kind kind_sha256 = {"SCRAM-SHA-256", MBEDTLS_MD_SHA256};
static const scram_kind kind_sha1 = {"SCRAM-SHA-1", MBEDTLS_MD_SHA1};

static const upopd_param scram_params[] = {
    {"user", UPOPD_P_REQUIRED},
    {"password", UPOPD_P_REQUIRED | UPOPD_P_SECRET},
    {NULL, 0},
};

static int scram_create(const scram_kind *kind, const upopd_host_api *api, upopd_host *h, void **state)
{
    *state = (void *)kind;
    if (upopd_check_user(api, h, SCRAM_MAX_USER) != UPOPD_OK) return UPOPD_ERROR;
    if (!mbedtls_md_info_from_type(kind->md)) {
        api->error(h, "this mbedTLS build lacks the hash function of the SCRAM mechanism");
        return UPOPD_ERROR;
    }
    return UPOPD_OK;
}

static int scram256_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    return scram_create(&kind_sha256, api, h, state);
}

static int scram1_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    return scram_create(&kind_sha1, api, h, state);
}

static int scram_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    const scram_kind *kind = (const scram_kind *)state;
    return upopd_verify_mechanism(api, h, kind->mechanism);
}

/* SCRAM_NONCE_BYTES random bytes, base64-encoded (no ',' in that alphabet). */
static int scram_nonce(char *out, size_t cap)
{
    static const char pers[] = "upopmail SCRAM client nonce";
    unsigned char raw[SCRAM_NONCE_BYTES];
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    size_t olen = 0;
    int rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, (const unsigned char *)pers,
                                   sizeof pers - 1);
    if (rc == 0) rc = mbedtls_ctr_drbg_random(&drbg, raw, sizeof raw);
    if (rc == 0) rc = mbedtls_base64_encode((unsigned char *)out, cap, &olen, raw, sizeof raw);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    mbedtls_platform_zeroize(raw, sizeof raw);
    return rc == 0 ? 0 : -1;
}

static int scram_fail(const upopd_host_api *api, upopd_host *h, int cancel, const char *sentence, int rc)
{
    if (cancel) api->sasl_cancel(h);
    api->error(h, sentence);
    return rc;
}

static int scram_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    const scram_kind *kind = (const scram_kind *)state;
    char err[400], nonce[64];
    if (scram_nonce(nonce, sizeof nonce) != 0)
        return scram_fail(api, h, 0, "the random generator of mbedTLS failed (SCRAM client nonce)", UPOPD_ERROR);

    scram_ctx c;
    scram_init(&c, kind->md);
    char *msg = NULL;
    size_t len = 0;
    int rc;
    upopd_sasl_result r;
    if (scram_client_first(&c, api->param(h, "user"), nonce, &msg, &len, err, sizeof err) != SCRAM_OK) {
        rc = scram_fail(api, h, 0, err, UPOPD_ERROR);
        goto out;
    }
    rc = api->sasl_start(h, kind->mechanism, (const unsigned char *)msg, len, &r);
    free(msg);
    msg = NULL;
    if (rc != UPOPD_OK) goto out;
    if (r.done) {
        rc = r.ok ? scram_fail(api, h, 0, "the server reported success before the SCRAM exchange took place",
                               UPOPD_ERROR)
                  : UPOPD_AUTH_FAILED;
        goto out;
    }

    /* server-first-message -> client-final-message */
    if (scram_client_final(&c, api->param(h, "password"), r.data, r.len, &msg, &len, err, sizeof err) != SCRAM_OK) {
        rc = scram_fail(api, h, 1, err, UPOPD_ERROR);
        goto out;
    }
    rc = api->sasl_step(h, (const unsigned char *)msg, len, &r);
    mbedtls_platform_zeroize(msg, len);
    free(msg);
    msg = NULL;
    if (rc != UPOPD_OK) goto out;
    if (r.done) {
        rc = r.ok ? scram_fail(api, h, 0,
                               "the server ended the SCRAM exchange without its signature (v=): it did not prove "
                               "that it knows the password",
                               UPOPD_ERROR)
                  : UPOPD_AUTH_FAILED;
        goto out;
    }

    /* server-final-message: v= must match, e= is a refusal */
    switch (scram_server_final(&c, r.data, r.len, err, sizeof err)) {
    case SCRAM_OK:
        break;
    case SCRAM_FAILED:
        rc = scram_fail(api, h, 1, err, UPOPD_AUTH_FAILED);
        goto out;
    default:
        rc = scram_fail(api, h, 1, err, UPOPD_ERROR);
        goto out;
    }
    rc = api->sasl_step(h, (const unsigned char *)"", 0, &r);
    if (rc != UPOPD_OK) goto out;
    if (!r.done) {
        rc = scram_fail(api, h, 1, "the server sent another SCRAM challenge after its signature; authentication cancelled",
                        UPOPD_ERROR);
        goto out;
    }
    rc = r.ok ? UPOPD_OK : UPOPD_AUTH_FAILED;
out:
    scram_free(&c);
    return rc;
}

static const char *const scram256_aliases[] = {"SCRAM-SHA-256", NULL};
static const upopd_driver scram256_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "AUTH SCRAM-SHA-256",
    scram256_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_AUTHENTICATES | UPOPD_F_CREDENTIALS,
    scram_params,
    scram256_create,
    scram_verify,
    scram_open,
    NULL,
    NULL,
    NULL,
    {0},
};

static const char *const scram1_aliases[] = {"SCRAM-SHA-1", NULL};
static const upopd_driver scram1_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "AUTH SCRAM-SHA-1",
    scram1_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_AUTHENTICATES | UPOPD_F_CREDENTIALS,
    scram_params,
    scram1_create,
    scram_verify,
    scram_open,
    NULL,
    NULL,
    NULL,
    {0},
};

static const upopd_driver *const table[] = {&scram256_driver, &scram1_driver};
UPOPD_DEFINE_ENTRY(table)
