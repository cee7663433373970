/* AUTH CRAM-MD5 (RFC 2195): the server sends a challenge (a msg-id-like string), the client
 * answers "user SP lower-hex(HMAC-MD5(password, challenge))". It does not authenticate the
 * server and needs the password in clear on the server; SMTP and POP3. */
#include <string.h>

#include <mbedtls/platform_util.h>

#include "cram_md5_calc.h"
#include "sasl_common.h"
#include "upopmail_driver.h"

#define CRAM_MAX_USER 255
#define CRAM_MAX_CHALLENGE 8192

static const upopd_param cram_params[] = {
    {"user", UPOPD_P_REQUIRED},
    {"password", UPOPD_P_REQUIRED | UPOPD_P_SECRET},
    {NULL, 0},
};

static int cram_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    *state = NULL;
    return upopd_check_user(api, h, CRAM_MAX_USER);
}

static int cram_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    return upopd_verify_mechanism(api, h, "CRAM-MD5");
}

static int cram_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    upopd_sasl_result r;
    int rc = api->sasl_start(h, "CRAM-MD5", NULL, 0, &r);
    if (rc != UPOPD_OK) return rc;
    if (r.done) {
        if (r.ok) {
            api->error(h, "the server reported success before the CRAM-MD5 exchange took place");
            return UPOPD_ERROR;
        }
        return UPOPD_AUTH_FAILED;
    }
    if (r.len == 0 || r.len > CRAM_MAX_CHALLENGE) {
        api->sasl_cancel(h);
        api->error(h, r.len ? "the server's CRAM-MD5 challenge is longer than 8192 bytes; authentication cancelled"
                            : "the server's CRAM-MD5 challenge is empty; authentication cancelled");
        return UPOPD_ERROR;
    }
    char resp[CRAM_MAX_USER + 40];
    size_t len = 0;
    if (cram_md5_response(api->param(h, "user"), api->param(h, "password"), r.data, r.len, resp, sizeof resp,
                          &len) != 0) {
        api->sasl_cancel(h);
        api->error(h, "HMAC-MD5 is not available in this mbedTLS build");
        return UPOPD_ERROR;
    }
    rc = api->sasl_step(h, (const unsigned char *)resp, len, &r);
    mbedtls_platform_zeroize(resp, sizeof resp);
    if (rc != UPOPD_OK) return rc;
    if (!r.done) {
        api->sasl_cancel(h);
        api->error(h, "the server sent a second CRAM-MD5 challenge; authentication cancelled");
        return UPOPD_ERROR;
    }
    return r.ok ? UPOPD_OK : UPOPD_AUTH_FAILED;
}

static const char *const cram_aliases[] = {"CRAM-MD5", NULL};
static const upopd_driver cram_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "AUTH CRAM-MD5",
    cram_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_AUTHENTICATES | UPOPD_F_CREDENTIALS,
    cram_params,
    cram_create,
    cram_verify,
    cram_open,
    NULL,
    NULL,
    NULL,
    {0},
};

static const upopd_driver *const table[] = {&cram_driver};
UPOPD_DEFINE_ENTRY(table)
