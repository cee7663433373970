/* AUTH NTLM (MS-NLMP over SASL): NEGOTIATE (type 1) -> CHALLENGE (type 2) -> AUTHENTICATE
 * (type 3). Parameters as in the original's uauthntlm (reference §2.4): user, password, domain,
 * workstation, charset (Unicode | OEM), policy
 *   LM NTLM VERSION 2 | LM NTLM V2             LMv2 + NTLMv2 (the default: no policy given)
 *   LM NTLM VERSION 1 | LM NTLM V1 | LM NTLM   LMv1 + NTLMv1 (weak: only when named)
 *   NTLM                                       NTLMv1, no LM response (the LM field repeats it;
 *                                              weak: only when named)
 *   SESSION SECURITY[, <one of the above>]     NTLM2 session response when the server grants
 *                                              extended session security, else the fallback
 * The v1 responses (DES of the password hash over the server's challenge alone) can be cracked
 * from a captured exchange, so they are sent only to a server whose application names them.
 * and initial_response (IMMEDIATE: type 1 in the AUTH command; DEFERRED: after the first empty
 * challenge; the original's NTLM_INITIAL_RESPONSE logical). Runtime info after a logon:
 * CHARSET, POLICY, TARGETINFO and the names the server put in its target info. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/platform_util.h>

#include "ntlm_crypto.h"
#include "upopmail_driver.h"

#define NTLM_MAX_CHALLENGE 8192

enum { POL_LM_NTLM_V1, POL_NTLM_V1, POL_V2, POL_SESSION, POL_NONE };

static const char *const policy_names[] = {"LM NTLM", "NTLM", "LM NTLM VERSION 2", "SESSION SECURITY"};

typedef struct ntlm_state {
    int oem;       /* charset=OEM: offer OEM strings only */
    int policy;    /* POL_* */
    int fallback;  /* with POL_SESSION: the policy when the server does not grant it, or POL_NONE */
    int deferred;  /* initial_response=DEFERRED */
} ntlm_state;

static const upopd_param ntlm_params[] = {
    {"user", UPOPD_P_REQUIRED},
    {"password", UPOPD_P_REQUIRED | UPOPD_P_SECRET},
    {"domain", 0},
    {"workstation", 0},
    {"charset", 0},
    {"policy", 0},
    {"initial_response", 0},
    {NULL, 0},
};

/* Upper-cases s, trims it and collapses blanks into single spaces (into out). */
static void ntlm_normalise(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    int blank = 0;
    while (*s == ' ' || *s == '\t') ++s;
    for (; *s && n + 1 < cap; ++s) {
        if (*s == ' ' || *s == '\t') {
            blank = 1;
            continue;
        }
        if (blank && n + 2 < cap) out[n++] = ' ';
        blank = 0;
        out[n++] = (char)toupper((unsigned char)*s);
    }
    out[n] = 0;
}

static int ntlm_one_policy(const char *p)
{
    if (!strcmp(p, "LM NTLM VERSION 1") || !strcmp(p, "LM NTLM V1") || !strcmp(p, "LM NTLM")) return POL_LM_NTLM_V1;
    if (!strcmp(p, "LM NTLM VERSION 2") || !strcmp(p, "LM NTLM V2")) return POL_V2;
    if (!strcmp(p, "NTLM")) return POL_NTLM_V1;
    if (!strcmp(p, "SESSION SECURITY")) return POL_SESSION;
    return -1;
}

