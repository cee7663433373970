/* The token exchange shared by AUTH XOAUTH2 and AUTH OAUTHBEARER: send the initial response; on
 * the server's error challenge keep its (JSON) text for the error, answer with `ack`, and read
 * the final failure. Built into each of those drivers (a static helper, public SDK only). */
#ifndef UPOPD_OAUTH_EXCHANGE_H
#define UPOPD_OAUTH_EXCHANGE_H

#include <stddef.h>

#include "upopmail_driver.h"

#define UPOPD_OAUTH_MAX_CHALLENGE 8192 /* longest error challenge accepted */
#define UPOPD_OAUTH_MAX_SHOWN 512      /* at most this much of it goes into the error */

/* Overwrites n bytes at p (not optimised away). */
void upopd_wipe(void *p, size_t n);

/* Runs the exchange for `mechanism` with the initial response (msg, len). `ack` (ack_len bytes)
 * answers an error challenge: "" for XOAUTH2, 0x01 for OAUTHBEARER (RFC 7628 §3.2.3).
 * Returns UPOPD_OK, UPOPD_AUTH_FAILED (refused, with the server's JSON and reply in the error),
 * UPOPD_ERROR or UPOPD_NETWORK. */
int upopd_oauth_exchange(const upopd_host_api *api, upopd_host *h, const char *mechanism,
                         const unsigned char *msg, size_t len, const unsigned char *ack, size_t ack_len);

#endif
