/*
 * upopmail_driver.h — the driver SDK of upopmail.
 *
 * A driver is one security step of a logon (STARTTLS, AUTH PLAIN, ...). Drivers live in shared
 * objects that the host loads through its registry; a JSON manifest beside the library names the
 * drivers it provides:
 *
 *   { "abi": 1, "library": "libupopd_plain.so",
 *     "drivers": [ { "name": "AUTH PLAIN", "aliases": ["PLAIN"], "servers": ["SMTP", "POP"] } ] }
 *
 * The library exports one symbol, UPOPD_ENTRY_SYMBOL, of type upopd_entry_fn. The host calls it
 * with the highest ABI version it speaks; the library answers with the ABI version it was built
 * for and its table of driver descriptors. The host rejects a library whose ABI it does not
 * speak, and a library may refuse a host that is too old by returning non-zero.
 *
 * A driver never links against the host: everything it may ask of the host comes in the
 * upopd_host_api table passed to every call, together with an opaque upopd_host pointer that
 * identifies the driver instance (its parameters, its connection, its runtime info). Sockets,
 * TLS state and the wire format stay in the host: a driver only decides what to say.
 *
 * Strings are UTF-8 and NUL-terminated. Strings and bytes the host returns (reply texts,
 * challenges, capabilities, ...) are owned by the host and stay valid until the driver's call
 * (verify, open, close, ...) returns, whatever host functions it calls meanwhile (parameters:
 * until destroy). The host table and the upopd_host pointer given to create stay valid, and
 * identify the same instance, until destroy returns: a driver may keep them in its state. What
 * the host functions use behind them (parameters, the STARTTLS TLS profile of the connection)
 * lives as long; functions that talk to the server fail with UPOPD_ERROR outside verify, open
 * and close.
 */
#ifndef UPOPMAIL_DRIVER_H
#define UPOPMAIL_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The driver ABI version of this header. */
#define UPOPD_ABI_VERSION 1u
#define UPOPD_ENTRY_SYMBOL "upopd_entry"

/* Server types (same values as UPOP_SMTP / UPOP_POP) and their bits in upopd_driver.servers. */
#define UPOPD_SMTP 1
#define UPOPD_POP 2
#define UPOPD_SERVER_BIT(t) (1u << (t))

/* Driver flags. */
#define UPOPD_F_TRANSPORT 0x0001u    /* changes the transport (STARTTLS): verification stops when
                                        it verifies, the drivers up to it are opened, capabilities
                                        are queried again, and the walk resumes (the split) */
#define UPOPD_F_AUTHENTICATES 0x0002u /* authenticates the user: when used on POP, LogonMail's
                                         user/password are not sent */
#define UPOPD_F_CREDENTIALS 0x0004u   /* sends credentials: the host refuses to open it on a
                                         connection without TLS, or over TLS whose server
                                         certificate was not verified (verify_server=no,
                                         verify_server_name=no),
                                         unless its parameter allow_plaintext=true is given */

/* Results of driver calls and host functions. */
#define UPOPD_OK 0
#define UPOPD_UNSUPPORTED 1   /* verify: the server does not offer what the driver needs */
#define UPOPD_ERROR -1        /* failed; the reason was reported with host->error (else generic) */
#define UPOPD_AUTH_FAILED -2  /* the server refused the credentials (LogonMail -2, LogonSMTP -8) */
#define UPOPD_NETWORK -3      /* the connection failed (host status already recorded) */

/* Parameter flags in upopd_param. */
#define UPOPD_P_REQUIRED 0x1u /* must be given and non-empty when the driver is added */
#define UPOPD_P_SECRET 0x2u   /* never traced or shown; wiped when the driver is destroyed */

/** One parameter a driver accepts. The host checks every given key against this list when the
 *  driver is added: unknown and missing required keys fail SetSecurity with -1 and a sentence
 *  naming the key (a JSON key; in the key=value form, whose keys may be pieces of a value cut
 *  at ';', the entry's position). "allow_plaintext" is accepted for every driver with
 *  UPOPD_F_CREDENTIALS. */
typedef struct upopd_param {
    const char *name; /* lower case */
    uint32_t flags;   /* UPOPD_P_* */
} upopd_param;

