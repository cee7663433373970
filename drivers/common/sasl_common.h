/* Small checks shared by the SASL drivers (built into each driver that uses them; public SDK
 * only). */
#ifndef UPOPD_SASL_COMMON_H
#define UPOPD_SASL_COMMON_H

#include <stddef.h>

#include "upopmail_driver.h"

/* The user parameter: at most max bytes, no control characters. UPOPD_OK or UPOPD_ERROR with a
 * sentence. */
int upopd_check_user(const upopd_host_api *api, upopd_host *h, size_t max);

/* VERIFY for a SASL mechanism: UPOPD_OK when the server offers it, else UPOPD_UNSUPPORTED with
 * a sentence naming it. */
int upopd_verify_mechanism(const upopd_host_api *api, upopd_host *h, const char *mechanism);

#endif
