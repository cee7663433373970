/* The security-layer negotiation of SASL GSSAPI (RFC 4752 §3.1), without GSS: what the driver
 * does with the bytes the server wrapped, and the bytes it wraps in return. Kept apart from the
 * GSS calls so that unit tests and a fuzz target can feed it directly. */
#ifndef UPOPD_GSSAPI_LAYER_H
#define UPOPD_GSSAPI_LAYER_H

#include <stddef.h>
#include <stdint.h>

/* Security-layer bits of the first octet (RFC 4752 §3.3). */
#define GSSAPI_LAYER_NONE 0x01u
#define GSSAPI_LAYER_INTEGRITY 0x02u
#define GSSAPI_LAYER_CONFIDENTIALITY 0x04u

/* The longest authorization identity the driver sends. */
#define GSSAPI_MAX_AUTHZID 255

/* Checks the server's unwrapped message: exactly 4 octets, the first a bit mask of the layers
 * it offers, then its maximum buffer size (big-endian, 24 bits, into *max_size when not NULL).
 * Returns 0 when "no security layer" is offered; else -1 with a sentence in err. */
int gssapi_layer_check(const unsigned char *msg, size_t len, uint32_t *max_size, char *err, size_t err_cap);

/* Writes the client's answer: "no security layer" (0x01), maximum buffer size 0, then the
 * authorization identity (authzid NULL or "": none). Returns the length, or -1 when cap is too
 * small or the authzid is longer than GSSAPI_MAX_AUTHZID. */
int gssapi_layer_answer(const char *authzid, unsigned char *out, size_t cap);

#endif
