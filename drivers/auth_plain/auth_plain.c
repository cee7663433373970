/* AUTH PLAIN (RFC 4616): one message, [authzid] NUL authcid NUL passwd, sent as the initial
 * response (the host moves it after an empty challenge when the command line would be too long). */
#include <stdlib.h>
#include <string.h>

#include "upopmail_driver.h"

static const upopd_param plain_params[] = {
    {"user", UPOPD_P_REQUIRED},
    {"password", UPOPD_P_REQUIRED | UPOPD_P_SECRET},
    {"authzid", 0},
    {NULL, 0},
};

static int plain_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    *state = NULL;
    const char *authzid = api->param(h, "authzid");
    if (strlen(api->param(h, "user")) > 255 || strlen(api->param(h, "password")) > 255 ||
        (authzid && strlen(authzid) > 255)) {
        api->error(h, "user, password and authzid may have at most 255 bytes each (RFC 4616)");
        return UPOPD_ERROR;
    }
    return UPOPD_OK;
}

static int plain_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    if (api->has_mechanism(h, "PLAIN")) return UPOPD_OK;
    api->error(h, "the server does not offer the SASL mechanism PLAIN");
    return UPOPD_UNSUPPORTED;
}

static int plain_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    const char *authzid = api->param(h, "authzid");
    const char *user = api->param(h, "user");
    const char *password = api->param(h, "password");
    size_t za = authzid ? strlen(authzid) : 0, u = strlen(user), p = strlen(password);
    unsigned char msg[3 * 256];
    memcpy(msg, authzid ? authzid : "", za);
    msg[za] = 0;
    memcpy(msg + za + 1, user, u);
    msg[za + 1 + u] = 0;
    memcpy(msg + za + 2 + u, password, p);
    upopd_sasl_result r;
    int rc = api->sasl_start(h, "PLAIN", msg, za + u + p + 2, &r);
    memset(msg, 0, sizeof msg);
    if (rc != UPOPD_OK) return rc;
    if (!r.done) {
        api->sasl_cancel(h);
        api->error(h, "the server sent a challenge after the PLAIN response; authentication cancelled");
        return UPOPD_ERROR;
    }
    return r.ok ? UPOPD_OK : UPOPD_AUTH_FAILED;
}

static const char *const plain_aliases[] = {"PLAIN", NULL};
static const upopd_driver plain_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "AUTH PLAIN",
    plain_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_AUTHENTICATES | UPOPD_F_CREDENTIALS,
    plain_params,
    plain_create,
    plain_verify,
    plain_open,
    NULL,
    NULL,
    NULL,
    {0},
};

static const upopd_driver *const table[] = {&plain_driver};
UPOPD_DEFINE_ENTRY(table)
