/* AUTH GSSAPI (RFC 4752): Kerberos 5 through MIT's libgssapi_krb5, on SMTP (RFC 4954) and POP3
 * (RFC 5034). The service principal is SERVICE@HOST (host-based: "smtp" or "pop", the host of
 * the connection string; the parameter service overrides the service or, with an '@', both).
 * Credentials come from the default credential cache, or from the parameters ccache and/or
 * keytab + principal (gss_acquire_cred_from). The client asks for mutual authentication and
 * fails when the context does not provide it; the last round (the server's wrapped 4-octet offer)
 * is answered with "no security layer", buffer size 0 and the authzid parameter when given: TLS
 * protects the connection, so the host refuses the driver without it unless allow_plaintext.
 * Every GSSAPI failure is reported with the major and minor status texts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_alloc.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include "gssapi_layer.h"
#include "sasl_common.h"
#include "upopmail_driver.h"

#define GSSAPI_MAX_TOKEN 4096 /* a Kerberos AP-REP and the wrapped offer are far smaller */
#define GSSAPI_MAX_ROUNDS 8   /* Kerberos needs one continuation; a server asking for more is broken */
#define GSSAPI_MAX_NAME 255

static const upopd_param gd_params[] = {
    {"service", 0}, {"ccache", 0}, {"keytab", 0}, {"principal", 0}, {"authzid", 0}, {NULL, 0},
};

static int gd_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    *state = NULL;
    static const char *const names[] = {"service", "ccache", "keytab", "principal", "authzid"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        const char *v = api->param(h, names[i]);
        if (!v) continue;
        char msg[128];
        if (strlen(v) > (i == 4 ? GSSAPI_MAX_AUTHZID : 1024)) {
            snprintf(msg, sizeof msg, "the parameter %s is too long", names[i]);
            api->error(h, msg);
            return UPOPD_ERROR;
        }
        for (const char *p = v; *p; ++p)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                snprintf(msg, sizeof msg, "the parameter %s contains a control character", names[i]);
                api->error(h, msg);
                return UPOPD_ERROR;
            }
    }
    const char *keytab = api->param(h, "keytab"), *principal = api->param(h, "principal");
    if (keytab && *keytab && !(principal && *principal)) {
        api->error(h, "the parameter keytab needs the parameter principal (whose key the keytab holds)");
        return UPOPD_ERROR;
    }
    const char *service = api->param(h, "service");
    if (service && (!*service || service[0] == '@' || strchr(service, ' '))) {
        api->error(h, "the parameter service must be a service name (smtp) or a host-based principal (smtp@host)");
        return UPOPD_ERROR;
    }
    return UPOPD_OK;
}

static int gd_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    return upopd_verify_mechanism(api, h, "GSSAPI");
}

/* Releases a buffer GSS returned. MIT's gss_release_buffer frees nothing when the length is 0,
 * but gss_unwrap of an empty message returns a 1-byte allocation with length 0. */
static void gd_release(gss_buffer_t b)
{
    OM_uint32 minor;
    if (b->length == 0 && b->value) {
        gssalloc_free(b->value);
        b->value = NULL;
        return;
    }
    gss_release_buffer(&minor, b);
}

/* Every message gss_display_status has for code (of type GSS_C_GSS_CODE or GSS_C_MECH_CODE),
 * joined by "; ", into out. */
static void gd_status_text(OM_uint32 code, int type, char *out, size_t cap)
{
    size_t n = 0;
    OM_uint32 ctx = 0, minor = 0;
    out[0] = 0;
    do {
        gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
        if (GSS_ERROR(gss_display_status(&minor, code, type, (gss_OID)gss_mech_krb5, &ctx, &text))) break;
        if (n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "; " : "", (int)text.length,
                                  (const char *)text.value);
        gd_release(&text);
    } while (ctx != 0);
}

/* "<what>: <major text> (<minor text>)"; the minor part only when it says something. */
static void gd_report(const upopd_host_api *api, upopd_host *h, const char *what, OM_uint32 major, OM_uint32 minor)
{
    char major_text[400], minor_text[400] = "", msg[1024];
    gd_status_text(major, GSS_C_GSS_CODE, major_text, sizeof major_text);
    if (minor != 0) gd_status_text(minor, GSS_C_MECH_CODE, minor_text, sizeof minor_text);
    int show_minor = minor_text[0] && strcmp(minor_text, "Success") != 0;
    snprintf(msg, sizeof msg, "%s: %s%s%s%s", what, major_text, show_minor ? " (" : "", show_minor ? minor_text : "",
             show_minor ? ")" : "");
    api->error(h, msg);
}

