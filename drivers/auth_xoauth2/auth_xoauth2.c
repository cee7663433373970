/* AUTH XOAUTH2 (Google's SASL mechanism for OAuth 2.0 bearer tokens): one client message,
 *   "user=" USER ^A "auth=Bearer " TOKEN ^A ^A
 * sent as the initial response. When the server refuses the token it first sends a challenge
 * carrying a JSON error ({"status":"401",...}); the client answers it with an empty response and
 * then reads the final failure (535 / -ERR). SMTP and POP3 (the host does the framing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth_exchange.h"
#include "upopmail_driver.h"

#define XO_MAX_USER 255
#define XO_MAX_TOKEN 8192

static const upopd_param xo_params[] = {
    {"user", UPOPD_P_REQUIRED},
    {"token", UPOPD_P_REQUIRED | UPOPD_P_SECRET},
    {NULL, 0},
};

static int xo_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    *state = NULL;
    const char *user = api->param(h, "user");
    const char *token = api->param(h, "token");
    if (strlen(user) > XO_MAX_USER) {
        api->error(h, "the user name is longer than 255 bytes");
        return UPOPD_ERROR;
    }
    if (strlen(token) > XO_MAX_TOKEN) {
        api->error(h, "the token is longer than 8192 bytes");
        return UPOPD_ERROR;
    }
    if (strchr(user, '\x01') || strchr(token, '\x01')) {
        api->error(h, "the user name and the token may not contain the byte 0x01 (the XOAUTH2 separator)");
        return UPOPD_ERROR;
    }
    return UPOPD_OK;
}

static int xo_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    if (api->has_mechanism(h, "XOAUTH2")) return UPOPD_OK;
    api->error(h, "the server does not offer the SASL mechanism XOAUTH2");
    return UPOPD_UNSUPPORTED;
}

static int xo_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    const char *user = api->param(h, "user");
    const char *token = api->param(h, "token");
    size_t u = strlen(user), t = strlen(token);
    size_t len = 5 + u + 1 + 12 + t + 2;
    unsigned char *msg = (unsigned char *)malloc(len);
    if (!msg) {
        api->error(h, "out of memory");
        return UPOPD_ERROR;
    }
    unsigned char *p = msg;
    memcpy(p, "user=", 5), p += 5;
    memcpy(p, user, u), p += u;
    *p++ = 0x01;
    memcpy(p, "auth=Bearer ", 12), p += 12;
    memcpy(p, token, t), p += t;
    *p++ = 0x01;
    *p++ = 0x01;

    /* an error challenge is answered with an empty response */
    int rc = upopd_oauth_exchange(api, h, "XOAUTH2", msg, len, (const unsigned char *)"", 0);
    upopd_wipe(msg, len);
    free(msg);
    return rc;
}

static const char *const xo_aliases[] = {"UAuthXOAUTH2SMTP", "UAuthXOAUTH2POP", "XOAUTH2", NULL};
static const upopd_driver xo_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "AUTH XOAUTH2",
    xo_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_AUTHENTICATES | UPOPD_F_CREDENTIALS,
    xo_params,
    xo_create,
    xo_verify,
    xo_open,
    NULL,
    NULL,
    NULL,
    {0},
};

static const upopd_driver *const table[] = {&xo_driver};
UPOPD_DEFINE_ENTRY(table)
