/* AUTH LOGIN (draft-murchison-sasl-login): the user name and the password, each answering a
 * server challenge whose text is ignored. SMTP and POP3 (RFC 5034 framing by the host). */
#include <string.h>

#include "upopmail_driver.h"

static const upopd_param login_params[] = {
    {"user", UPOPD_P_REQUIRED},
    {"password", UPOPD_P_REQUIRED | UPOPD_P_SECRET},
    {NULL, 0},
};

static int login_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    *state = NULL;
    const char *user = api->param(h, "user");
    if (strlen(user) >= 256) {
        api->error(h, "the user name is longer than 255 bytes");
        return UPOPD_ERROR;
    }
    return UPOPD_OK;
}

static int login_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    if (api->has_mechanism(h, "LOGIN")) return UPOPD_OK;
    api->error(h, "the server does not offer the SASL mechanism LOGIN");
    return UPOPD_UNSUPPORTED;
}

/* Answers one challenge; returns UPOPD_OK with *done set when the server ended the exchange. */
static int login_step(const upopd_host_api *api, upopd_host *h, const char *data, upopd_sasl_result *r)
{
    return api->sasl_step(h, (const unsigned char *)data, strlen(data), r);
}

static int login_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    upopd_sasl_result r;
    int rc = api->sasl_start(h, "LOGIN", NULL, 0, &r);
    if (rc != UPOPD_OK) return rc;
    if (!r.done) rc = login_step(api, h, api->param(h, "user"), &r);
    if (rc != UPOPD_OK) return rc;
    if (!r.done) rc = login_step(api, h, api->param(h, "password"), &r);
    if (rc != UPOPD_OK) return rc;
    if (!r.done) {
        api->sasl_cancel(h);
        api->error(h, "the server asked for more than a user name and a password; authentication cancelled");
        return UPOPD_ERROR;
    }
    return r.ok ? UPOPD_OK : UPOPD_AUTH_FAILED;
}

static const char *const login_aliases[] = {"UAuthLoginSMTP", "LOGIN", NULL};
static const upopd_driver login_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "AUTH LOGIN",
    login_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_AUTHENTICATES | UPOPD_F_CREDENTIALS,
    login_params,
    login_create,
    login_verify,
    login_open,
    NULL,
    NULL,
    NULL,
    {0},
};

static const upopd_driver *const table[] = {&login_driver};
UPOPD_DEFINE_ENTRY(table)