/* The display form of a GSS name into out ("" when it cannot be shown). */
static void gd_name_text(gss_name_t name, char *out, size_t cap)
{
    OM_uint32 minor;
    gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
    out[0] = 0;
    if (name == GSS_C_NO_NAME || GSS_ERROR(gss_display_name(&minor, name, &text, NULL))) return;
    snprintf(out, cap, "%.*s", (int)text.length, (const char *)text.value);
    gd_release(&text);
}

static int gd_import(const char *text, gss_OID type, gss_name_t *name, OM_uint32 *minor)
{
    gss_buffer_desc b;
    b.value = (void *)text;
    b.length = strlen(text);
    return (int)gss_import_name(minor, &b, type, name);
}

typedef struct gd_run {
    const upopd_host_api *api;
    upopd_host *h;
    gss_name_t target, client;
    gss_cred_id_t cred;
    gss_ctx_id_t ctx;
    char service[GSSAPI_MAX_NAME + 1];
} gd_run;

static void gd_run_free(gd_run *r)
{
    OM_uint32 minor;
    if (r->ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &r->ctx, GSS_C_NO_BUFFER);
    if (r->cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &r->cred);
    if (r->target != GSS_C_NO_NAME) gss_release_name(&minor, &r->target);
    if (r->client != GSS_C_NO_NAME) gss_release_name(&minor, &r->client);
}

/* The credentials: gss_acquire_cred_from with the ccache / client_keytab store and the principal
 * when any of them is given, else the default credential cache. */
static int gd_credentials(gd_run *r)
{
    const upopd_host_api *api = r->api;
    upopd_host *h = r->h;
    const char *ccache = api->param(h, "ccache"), *keytab = api->param(h, "keytab");
    const char *principal = api->param(h, "principal");
    if (ccache && !*ccache) ccache = NULL;
    if (keytab && !*keytab) keytab = NULL;
    OM_uint32 major, minor = 0;
    gss_name_t want = GSS_C_NO_NAME;
    if (principal && *principal) {
        major = (OM_uint32)gd_import(principal, GSS_C_NT_USER_NAME, &want, &minor);
        if (GSS_ERROR(major)) {
            gd_report(api, h, "GSSAPI: the principal parameter is not a valid Kerberos name", major, minor);
            return UPOPD_ERROR;
        }
    }
    gss_key_value_element_desc el[2];
    gss_key_value_set_desc store = {0, el};
    if (ccache) el[store.count].key = "ccache", el[store.count++].value = ccache;
    if (keytab) el[store.count].key = "client_keytab", el[store.count++].value = keytab;
    gss_OID_set_desc mechs = {1, (gss_OID)gss_mech_krb5};
    OM_uint32 lifetime = 0;
    major = gss_acquire_cred_from(&minor, want, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
                                  store.count ? &store : GSS_C_NO_CRED_STORE, &r->cred, NULL, &lifetime);
    OM_uint32 m2;
    if (want != GSS_C_NO_NAME) gss_release_name(&m2, &want);
    if (GSS_ERROR(major)) {
        char what[2200];
        snprintf(what, sizeof what, "GSSAPI: no Kerberos credentials to log on with%s%s%s%s%s%s%s",
                 store.count ? " (" : "", ccache ? "credential cache " : "", ccache ? ccache : "",
                 ccache && keytab ? ", " : "", keytab ? "keytab " : "", keytab ? keytab : "", store.count ? ")" : "");
        gd_report(api, h, what, major, minor);
        return UPOPD_ERROR;
    }
    /* An expired ticket is acquired with lifetime 0. (Not gss_inquire_cred's failure: MIT leaks the
     * name it allocated when it fails with GSS_S_CREDENTIALS_EXPIRED.) */
    if (lifetime == 0) {
        gd_report(api, h, "GSSAPI: the Kerberos ticket has expired (get a new one with kinit)",
                  GSS_S_CREDENTIALS_EXPIRED, 0);
        return UPOPD_ERROR;
    }
    major = gss_inquire_cred(&minor, r->cred, &r->client, NULL, NULL, NULL);
    if (GSS_ERROR(major)) {
        gd_report(api, h, "GSSAPI: the Kerberos credentials cannot be used", major, minor);
        return UPOPD_ERROR;
    }
    char name[GSSAPI_MAX_NAME + 1];
    gd_name_text(r->client, name, sizeof name);
    api->runtime_info(h, "PRINCIPAL", name);
    return UPOPD_OK;
}