static int ntlm_ascii(const char *s)
{
    for (; *s; ++s)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

static int ntlm_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    *state = NULL;
    ntlm_state st = {0, POL_V2, POL_NONE, 0}; /* LMv2 + NTLMv2 unless the policy names v1 */
    const char *fields[] = {"user", "password", "domain", "workstation"};
    for (int i = 0; i < 4; ++i) {
        const char *v = api->param(h, fields[i]);
        unsigned char u16[4 * NTLM_MAX_FIELD + 4];
        size_t n;
        char msg[160];
        if (!v) continue;
        if (strlen(v) > NTLM_MAX_FIELD) {
            snprintf(msg, sizeof msg, "the NTLM parameter %s is longer than 255 bytes", fields[i]);
            api->error(h, msg);
            return UPOPD_ERROR;
        }
        if (ntlm_utf16le(v, u16, sizeof u16, &n) != 0) {
            snprintf(msg, sizeof msg, "the NTLM parameter %s is not valid UTF-8", fields[i]);
            api->error(h, msg);
            return UPOPD_ERROR;
        }
        mbedtls_platform_zeroize(u16, sizeof u16);
    }
    char buf[128];
    const char *cs = api->param(h, "charset");
    if (cs && *cs) {
        ntlm_normalise(cs, buf, sizeof buf);
        if (!strcmp(buf, "OEM")) st.oem = 1;
        else if (strcmp(buf, "UNICODE") != 0) {
            api->error(h, "the NTLM parameter charset must be Unicode or OEM");
            return UPOPD_ERROR;
        }
    }
    if (st.oem)
        for (int i = 0; i < 4; ++i) {
            const char *v = api->param(h, fields[i]);
            if (i != 1 && v && !ntlm_ascii(v)) {
                api->error(h, "with charset=OEM the user, domain and workstation must be ASCII");
                return UPOPD_ERROR;
            }
        }
    const char *pol = api->param(h, "policy");
    if (pol && *pol) {
        ntlm_normalise(pol, buf, sizeof buf);
        char *comma = strchr(buf, ',');
        if (comma) *comma = 0;
        size_t l = strlen(buf);
        if (l && buf[l - 1] == ' ') buf[l - 1] = 0;
        st.policy = ntlm_one_policy(buf);
        if (comma) {
            char *fb = comma + 1;
            while (*fb == ' ') ++fb;
            st.fallback = ntlm_one_policy(fb);
            if (st.policy != POL_SESSION || st.fallback < 0 || st.fallback == POL_SESSION) {
                api->error(h, "only the NTLM policy SESSION SECURITY takes a fallback, and the fallback must be "
                              "LM NTLM VERSION 1, LM NTLM VERSION 2 or NTLM");
                return UPOPD_ERROR;
            }
        }
        if (st.policy < 0) {
            api->error(h, "the NTLM parameter policy must be LM NTLM VERSION 1 (LM NTLM V1, LM NTLM), "
                          "LM NTLM VERSION 2 (LM NTLM V2), NTLM, or SESSION SECURITY[, fallback]");
            return UPOPD_ERROR;
        }
    }
    const char *ir = api->param(h, "initial_response");
    if (ir && *ir) {
        ntlm_normalise(ir, buf, sizeof buf);
        if (!strcmp(buf, "DEFERRED")) st.deferred = 1;
        else if (strcmp(buf, "IMMEDIATE") != 0) {
            api->error(h, "the NTLM parameter initial_response must be IMMEDIATE or DEFERRED");
            return UPOPD_ERROR;
        }
    }
    ntlm_state *s = (ntlm_state *)malloc(sizeof *s);
    if (!s) {
        api->error(h, "out of memory");
        return UPOPD_ERROR;
    }
    *s = st;
    *state = s;
    return UPOPD_OK;
}

static void ntlm_destroy(void *state) { free(state); }

static int ntlm_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    (void)state;
    if (api->has_mechanism(h, "NTLM")) return UPOPD_OK;
    api->error(h, "the server does not offer the SASL mechanism NTLM");
    return UPOPD_UNSUPPORTED;
}

static int ntlm_random(unsigned char *out, size_t n)
{
    static const char pers[] = "upopmail NTLM client challenge";
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    int rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, (const unsigned char *)pers,
                                   sizeof pers - 1);
    if (rc == 0) rc = mbedtls_ctr_drbg_random(&drbg, out, n);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return rc == 0 ? 0 : -1;
}

/* A string field of the type 3 message: UTF-16LE or the bytes as given (OEM). */
static int ntlm_field(const char *s, int unicode, unsigned char *out, size_t cap, size_t *len)
{
    if (!s) s = "";
    if (unicode) return ntlm_utf16le(s, out, cap, len);
    size_t n = strlen(s);
    if (n > cap) return -1;
    memcpy(out, s, n);
    *len = n;
    return 0;
}

static int ntlm_cancel(const upopd_host_api *api, upopd_host *h, const char *sentence)
{
    api->sasl_cancel(h);
    api->error(h, sentence);
    return UPOPD_ERROR;
}

static void ntlm_report(const upopd_host_api *api, upopd_host *h, int unicode, const char *policy,
                        const ntlm_challenge *c, int target_info_used)
{
    static const struct {
        int id;
        const char *name;
    } names[] = {{NTLM_AV_NB_COMPUTER, "TARGETSERVER"},
                 {NTLM_AV_NB_DOMAIN, "TARGETDOMAIN"},
                 {NTLM_AV_DNS_COMPUTER, "DNSSERVER"},
                 {NTLM_AV_DNS_DOMAIN, "DNSDOMAIN"},
                 {NTLM_AV_DNS_TREE, "PARENTDNSDOMAIN"}};
    api->runtime_info(h, "CHARSET", unicode ? "UNICODE" : "OEM");
    api->runtime_info(h, "POLICY", policy);
    int ti = target_info_used && c->target_info != NULL;
    api->runtime_info(h, "TARGETINFO", ti ? "TRUE" : "FALSE");
    if (!ti) return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        const unsigned char *v = c->av[names[i].id];
        if (!v || c->av_len[names[i].id] == 0) continue;
        char text[256]; /* AV values are UTF-16LE whatever the charset (MS-NLMP 2.2.2.1) */
        ntlm_utf16le_to_display(v, c->av_len[names[i].id], text, sizeof text);
        api->runtime_info(h, names[i].name, text);
    }
}

