#include "sasl_common.h"

#include <stdio.h>
#include <string.h>

int upopd_check_user(const upopd_host_api *api, upopd_host *h, size_t max)
{
    const char *user = api->param(h, "user");
    if (!user) user = "";
    if (strlen(user) > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "the user name is longer than %zu bytes", max);
        api->error(h, msg);
        return UPOPD_ERROR;
    }
    for (const char *p = user; *p; ++p)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            api->error(h, "the user name contains a control character");
            return UPOPD_ERROR;
        }
    return UPOPD_OK;
}

int upopd_verify_mechanism(const upopd_host_api *api, upopd_host *h, const char *mechanism)
{
    if (api->has_mechanism(h, mechanism)) return UPOPD_OK;
    char msg[160];
    snprintf(msg, sizeof msg, "the server does not offer the SASL mechanism %.100s", mechanism);
    api->error(h, msg);
    return UPOPD_UNSUPPORTED;
}
