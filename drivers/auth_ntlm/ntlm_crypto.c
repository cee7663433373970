/* NTLM (MS-NLMP) computations and messages; see ntlm_crypto.h. */
#include "ntlm_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/des.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

static void ntlm_err(char *err, size_t cap, const char *sentence)
{
    if (err && cap) snprintf(err, cap, "%s", sentence);
}

static uint16_t ntlm_rd16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t ntlm_rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static void ntlm_wr16(unsigned char *p, size_t v) { p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8); }
static void ntlm_wr32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

int ntlm_utf16le(const char *in, unsigned char *out, size_t cap, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t n = 0;
    while (*s) {
        uint32_t cp;
        int extra;
        if (s[0] < 0x80) cp = s[0], extra = 0;
        else if ((s[0] & 0xe0) == 0xc0) cp = s[0] & 0x1f, extra = 1;
        else if ((s[0] & 0xf0) == 0xe0) cp = s[0] & 0x0f, extra = 2;
        else if ((s[0] & 0xf8) == 0xf0) cp = s[0] & 0x07, extra = 3;
        else return -1;
        for (int i = 1; i <= extra; ++i) {
            if ((s[i] & 0xc0) != 0x80) return -1; /* also stops at the NUL */
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        s += 1 + extra;
        if (cp >= 0x10000) {
            if (n + 4 > cap) return -1;
            cp -= 0x10000;
            ntlm_wr16(out + n, 0xd800 + (cp >> 10));
            ntlm_wr16(out + n + 2, 0xdc00 + (cp & 0x3ff));
            n += 4;
        } else {
            if (n + 2 > cap) return -1;
            ntlm_wr16(out + n, cp);
            n += 2;
        }
    }
    *out_len = n;
    return 0;
}

void ntlm_utf16le_to_display(const unsigned char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    if (!cap) return;
    for (size_t i = 0; i + 1 < len;) {
        uint32_t cp = ntlm_rd16(in + i);
        i += 2;
        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < len && ntlm_rd16(in + i) >= 0xdc00 && ntlm_rd16(in + i) <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (ntlm_rd16(in + i) - 0xdc00);
            i += 2;
        } else if (cp >= 0xd800 && cp <= 0xdfff) {
            cp = '?';
        }
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) cp = '?';
        unsigned char buf[4];
        size_t k;
        if (cp < 0x80) buf[0] = (unsigned char)cp, k = 1;
        else if (cp < 0x800) buf[0] = (unsigned char)(0xc0 | (cp >> 6)), buf[1] = (unsigned char)(0x80 | (cp & 0x3f)), k = 2;
        else if (cp < 0x10000)
            buf[0] = (unsigned char)(0xe0 | (cp >> 12)), buf[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)),
            buf[2] = (unsigned char)(0x80 | (cp & 0x3f)), k = 3;
        else
            buf[0] = (unsigned char)(0xf0 | (cp >> 18)), buf[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f)),
            buf[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)), buf[3] = (unsigned char)(0x80 | (cp & 0x3f)), k = 4;
        if (n + k + 1 > cap) break;
        memcpy(out + n, buf, k);
        n += k;
    }
    out[n] = 0;
}

/* DES-ECB of one block under a 56-bit key given as 7 bytes. */
static int ntlm_des7(const unsigned char key7[7], const unsigned char in[8], unsigned char out[8])
{
    unsigned char k[8];
    k[0] = key7[0];
    k[1] = (unsigned char)((key7[0] << 7) | (key7[1] >> 1));
    k[2] = (unsigned char)((key7[1] << 6) | (key7[2] >> 2));
    k[3] = (unsigned char)((key7[2] << 5) | (key7[3] >> 3));
    k[4] = (unsigned char)((key7[3] << 4) | (key7[4] >> 4));
    k[5] = (unsigned char)((key7[4] << 3) | (key7[5] >> 5));
    k[6] = (unsigned char)((key7[5] << 2) | (key7[6] >> 6));
    k[7] = (unsigned char)(key7[6] << 1);
    mbedtls_des_key_set_parity(k);
    mbedtls_des_context ctx;
    mbedtls_des_init(&ctx);
    int rc = mbedtls_des_setkey_enc(&ctx, k);
    if (rc == 0) rc = mbedtls_des_crypt_ecb(&ctx, in, out);
    mbedtls_des_free(&ctx);
    mbedtls_platform_zeroize(k, sizeof k);
    return rc == 0 ? 0 : -1;
}