static int ntlm_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    const ntlm_state *st = (const ntlm_state *)state;
    const char *user = api->param(h, "user");
    const char *password = api->param(h, "password");
    const char *domain = api->param(h, "domain");
    const char *ws = api->param(h, "workstation");
    if (!domain) domain = "";
    if (!ws) ws = "";

    uint32_t flags = NTLM_NEGOTIATE_OEM | NTLM_REQUEST_TARGET | NTLM_NEGOTIATE_NTLM | NTLM_NEGOTIATE_ALWAYS_SIGN |
                     NTLM_NEGOTIATE_128 | NTLM_NEGOTIATE_56;
    if (!st->oem) flags |= NTLM_NEGOTIATE_UNICODE;
    if (st->policy == POL_SESSION || st->policy == POL_V2)
        flags |= NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLM_NEGOTIATE_TARGET_INFO;
    unsigned char type1[32];
    ntlm_type1(flags, type1);

    upopd_sasl_result r;
    int rc;
    if (st->deferred) {
        rc = api->sasl_start(h, "NTLM", NULL, 0, &r);
        if (rc != UPOPD_OK) return rc;
        if (r.done) return r.ok ? ntlm_cancel(api, h, "the server reported success before the NTLM exchange")
                                : UPOPD_AUTH_FAILED;
        if (r.len != 0) return ntlm_cancel(api, h, "the server's first NTLM challenge is not empty; authentication cancelled");
        rc = api->sasl_step(h, type1, sizeof type1, &r);
    } else {
        rc = api->sasl_start(h, "NTLM", type1, sizeof type1, &r);
    }
    if (rc != UPOPD_OK) return rc;
    if (r.done) {
        if (r.ok) {
            api->error(h, "the server reported success before the NTLM exchange took place");
            return UPOPD_ERROR;
        }
        return UPOPD_AUTH_FAILED;
    }
    if (r.len > NTLM_MAX_CHALLENGE)
        return ntlm_cancel(api, h, "the server's NTLM challenge is longer than 8192 bytes; authentication cancelled");

    /* The CHALLENGE_MESSAGE: keep a copy, the host's buffer lives only until the next call. */
    unsigned char *chal = (unsigned char *)malloc(r.len ? r.len : 1);
    if (!chal) return ntlm_cancel(api, h, "out of memory");
    memcpy(chal, r.data, r.len);
    ntlm_challenge c;
    char err[200];
    if (ntlm_parse_type2(chal, r.len, &c, err, sizeof err) != 0) {
        free(chal);
        char msg[300];
        snprintf(msg, sizeof msg, "%s; authentication cancelled", err);
        return ntlm_cancel(api, h, msg);
    }

    int unicode = !st->oem && (c.flags & NTLM_NEGOTIATE_UNICODE);
    if (!unicode && !(ntlm_ascii(user) && ntlm_ascii(domain) && ntlm_ascii(ws))) {
        free(chal);
        return ntlm_cancel(api, h, "the server wants OEM strings but the user, domain or workstation is not ASCII; "
                                   "authentication cancelled");
    }
    int policy = st->policy;
    uint32_t out_flags = flags & c.flags;
    out_flags = (out_flags & ~(NTLM_NEGOTIATE_UNICODE | NTLM_NEGOTIATE_OEM)) |
                (unicode ? NTLM_NEGOTIATE_UNICODE : NTLM_NEGOTIATE_OEM);
    if (policy == POL_SESSION && !(c.flags & NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
        if (st->fallback == POL_NONE) {
            free(chal);
            return ntlm_cancel(api, h, "the server did not grant NTLM2 session security and the policy SESSION "
                                       "SECURITY names no fallback; authentication cancelled");
        }
        policy = st->fallback;
        api->log(h, 0, "the server did not grant NTLM2 session security: using the fallback policy");
    }
    if (policy == POL_LM_NTLM_V1 || policy == POL_NTLM_V1) out_flags &= ~NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY;

    unsigned char nt_hash[16], lm_hash[16], key_v2[16], cchal[8], lm[24], nt1[24];
    unsigned char *nt = NULL, *msg3 = NULL;
    size_t nt_len = 24, msg3_len = 0;
    int ok = ntlm_nt_hash(password, nt_hash) == 0 && ntlm_random(cchal, sizeof cchal) == 0;
    if (ok) switch (policy) {
        case POL_LM_NTLM_V1:
            ok = ntlm_lm_hash(password, lm_hash) == 0 && ntlm_desl(lm_hash, c.server_challenge, lm) == 0 &&
                 ntlm_desl(nt_hash, c.server_challenge, nt1) == 0;
            nt = nt1;
            break;
        case POL_NTLM_V1:
            ok = ntlm_desl(nt_hash, c.server_challenge, nt1) == 0;
            memcpy(lm, nt1, 24); /* no LM response: the NT response again (MS-NLMP 3.3.1) */
            nt = nt1;
            break;
        case POL_SESSION:
            ok = ntlm_session_response(nt_hash, c.server_challenge, cchal, lm, nt1) == 0;
            nt = nt1;
            break;
        default: { /* POL_V2 */
            static const unsigned char eol[4] = {0, 0, 0, 0};
            uint64_t now = ((uint64_t)time(NULL) + 11644473600ull) * 10000000ull;
            uint64_t t = c.has_timestamp ? c.timestamp : now;
            ok = ntlm_ntowfv2(nt_hash, user, domain, key_v2) == 0 &&
                 ntlm_ntv2(key_v2, c.server_challenge, cchal, t, c.target_info ? c.target_info : eol,
                           c.target_info ? c.target_info_len : sizeof eol, &nt, &nt_len) == 0;
            if (ok && c.has_timestamp) memset(lm, 0, 24); /* MS-NLMP 3.1.5.1.2: Z(24) with MsvAvTimestamp */
            else if (ok) ok = ntlm_lmv2(key_v2, c.server_challenge, cchal, lm) == 0;
            break;
        }
        }
    unsigned char f_user[4 * NTLM_MAX_FIELD + 4], f_dom[4 * NTLM_MAX_FIELD + 4], f_ws[4 * NTLM_MAX_FIELD + 4];
    size_t lu = 0, ld = 0, lw = 0;
    if (ok)
        ok = ntlm_field(user, unicode, f_user, sizeof f_user, &lu) == 0 &&
             ntlm_field(domain, unicode, f_dom, sizeof f_dom, &ld) == 0 &&
             ntlm_field(ws, unicode, f_ws, sizeof f_ws, &lw) == 0 &&
             ntlm_type3(out_flags, lm, 24, nt, nt_len, f_dom, ld, f_user, lu, f_ws, lw, &msg3, &msg3_len) == 0;
    mbedtls_platform_zeroize(nt_hash, sizeof nt_hash);
    mbedtls_platform_zeroize(lm_hash, sizeof lm_hash);
    mbedtls_platform_zeroize(key_v2, sizeof key_v2);
    mbedtls_platform_zeroize(lm, sizeof lm);
    mbedtls_platform_zeroize(nt1, sizeof nt1);
    if (nt && nt != nt1) {
        mbedtls_platform_zeroize(nt, nt_len);
        free(nt);
    }
    if (!ok) {
        free(chal);
        return ntlm_cancel(api, h, "the NTLM response could not be computed (mbedTLS MD4/DES/MD5 or the random "
                                   "generator failed); authentication cancelled");
    }
    rc = api->sasl_step(h, msg3, msg3_len, &r);
    mbedtls_platform_zeroize(msg3, msg3_len);
    free(msg3);
    if (rc == UPOPD_OK && !r.done) rc = ntlm_cancel(api, h, "the server sent another NTLM challenge after the "
                                                           "AUTHENTICATE message; authentication cancelled");
    else if (rc == UPOPD_OK && !r.ok) rc = UPOPD_AUTH_FAILED;
    else if (rc == UPOPD_OK) ntlm_report(api, h, unicode, policy_names[policy], &c, policy == POL_SESSION || policy == POL_V2);
    free(chal);
    return rc;
}

static const char *const ntlm_aliases[] = {"UAuthNTLMSMTP", "NTLM", NULL};
static const upopd_driver ntlm_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "AUTH NTLM",
    ntlm_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    UPOPD_F_AUTHENTICATES | UPOPD_F_CREDENTIALS,
    ntlm_params,
    ntlm_create,
    ntlm_verify,
    ntlm_open,
    NULL,
    NULL,
    ntlm_destroy,
    {0},
};

static const upopd_driver *const table[] = {&ntlm_driver};
UPOPD_DEFINE_ENTRY(table)
