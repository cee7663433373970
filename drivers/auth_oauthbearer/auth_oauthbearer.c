/* AUTH OAUTHBEARER (RFC 7628): one client message,
 *   gs2-header ^A "host=" HOST ^A "port=" PORT ^A "auth=Bearer " TOKEN ^A ^A
 * with the GS2 header "n,a=" USER "," (',' and '=' in the user name escaped as =2C / =3D).
 * When the server refuses the token it sends a JSON error as a challenge; the client must answer
 * it with a single 0x01 byte (RFC 7628 §3.2.3) and then reads the final failure. The RFC
 * requires TLS; the host refuses a credentials driver without TLS unless allow_plaintext. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth_exchange.h"
#include "upopmail_driver.h"

#define OB_MAX_USER 255
#define OB_MAX_TOKEN 8192
#define OB_MAX_HOST 255

static const upopd_param ob_params[] = {
    {"user", UPOPD_P_REQUIRED},
    {"token", UPOPD_P_REQUIRED | UPOPD_P_SECRET},
    {NULL, 0},
};

static int ob_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    *state = NULL;
    const char *user = api->param(h, "user");
    const char *token = api->param(h, "token");
    if (strlen(user) > OB_MAX_USER) {
        api->error(h, "the user name is longer than 255 bytes");
        return UPOPD_ERROR;
    }
    if (strlen(token) > OB_MAX_TOKEN) {
        api->error(h, "the token is longer than 8192 bytes");
        return UPOPD_ERROR;
    }
    if (strchr(user, '\x01') || strchr(token, '\x01')) {
        api->error(h, "the user name and the token may not contain the byte 0x01 (the OAUTHBEARER separator)");
        return UPOPD_ERROR;
    }
    /* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
    for (const char *p = token; *p; ++p) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~+/=", c))) {
            api->error(h, "the token contains a character that a bearer token cannot have (RFC 6750 b64token)");
            return UPOPD_ERROR;
        }
    }
    return UPOPD_OK;
}

static int ob_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    if (api->has_mechanism(h, "OAUTHBEARER")) return UPOPD_OK;
    api->error(h, "the server does not offer the SASL mechanism OAUTHBEARER");
    return UPOPD_UNSUPPORTED;
}

static int ob_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    const char *user = api->param(h, "user");
    const char *token = api->param(h, "token");
    const char *host = api->server_host(h);
    int port = api->server_port(h);
    if (!host) host = "";
    size_t u = strlen(user), t = strlen(token), hl = strlen(host);
    if (hl > OB_MAX_HOST) hl = 0; /* host is optional: leave out what cannot be a host name */
    for (size_t i = 0; i < hl; ++i)
        if ((unsigned char)host[i] <= 0x20 || host[i] == 0x7f) hl = 0;

    size_t cap = 5 + 3 * u + 1 + 1 + (5 + hl + 1) + (5 + 12 + 1) + 12 + t + 2;
    unsigned char *msg = (unsigned char *)malloc(cap);
    if (!msg) {
        api->error(h, "out of memory");
        return UPOPD_ERROR;
    }
    size_t n = 0;
    memcpy(msg, "n,a=", 4), n = 4;
    for (size_t i = 0; i < u; ++i) {
        if (user[i] == ',') memcpy(msg + n, "=2C", 3), n += 3;
        else if (user[i] == '=') memcpy(msg + n, "=3D", 3), n += 3;
        else msg[n++] = (unsigned char)user[i];
    }
    msg[n++] = ',';
    msg[n++] = 0x01;
    if (hl) {
        memcpy(msg + n, "host=", 5), n += 5;
        memcpy(msg + n, host, hl), n += hl;
        msg[n++] = 0x01;
    }
    if (port > 0 && port < 65536) n += (size_t)snprintf((char *)msg + n, cap - n, "port=%d\x01", port);
    memcpy(msg + n, "auth=Bearer ", 12), n += 12;
    memcpy(msg + n, token, t), n += t;
    msg[n++] = 0x01;
    msg[n++] = 0x01;

    const unsigned char ack = 0x01; /* RFC 7628 §3.2.3 */
    int rc = upopd_oauth_exchange(api, h, "OAUTHBEARER", msg, n, &ack, 1);
    upopd_wipe(msg, cap);
    free(msg);
    return rc;
}

static const char *const ob_aliases[] = {"OAUTHBEARER", NULL};
static const upopd_driver ob_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "AUTH OAUTHBEARER",
    ob_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_AUTHENTICATES | UPOPD_F_CREDENTIALS,
    ob_params,
    ob_create,
    ob_verify,
    ob_open,
    NULL,
    NULL,
    NULL,
    {0},
};

static const upopd_driver *const table[] = {&ob_driver};
UPOPD_DEFINE_ENTRY(table)