static int gd_cancel(gd_run *r, const char *sentence)
{
    r->api->sasl_cancel(r->h);
    r->api->error(r->h, sentence);
    return UPOPD_ERROR;
}

/* The server ended the exchange early: a refusal is the server's, a success is a protocol error. */
static int gd_early_end(gd_run *r, const upopd_sasl_result *res, const char *when)
{
    if (!res->ok) return UPOPD_AUTH_FAILED;
    char msg[160];
    snprintf(msg, sizeof msg, "the server reported success %s", when);
    r->api->error(r->h, msg);
    return UPOPD_ERROR;
}

/* The context rounds: AP-REQ in the initial response, the server's AP-REP, until the context is
 * complete with mutual authentication; then the empty (or last) token. *res: the server's next
 * result. */
static int gd_establish(gd_run *r, upopd_sasl_result *res)
{
    const upopd_host_api *api = r->api;
    upopd_host *h = r->h;
    OM_uint32 major, minor = 0, flags = 0;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER;
    int started = 0;
    for (int round = 0;; ++round) {
        gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
        major = gss_init_sec_context(&minor, r->cred, &r->ctx, r->target, (gss_OID)gss_mech_krb5,
                                     GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_INTEG_FLAG, 0,
                                     GSS_C_NO_CHANNEL_BINDINGS, started ? &in : GSS_C_NO_BUFFER, NULL, &out, &flags,
                                     NULL);
        if (GSS_ERROR(major)) {
            gd_release(&out);
            char what[GSSAPI_MAX_NAME + 80];
            if (!started) {
                snprintf(what, sizeof what, "GSSAPI: cannot get a Kerberos ticket for the service %s", r->service);
                gd_report(api, h, what, major, minor);
                return UPOPD_ERROR;
            }
            snprintf(what, sizeof what,
                     "GSSAPI: mutual authentication with %s failed (the server's token was refused)", r->service);
            gd_report(api, h, what, major, minor);
            api->sasl_cancel(h);
            return UPOPD_ERROR;
        }
        int complete = major == GSS_S_COMPLETE;
        if (complete && !(flags & GSS_C_MUTUAL_FLAG)) {
            gd_release(&out);
            if (started) api->sasl_cancel(h);
            api->error(h, "GSSAPI: the security context does not provide mutual authentication (the server did not "
                          "prove its identity); authentication cancelled");
            return UPOPD_ERROR;
        }
        int rc = started ? api->sasl_step(h, (const unsigned char *)out.value, out.length, res)
                         : api->sasl_start(h, "GSSAPI", out.length ? (const unsigned char *)out.value
                                                                   : (const unsigned char *)"",
                                           out.length, res);
        gd_release(&out);
        started = 1;
        if (rc != UPOPD_OK) return rc;
        if (complete) return UPOPD_OK;
        if (res->done) return gd_early_end(r, res, "before the Kerberos exchange was complete");
        if (res->len > GSSAPI_MAX_TOKEN)
            return gd_cancel(r, "the server's GSSAPI token is longer than 4096 bytes; authentication cancelled");
        if (round + 1 >= GSSAPI_MAX_ROUNDS)
            return gd_cancel(r, "the server sent too many GSSAPI tokens; authentication cancelled");
        in.value = (void *)res->data;
        in.length = res->len;
    }
}

