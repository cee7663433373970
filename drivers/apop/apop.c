/* APOP (RFC 1939 section 7): "APOP user md5hex(timestamp password)", the timestamp taken from the
 * POP3 greeting. POP3 only. */
#include <stdio.h>
#include <string.h>

#include <mbedtls/md5.h>
#include <mbedtls/platform_util.h>

#include "upopmail_driver.h"

static const upopd_param apop_params[] = {
    {"user", UPOPD_P_REQUIRED},
    {"password", UPOPD_P_REQUIRED | UPOPD_P_SECRET},
    {NULL, 0},
};

/* Finds "<...@...>" in the greeting; returns its length and start, or 0. */
static size_t apop_timestamp(const char *greeting, const char **start)
{
    const char *lt = strchr(greeting, '<');
    if (!lt) return 0;
    const char *gt = strchr(lt, '>');
    if (!gt || gt - lt > 512) return 0;
    const char *at = memchr(lt, '@', (size_t)(gt - lt));
    if (!at) return 0;
    *start = lt;
    return (size_t)(gt - lt) + 1;
}

static int apop_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    *state = NULL;
    const char *user = api->param(h, "user");
    if (strlen(user) > 255 || strchr(user, ' ')) {
        api->error(h, "the APOP user name must be at most 255 bytes without blanks");
        return UPOPD_ERROR;
    }
    return UPOPD_OK;
}

static int apop_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    const char *ts;
    if (api->server_type(h) == UPOPD_POP && apop_timestamp(api->greeting(h), &ts)) return UPOPD_OK;
    api->error(h, "the server's greeting carries no APOP timestamp");
    return UPOPD_UNSUPPORTED;
}

static int apop_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    const char *ts = NULL;
    size_t ts_len = apop_timestamp(api->greeting(h), &ts);
    const char *password = api->param(h, "password");
    unsigned char digest[16];
    mbedtls_md5_context md5;
    mbedtls_md5_init(&md5);
    int bad = mbedtls_md5_starts_ret(&md5) || mbedtls_md5_update_ret(&md5, (const unsigned char *)ts, ts_len) ||
              mbedtls_md5_update_ret(&md5, (const unsigned char *)password, strlen(password)) ||
              mbedtls_md5_finish_ret(&md5, digest);
    mbedtls_md5_free(&md5);
    if (bad) {
        api->error(h, "MD5 failed");
        return UPOPD_ERROR;
    }
    char line[300 + 33];
    int n = snprintf(line, sizeof line, "APOP %s ", api->param(h, "user"));
    for (int i = 0; i < 16; ++i) n += snprintf(line + n, sizeof line - (size_t)n, "%02x", digest[i]);
    mbedtls_platform_zeroize(digest, sizeof digest);
    upopd_reply r;
    int rc = api->command(h, line, 1, &r);
    mbedtls_platform_zeroize(line, sizeof line);
    if (rc != UPOPD_OK) return rc;
    return r.code == 1 ? UPOPD_OK : UPOPD_AUTH_FAILED;
}

static const upopd_driver apop_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "APOP",
    NULL,
    UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_AUTHENTICATES | UPOPD_F_CREDENTIALS,
    apop_params,
    apop_create,
    apop_verify,
    apop_open,
    NULL,
    NULL,
    NULL,
    {0},
};

static const upopd_driver *const table[] = {&apop_driver};
UPOPD_DEFINE_ENTRY(table)
