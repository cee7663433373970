/* AUTH XOAUTH2 (Google's SASL mechanism for OAuth 2.0 bearer tokens): one client message,
 *   "user=" USER ^A "auth=Bearer " TOKEN ^A ^A
 * sent as the initial response. When the server refuses the token it first sends a challenge
 * carrying a JSON error ({"status":"401",...}); the client answers it with an empty response and
 * then reads the final failure (535 / -ERR). SMTP and POP3 (the host does the framing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upopmail_driver.h"

#define XO_MAX_USER 255
#define XO_MAX_TOKEN 8192
#define XO_MAX_CHALLENGE 8192 /* the longest error challenge we accept */
#define XO_MAX_SHOWN 512      /* at most this much of the server's JSON goes into the error */

static void xo_wipe(void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
}

static const upopd_param xo_params[] = {
    {"user", UPOPD_P_REQUIRED},
    {"token", UPOPD_P_REQUIRED | UPOPD_P_SECRET},
    {NULL, 0},
};

/* Copies at most XO_MAX_SHOWN bytes of the server's data as printable ASCII (others become '?'). */
static void xo_printable(const unsigned char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap && i < XO_MAX_SHOWN; ++i)
        out[n++] = (in[i] >= 0x20 && in[i] < 0x7f) ? (char)in[i] : '?';
    if (len > XO_MAX_SHOWN && n + 4 < cap) out[n++] = '.', out[n++] = '.', out[n++] = '.';
    out[n] = 0;
}

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

static int xo_refused(const upopd_host_api *api, upopd_host *h, const char *json, const upopd_sasl_result *r)
{
    char msg[XO_MAX_SHOWN + 700];
    const char *text = r->reply.text ? r->reply.text : "";
    if (json)
        snprintf(msg, sizeof msg, "the server refused the token: %s (%.400s)", json, text);
    else
        snprintf(msg, sizeof msg, "the server refused the token: %.400s", text);
    api->error(h, msg);
    return UPOPD_AUTH_FAILED;
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

    upopd_sasl_result r;
    int rc = api->sasl_start(h, "XOAUTH2", msg, len, &r);
    xo_wipe(msg, len);
    free(msg);
    if (rc != UPOPD_OK) return rc;
    if (r.done) return r.ok ? UPOPD_OK : xo_refused(api, h, NULL, &r);

    /* The error challenge: keep its JSON for the error, answer with an empty response. */
    if (r.len > XO_MAX_CHALLENGE) {
        api->sasl_cancel(h);
        api->error(h, "the server's XOAUTH2 challenge is longer than 8192 bytes; authentication cancelled");
        return UPOPD_ERROR;
    }
    char json[XO_MAX_SHOWN + 8];
    xo_printable(r.data, r.len, json, sizeof json);
    api->log(h, 0, "the server sent an XOAUTH2 error challenge; answering with an empty response");
    rc = api->sasl_step(h, (const unsigned char *)"", 0, &r);
    if (rc != UPOPD_OK) return rc;
    if (!r.done) {
        api->sasl_cancel(h);
        char m[XO_MAX_SHOWN + 200];
        snprintf(m, sizeof m, "the server sent a second XOAUTH2 challenge after the error %s; authentication cancelled",
                 json);
        api->error(h, m);
        return UPOPD_ERROR;
    }
    if (r.ok) {
        api->error(h, "the server reported success after its XOAUTH2 error challenge");
        return UPOPD_ERROR;
    }
    return xo_refused(api, h, json, &r);
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