typedef struct upopd_host upopd_host; /* opaque: one driver instance, seen from the host */

/** A server reply, as read by the host. */
typedef struct upopd_reply {
    int code;         /* SMTP: the 3-digit code; POP: 1 for +OK, 0 for -ERR, 2 for "+ " */
    const char *text; /* the reply text without codes, lines joined by '\n' (host-owned) */
} upopd_reply;

/** The result of one SASL step. */
typedef struct upopd_sasl_result {
    int done;                  /* 1: the server ended the exchange (see ok); 0: a challenge */
    int ok;                    /* with done: 1 success (235 / +OK), 0 failure */
    const unsigned char *data; /* challenge: the base64-decoded bytes (host-owned) */
    size_t len;
    upopd_reply reply;         /* the server's line(s) */
} upopd_sasl_result;

/** Everything a driver may ask of the host. Functions that talk to the server may only be called
 *  from verify, open and close. Append-only: size tells how much of it a host provides. */
typedef struct upopd_host_api {
    uint32_t size;
    uint32_t abi;

    /* --- the instance */
    int (*server_type)(upopd_host *h);                          /* UPOPD_SMTP or UPOPD_POP */
    const char *(*param)(upopd_host *h, const char *key);       /* NULL when not given */
    void (*error)(upopd_host *h, const char *sentence);         /* why the call fails */
    void (*runtime_info)(upopd_host *h, const char *name, const char *value); /* GetSecurity */
    void (*log)(upopd_host *h, int secret, const char *line);   /* trace event; secret: redacted */

    /* --- the server's capabilities (EHLO lines after the code / CAPA lines), current transport */
    const char *(*capabilities)(upopd_host *h);                 /* lines joined by '\n' */
    int (*has_capability)(upopd_host *h, const char *keyword);  /* first word, case-insensitive */
    int (*has_mechanism)(upopd_host *h, const char *mechanism); /* SMTP AUTH / POP SASL list */
    int (*tls_active)(upopd_host *h);

    /* --- talking to the server */
    /** Sends one command line (no CRLF) and reads the complete reply. secret: the trace shows
     *  only the first word. Returns UPOPD_OK or UPOPD_NETWORK / UPOPD_ERROR. */
    int (*command)(upopd_host *h, const char *line, int secret, upopd_reply *reply);
    /** Upgrades the connection to TLS (the handshake, certificate and host-name checks with the
     *  default TLS profile of the logon, also from close at logoff); the host refuses if bytes beyond the last reply were already
     *  received (response injection), and forgets the capabilities. Returns UPOPD_OK or
     *  UPOPD_ERROR. */
    int (*start_tls)(upopd_host *h);
    /** Re-reads the capabilities (EHLO / CAPA). */
    int (*refresh_capabilities)(upopd_host *h);

    /* --- SASL, with the protocol framing hidden (SMTP "AUTH"/334, POP3 "AUTH"/"+ ") */
    /** Starts "AUTH mechanism" with an optional initial response (ir NULL: none; ir_len 0 with
     *  ir non-NULL: the empty response "="). The host sends the initial response in the command
     *  when the line limit allows (SMTP 512, POP3 255), else after the first empty challenge. */
    int (*sasl_start)(upopd_host *h, const char *mechanism, const unsigned char *ir, size_t ir_len,
                      upopd_sasl_result *out);
    /** Answers the last challenge with data (base64-encoded by the host, always secret in the
     *  trace). */
    int (*sasl_step)(upopd_host *h, const unsigned char *data, size_t len, upopd_sasl_result *out);
    /** Cancels the exchange with "*" and reads the server's answer. */
    int (*sasl_cancel)(upopd_host *h);

    /* --- helpers */
    /** Base64 (RFC 4648, strict decode: invalid characters or padding fail). The result is
     *  written to out (cap bytes); *out_len receives the length. Returns UPOPD_OK or UPOPD_ERROR
     *  (invalid input, or cap too small). */
    int (*base64_encode)(const unsigned char *in, size_t len, char *out, size_t cap, size_t *out_len);
    int (*base64_decode)(const char *in, size_t len, unsigned char *out, size_t cap, size_t *out_len);
    /** TLS channel binding ("tls-unique" or "tls-server-end-point"); UPOPD_UNSUPPORTED if none. */
    int (*channel_binding)(upopd_host *h, const char *type, unsigned char *out, size_t cap,
                           size_t *out_len);
    /** Connection facts: the host name and port of the connection string. */
    const char *(*server_host)(upopd_host *h);
    int (*server_port)(upopd_host *h);
    /** The text of the server's greeting (SMTP 220 / POP3 +OK line), e.g. for the APOP
     *  timestamp. */
    const char *(*greeting)(upopd_host *h);

    void *reserved[15];
} upopd_host_api;

