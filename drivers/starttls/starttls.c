/* STARTTLS (SMTP, RFC 3207) and STLS (POP3, RFC 2595): upgrades the connection to TLS.
 * It changes the transport, so the host stops verification when it verifies, opens it, and
 * queries the capabilities again before the rest of the context runs (the split). */
#include <stdio.h>
#include <string.h>

#include "upopmail_driver.h"

static int st_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    (void)api, (void)h;
    *state = NULL;
    return UPOPD_OK;
}

static int st_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    int pop = api->server_type(h) == UPOPD_POP;
    if (api->tls_active(h)) {
        api->error(h, "the connection already uses TLS (STARTTLS cannot be combined with TLS:)");
        return UPOPD_UNSUPPORTED;
    }
    if (!api->has_capability(h, pop ? "STLS" : "STARTTLS")) {
        api->error(h, pop ? "the server does not offer STLS" : "the server does not offer STARTTLS");
        return UPOPD_UNSUPPORTED;
    }
    return UPOPD_OK;
}

static int st_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    int pop = api->server_type(h) == UPOPD_POP;
    upopd_reply r;
    int rc = api->command(h, pop ? "STLS" : "STARTTLS", 0, &r);
    if (rc != UPOPD_OK) return rc;
    if (r.code != (pop ? 1 : 220)) {
        char msg[400];
        if (pop)
            snprintf(msg, sizeof msg, "the server refused STLS: -ERR %.300s", r.text ? r.text : "");
        else
            snprintf(msg, sizeof msg, "the server refused STARTTLS: %d %.300s", r.code, r.text ? r.text : "");
        api->error(h, msg);
        return UPOPD_ERROR;
    }
    return api->start_tls(h);
}

static const char *const st_aliases[] = {"UStartTLSSMTP", "STLS", NULL};
static const upopd_driver st_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "STARTTLS",
    st_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_TRANSPORT,
    NULL,
    st_create,
    st_verify,
    st_open,
    NULL,
    NULL,
    NULL,
    {0},
};

static const upopd_driver *const table[] = {&st_driver};
UPOPD_DEFINE_ENTRY(table)
