#include "oauth_exchange.h"

#include <stdio.h>

void upopd_wipe(void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
}

/* Copies at most UPOPD_OAUTH_MAX_SHOWN bytes as printable ASCII (others become '?'). */
static void printable(const unsigned char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap && i < UPOPD_OAUTH_MAX_SHOWN; ++i)
        out[n++] = (in[i] >= 0x20 && in[i] < 0x7f) ? (char)in[i] : '?';
    if (len > UPOPD_OAUTH_MAX_SHOWN && n + 4 < cap) out[n++] = '.', out[n++] = '.', out[n++] = '.';
    out[n] = 0;
}

static int refused(const upopd_host_api *api, upopd_host *h, const char *json, const upopd_sasl_result *r)
{
    char msg[UPOPD_OAUTH_MAX_SHOWN + 700];
    const char *text = r->reply.text ? r->reply.text : "";
    if (json)
        snprintf(msg, sizeof msg, "the server refused the token: %s (%.400s)", json, text);
    else
        snprintf(msg, sizeof msg, "the server refused the token: %.400s", text);
    api->error(h, msg);
    return UPOPD_AUTH_FAILED;
}

int upopd_oauth_exchange(const upopd_host_api *api, upopd_host *h, const char *mechanism,
                         const unsigned char *msg, size_t len, const unsigned char *ack, size_t ack_len)
{
    upopd_sasl_result r;
    int rc = api->sasl_start(h, mechanism, msg, len, &r);
    if (rc != UPOPD_OK) return rc;
    if (r.done) return r.ok ? UPOPD_OK : refused(api, h, NULL, &r);

    char m[UPOPD_OAUTH_MAX_SHOWN + 200];
    if (r.len > UPOPD_OAUTH_MAX_CHALLENGE) {
        api->sasl_cancel(h);
        snprintf(m, sizeof m, "the server's %s challenge is longer than %d bytes; authentication cancelled",
                 mechanism, UPOPD_OAUTH_MAX_CHALLENGE);
        api->error(h, m);
        return UPOPD_ERROR;
    }
    char json[UPOPD_OAUTH_MAX_SHOWN + 8];
    printable(r.data, r.len, json, sizeof json);
    snprintf(m, sizeof m, "the server sent a %s error challenge; answering it to end the exchange", mechanism);
    api->log(h, 0, m);
    rc = api->sasl_step(h, ack, ack_len, &r);
    if (rc != UPOPD_OK) return rc;
    if (!r.done) {
        api->sasl_cancel(h);
        snprintf(m, sizeof m, "the server sent a second %s challenge after the error %s; authentication cancelled",
                 mechanism, json);
        api->error(h, m);
        return UPOPD_ERROR;
    }
    if (r.ok) {
        /* after an error challenge the exchange must fail; a server that says otherwise is broken */
        snprintf(m, sizeof m, "the server reported success after its %s error challenge", mechanism);
        api->error(h, m);
        return UPOPD_ERROR;
    }
    return refused(api, h, json, &r);
}