/** One driver. A library may describe several. Append-only: size tells how much a plugin
 *  provides; reserved must be NULL. */
typedef struct upopd_driver {
    uint32_t size; /* sizeof(upopd_driver) as the plugin was built */
    uint32_t abi;  /* UPOPD_ABI_VERSION as the plugin was built */
    const char *name;                 /* canonical name, e.g. "AUTH PLAIN" */
    const char *const *aliases;       /* NULL-terminated, may be NULL */
    uint32_t servers;                 /* UPOPD_SERVER_BIT(UPOPD_SMTP) | ... */
    uint32_t flags;                   /* UPOPD_F_* */
    const upopd_param *params;        /* terminated by {NULL, 0}; NULL: no parameters */

    /** DRVINFO: called when the driver is added. Validates the parameters beyond the host's key
     *  check and creates the driver's state. Returns UPOPD_OK or UPOPD_ERROR (with error()). */
    int (*create)(const upopd_host_api *api, upopd_host *h, void **state);
    /** VERIFY: does the server (capabilities) support this driver? UPOPD_OK or
     *  UPOPD_UNSUPPORTED (or UPOPD_ERROR). */
    int (*verify)(void *state, const upopd_host_api *api, upopd_host *h);
    /** OPENMSG: runs the driver's protocol. UPOPD_OK, UPOPD_AUTH_FAILED, UPOPD_ERROR,
     *  UPOPD_NETWORK. */
    int (*open)(void *state, const upopd_host_api *api, upopd_host *h);
    /** CLOSEMSG: at logoff, in reverse order, only if open succeeded; errors are ignored. After
     *  it the driver must be ready for the next connection. May be NULL. */
    int (*close)(void *state, const upopd_host_api *api, upopd_host *h);
    /** RTINFO: reports runtime info with api->runtime_info. May be NULL. */
    int (*runtime_info)(void *state, const upopd_host_api *api, upopd_host *h);
    /** CLOSE: frees the state (wiping secrets). May be NULL. */
    void (*destroy)(void *state);

    void *reserved[8];
} upopd_driver;

/** The library's entry point (exported as UPOPD_ENTRY_SYMBOL).
 *  host_abi: the highest driver ABI the host speaks. *plugin_abi: the ABI the library speaks.
 *  *drivers / *count: the library's descriptors (static storage). Returns 0, or non-zero when
 *  the library cannot work with this host. */
typedef int (*upopd_entry_fn)(uint32_t host_abi, uint32_t *plugin_abi,
                              const upopd_driver *const **drivers, size_t *count);

#if defined(__GNUC__)
#define UPOPD_EXPORT __attribute__((visibility("default")))
#else
#define UPOPD_EXPORT
#endif

/** Convenience for a library with a static table of descriptors:
 *    UPOPD_DEFINE_ENTRY(my_drivers)   where my_drivers is `static const upopd_driver *const[]`. */
#define UPOPD_DEFINE_ENTRY(table)                                                                 \
    UPOPD_EXPORT int upopd_entry(uint32_t upopd_host_abi_, uint32_t *upopd_plugin_abi_,           \
                                 const upopd_driver *const **upopd_drivers_, size_t *upopd_count_) \
    {                                                                                            \
        *upopd_plugin_abi_ = UPOPD_ABI_VERSION;                                                  \
        if (upopd_host_abi_ < UPOPD_ABI_VERSION) return 1;                                       \
        *upopd_drivers_ = (table);                                                               \
        *upopd_count_ = sizeof(table) / sizeof((table)[0]);                                      \
        return 0;                                                                                \
    }

#ifdef __cplusplus
}
#endif
#endif /* UPOPMAIL_DRIVER_H */