/* The last round: unwrap the server's offer, wrap the answer ("no security layer", authzid). */
static int gd_negotiate_layer(gd_run *r, upopd_sasl_result *res)
{
    const upopd_host_api *api = r->api;
    upopd_host *h = r->h;
    if (res->done) return gd_early_end(r, res, "without negotiating the GSSAPI security layer");
    if (res->len > GSSAPI_MAX_TOKEN)
        return gd_cancel(r, "the server's GSSAPI security-layer token is longer than 4096 bytes; authentication "
                             "cancelled");
    OM_uint32 major, minor = 0;
    gss_buffer_desc in = {res->len, (void *)res->data}, plain = GSS_C_EMPTY_BUFFER;
    major = gss_unwrap(&minor, r->ctx, &in, &plain, NULL, NULL);
    if (GSS_ERROR(major)) {
        gd_report(api, h, "GSSAPI: the server's security-layer message cannot be unwrapped", major, minor);
        api->sasl_cancel(h);
        return UPOPD_ERROR;
    }
    char err[200];
    int ok = gssapi_layer_check((const unsigned char *)plain.value, plain.length, NULL, err, sizeof err);
    gd_release(&plain);
    if (ok != 0) return gd_cancel(r, err);

    unsigned char answer[4 + GSSAPI_MAX_AUTHZID];
    int n = gssapi_layer_answer(api->param(h, "authzid"), answer, sizeof answer);
    if (n < 0) return gd_cancel(r, "the authzid is too long");
    gss_buffer_desc a = {(size_t)n, answer}, wrapped = GSS_C_EMPTY_BUFFER;
    major = gss_wrap(&minor, r->ctx, 0, GSS_C_QOP_DEFAULT, &a, NULL, &wrapped);
    if (GSS_ERROR(major)) {
        gd_report(api, h, "GSSAPI: the security-layer answer cannot be wrapped", major, minor);
        api->sasl_cancel(h);
        return UPOPD_ERROR;
    }
    int rc = api->sasl_step(h, (const unsigned char *)wrapped.value, wrapped.length, res);
    gd_release(&wrapped);
    if (rc != UPOPD_OK) return rc;
    if (!res->done)
        return gd_cancel(r, "the server sent another GSSAPI challenge after the security layer; authentication "
                             "cancelled");
    return res->ok ? UPOPD_OK : UPOPD_AUTH_FAILED;
}

static int gd_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    gd_run r;
    memset(&r, 0, sizeof r);
    r.api = api;
    r.h = h;
    r.target = GSS_C_NO_NAME, r.client = GSS_C_NO_NAME, r.cred = GSS_C_NO_CREDENTIAL, r.ctx = GSS_C_NO_CONTEXT;

    const char *service = api->param(h, "service");
    const char *host = api->server_host(h);
    if (!service) service = api->server_type(h) == UPOPD_POP ? "pop" : "smtp";
    if (strchr(service, '@'))
        snprintf(r.service, sizeof r.service, "%s", service);
    else
        snprintf(r.service, sizeof r.service, "%s@%s", service, host ? host : "");
    api->runtime_info(h, "SERVICE", r.service);

    OM_uint32 major, minor = 0;
    int rc;
    upopd_sasl_result res;
    major = (OM_uint32)gd_import(r.service, GSS_C_NT_HOSTBASED_SERVICE, &r.target, &minor);
    if (GSS_ERROR(major)) {
        char what[GSSAPI_MAX_NAME + 64];
        snprintf(what, sizeof what, "GSSAPI: %s is not a valid service name", r.service);
        gd_report(api, h, what, major, minor);
        rc = UPOPD_ERROR;
        goto out;
    }
    if ((rc = gd_credentials(&r)) != UPOPD_OK) goto out;
    if ((rc = gd_establish(&r, &res)) != UPOPD_OK) goto out;
    {
        /* the service principal the ticket is for, as Kerberos names it */
        gss_name_t target = GSS_C_NO_NAME;
        if (!GSS_ERROR(gss_inquire_context(&minor, r.ctx, NULL, &target, NULL, NULL, NULL, NULL, NULL))) {
            char name[GSSAPI_MAX_NAME + 1];
            gd_name_text(target, name, sizeof name);
            if (*name) api->runtime_info(h, "SERVICE", name);
            gss_release_name(&minor, &target);
        }
    }
    rc = gd_negotiate_layer(&r, &res);
out:
    gd_run_free(&r);
    return rc;
}

static const char *const gd_aliases[] = {"UAuthGSSAPISMTP", "UAuthGSSAPIPOP", "GSSAPI", NULL};
static const upopd_driver gd_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "AUTH GSSAPI",
    gd_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_AUTHENTICATES | UPOPD_F_CREDENTIALS,
    gd_params,
    gd_create,
    gd_verify,
    gd_open,
    NULL,
    NULL,
    NULL,
    {0},
};

static const upopd_driver *const table[] = {&gd_driver};
UPOPD_DEFINE_ENTRY(table)