int ntlm_lm_hash(const char *password, unsigned char out[16])
{
    static const unsigned char magic[8] = {'K', 'G', 'S', '!', '@', '#', '$', '%'};
    unsigned char pw[14];
    memset(pw, 0, sizeof pw);
    for (size_t i = 0; i < 14 && password[i]; ++i) {
        unsigned char c = (unsigned char)password[i];
        pw[i] = (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c;
    }
    int rc = ntlm_des7(pw, magic, out) | ntlm_des7(pw + 7, magic, out + 8);
    mbedtls_platform_zeroize(pw, sizeof pw);
    return rc ? -1 : 0;
}

int ntlm_nt_hash(const char *password, unsigned char out[16])
{
    unsigned char u[4 * NTLM_MAX_FIELD + 4];
    size_t n = 0;
    const mbedtls_md_info_t *md4 = mbedtls_md_info_from_type(MBEDTLS_MD_MD4);
    if (!md4 || strlen(password) > NTLM_MAX_FIELD || ntlm_utf16le(password, u, sizeof u, &n) != 0) return -1;
    int rc = mbedtls_md(md4, u, n, out);
    mbedtls_platform_zeroize(u, sizeof u);
    return rc == 0 ? 0 : -1;
}

int ntlm_ntowfv2(const unsigned char nt_hash[16], const char *user, const char *domain, unsigned char out[16])
{
    char both[2 * NTLM_MAX_FIELD + 1];
    size_t ul = strlen(user), dl = strlen(domain);
    if (ul > NTLM_MAX_FIELD || dl > NTLM_MAX_FIELD) return -1;
    for (size_t i = 0; i < ul; ++i) {
        char c = user[i];
        both[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    memcpy(both + ul, domain, dl + 1);
    unsigned char u[4 * (2 * NTLM_MAX_FIELD) + 4];
    size_t n = 0;
    const mbedtls_md_info_t *md5 = mbedtls_md_info_from_type(MBEDTLS_MD_MD5);
    if (!md5 || ntlm_utf16le(both, u, sizeof u, &n) != 0) return -1;
    return mbedtls_md_hmac(md5, nt_hash, 16, u, n, out) == 0 ? 0 : -1;
}

int ntlm_desl(const unsigned char key16[16], const unsigned char data8[8], unsigned char out24[24])
{
    unsigned char k[21];
    memcpy(k, key16, 16);
    memset(k + 16, 0, 5);
    int rc = ntlm_des7(k, data8, out24) | ntlm_des7(k + 7, data8, out24 + 8) | ntlm_des7(k + 14, data8, out24 + 16);
    mbedtls_platform_zeroize(k, sizeof k);
    return rc ? -1 : 0;
}

int ntlm_session_response(const unsigned char nt_hash[16], const unsigned char schal[8],
                          const unsigned char cchal[8], unsigned char lm24[24], unsigned char nt24[24])
{
    unsigned char both[16], digest[16];
    memcpy(both, schal, 8);
    memcpy(both + 8, cchal, 8);
    const mbedtls_md_info_t *md5 = mbedtls_md_info_from_type(MBEDTLS_MD_MD5);
    if (!md5 || mbedtls_md(md5, both, 16, digest) != 0) return -1;
    memcpy(lm24, cchal, 8);
    memset(lm24 + 8, 0, 16);
    return ntlm_desl(nt_hash, digest, nt24);
}

int ntlm_lmv2(const unsigned char ntowfv2[16], const unsigned char schal[8], const unsigned char cchal[8],
              unsigned char lm24[24])
{
    unsigned char both[16];
    memcpy(both, schal, 8);
    memcpy(both + 8, cchal, 8);
    const mbedtls_md_info_t *md5 = mbedtls_md_info_from_type(MBEDTLS_MD_MD5);
    if (!md5 || mbedtls_md_hmac(md5, ntowfv2, 16, both, 16, lm24) != 0) return -1;
    memcpy(lm24 + 16, cchal, 8);
    return 0;
}

int ntlm_ntv2(const unsigned char ntowfv2[16], const unsigned char schal[8], const unsigned char cchal[8],
              uint64_t time, const unsigned char *target_info, size_t ti_len, unsigned char **nt, size_t *nt_len)
{
    *nt = NULL;
    const mbedtls_md_info_t *md5 = mbedtls_md_info_from_type(MBEDTLS_MD_MD5);
    if (!md5 || ti_len > 65535) return -1;
    size_t temp_len = 28 + ti_len + 4;
    /* first schal (8) + temp, hashed; then rewritten in place as NTProofStr (16) + temp: the
       buffer must hold the larger of the two */
    unsigned char *buf = (unsigned char *)malloc(16 + temp_len);
    if (!buf) return -1;
    unsigned char *temp = buf + 8;
    memcpy(buf, schal, 8);
    memset(temp, 0, temp_len);
    temp[0] = 1, temp[1] = 1;
    for (int i = 0; i < 8; ++i) temp[8 + i] = (unsigned char)(time >> (8 * i));
    memcpy(temp + 16, cchal, 8);
    if (ti_len) memcpy(temp + 28, target_info, ti_len);
    unsigned char proof[16];
    if (mbedtls_md_hmac(md5, ntowfv2, 16, buf, 8 + temp_len, proof) != 0) {
        free(buf);
        return -1;
    }
    /* reuse the buffer: NTProofStr (16) + temp */
    memmove(buf + 16, temp, temp_len);
    memcpy(buf, proof, 16);
    *nt = buf;
    *nt_len = 16 + temp_len;
    return 0;
}

void ntlm_type1(uint32_t flags, unsigned char out[32])
{
    memset(out, 0, 32);
    memcpy(out, "NTLMSSP", 8);
    ntlm_wr32(out + 8, 1);
    ntlm_wr32(out + 12, flags);
    /* DomainNameFields and WorkstationFields empty, offsets 32 */
    ntlm_wr32(out + 20, 32);
    ntlm_wr32(out + 28, 32);
}

int ntlm_parse_type2(const unsigned char *msg, size_t len, ntlm_challenge *c, char *err, size_t errcap)
{
    memset(c, 0, sizeof *c);
    if (len < 32) {
        ntlm_err(err, errcap, "the NTLM challenge is shorter than 32 bytes");
        return -1;
    }
    if (memcmp(msg, "NTLMSSP", 8) != 0) {
        ntlm_err(err, errcap, "the NTLM challenge does not start with the signature NTLMSSP");
        return -1;
    }
    if (ntlm_rd32(msg + 8) != 2) {
        ntlm_err(err, errcap, "the NTLM message from the server is not a CHALLENGE_MESSAGE (type 2)");
        return -1;
    }
    c->flags = ntlm_rd32(msg + 20);
    memcpy(c->server_challenge, msg + 24, 8);

    size_t tn_len = ntlm_rd16(msg + 12), tn_off = ntlm_rd32(msg + 16);
    if (tn_len) {
        if (tn_off < 32 || tn_off > len || tn_len > len - tn_off) {
            ntlm_err(err, errcap, "the TargetName of the NTLM challenge lies outside the message");
            return -1;
        }
        c->target_name = msg + tn_off;
        c->target_name_len = tn_len;
    }
    if (!(c->flags & NTLM_NEGOTIATE_TARGET_INFO)) return 0;
    if (len < 48) {
        ntlm_err(err, errcap, "the NTLM challenge announces target info but has no TargetInfoFields");
        return -1;
    }
    size_t ti_len = ntlm_rd16(msg + 40), ti_off = ntlm_rd32(msg + 44);
    if (ti_len == 0) return 0;
    if (ti_off < 48 || ti_off > len || ti_len > len - ti_off) {
        ntlm_err(err, errcap, "the TargetInfo of the NTLM challenge lies outside the message");
        return -1;
    }
    const unsigned char *ti = msg + ti_off;
    size_t pos = 0;
    for (;;) {
        if (ti_len - pos < 4) {
            ntlm_err(err, errcap, "the TargetInfo of the NTLM challenge does not end with MsvAvEOL");
            return -1;
        }
        unsigned id = ntlm_rd16(ti + pos), av_len = ntlm_rd16(ti + pos + 2);
        pos += 4;
        if (av_len > ti_len - pos) {
            ntlm_err(err, errcap, "an AV_PAIR of the NTLM challenge is longer than the TargetInfo");
            return -1;
        }
        if (id == NTLM_AV_EOL) {
            if (av_len != 0 || pos != ti_len) {
                ntlm_err(err, errcap, "the MsvAvEOL of the NTLM challenge is not the empty last AV_PAIR");
                return -1;
            }
            break;
        }
        if (id == NTLM_AV_TIMESTAMP && av_len != 8) {
            ntlm_err(err, errcap, "the MsvAvTimestamp of the NTLM challenge is not 8 bytes long");
            return -1;
        }
        if (id == NTLM_AV_FLAGS && av_len != 4) {
            ntlm_err(err, errcap, "the MsvAvFlags of the NTLM challenge is not 4 bytes long");
            return -1;
        }
        if (id < 8 && !c->av[id]) {
            c->av[id] = ti + pos;
            c->av_len[id] = av_len;
            if (id == NTLM_AV_TIMESTAMP) {
                c->has_timestamp = 1;
                for (int i = 7; i >= 0; --i) c->timestamp = (c->timestamp << 8) | ti[pos + (size_t)i];
            }
        }
        pos += av_len;
    }
    c->target_info = ti;
    c->target_info_len = ti_len;
    return 0;
}

int ntlm_type3(uint32_t flags, const unsigned char *lm, size_t lm_len, const unsigned char *nt, size_t nt_len,
               const unsigned char *domain, size_t domain_len, const unsigned char *user, size_t user_len,
               const unsigned char *workstation, size_t ws_len, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    const unsigned char *parts[5] = {lm, nt, domain, user, workstation};
    size_t lens[5] = {lm_len, nt_len, domain_len, user_len, ws_len};
    size_t total = 64;
    for (int i = 0; i < 5; ++i) {
        if (lens[i] > 65535) return -1;
        total += lens[i];
    }
    unsigned char *m = (unsigned char *)calloc(1, total);
    if (!m) return -1;
    memcpy(m, "NTLMSSP", 8);
    ntlm_wr32(m + 8, 3);
    size_t off = 64;
    for (int i = 0; i < 5; ++i) {
        unsigned char *d = m + 12 + 8 * i;
        ntlm_wr16(d, lens[i]);
        ntlm_wr16(d + 2, lens[i]);
        ntlm_wr32(d + 4, (uint32_t)off);
        if (lens[i]) memcpy(m + off, parts[i], lens[i]);
        off += lens[i];
    }
    /* EncryptedRandomSessionKeyFields: empty */
    ntlm_wr32(m + 52 + 4, (uint32_t)off);
    ntlm_wr32(m + 60, flags);
    *out = m;
    *out_len = total;
    return 0;
}
