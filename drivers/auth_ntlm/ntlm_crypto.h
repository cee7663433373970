/* NTLM (MS-NLMP) without any I/O: the hashes and responses (LMv1, NTLMv1, NTLM2 session
 * response, LMv2, NTLMv2), the NEGOTIATE (type 1) and AUTHENTICATE (type 3) messages, and a
 * strictly bounds-checked parser of the CHALLENGE (type 2) message. Shared with the unit tests. */
#ifndef UPOPD_NTLM_CRYPTO_H
#define UPOPD_NTLM_CRYPTO_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NTLM_NEGOTIATE_UNICODE 0x00000001u
#define NTLM_NEGOTIATE_OEM 0x00000002u
#define NTLM_REQUEST_TARGET 0x00000004u
#define NTLM_NEGOTIATE_NTLM 0x00000200u
#define NTLM_NEGOTIATE_ALWAYS_SIGN 0x00008000u
#define NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLM_NEGOTIATE_TARGET_INFO 0x00800000u
#define NTLM_NEGOTIATE_VERSION 0x02000000u
#define NTLM_NEGOTIATE_128 0x20000000u
#define NTLM_NEGOTIATE_56 0x80000000u

/* AV_PAIR ids (MS-NLMP 2.2.2.1) */
#define NTLM_AV_EOL 0
#define NTLM_AV_NB_COMPUTER 1
#define NTLM_AV_NB_DOMAIN 2
#define NTLM_AV_DNS_COMPUTER 3
#define NTLM_AV_DNS_DOMAIN 4
#define NTLM_AV_DNS_TREE 5
#define NTLM_AV_FLAGS 6
#define NTLM_AV_TIMESTAMP 7

#define NTLM_MAX_FIELD 255 /* user, domain, workstation, password: bytes of UTF-8 */

/* UTF-8 -> UTF-16LE (surrogate pairs for U+10000..). Returns 0, or -1 for invalid UTF-8 or a
 * too small out. */
int ntlm_utf16le(const char *in, unsigned char *out, size_t cap, size_t *out_len);
/* UTF-16LE -> UTF-8 for display: control characters and invalid units become '?'; stops at
 * cap-1 bytes (always NUL-terminated). */
void ntlm_utf16le_to_display(const unsigned char *in, size_t len, char *out, size_t cap);

/* LMOWFv1: DES("KGS!@#$%") under the upper-cased (ASCII), 14-byte padded/truncated password. */
int ntlm_lm_hash(const char *password, unsigned char out[16]);
/* NTOWFv1: MD4(UTF-16LE(password)). */
int ntlm_nt_hash(const char *password, unsigned char out[16]);
/* NTOWFv2: HMAC-MD5(NTOWFv1, UTF-16LE(upper(user) + domain)); upper-casing is ASCII only. */
int ntlm_ntowfv2(const unsigned char nt_hash[16], const char *user, const char *domain, unsigned char out[16]);
/* DESL: the 16-byte key padded to 21 bytes, three DES encryptions of data -> 24 bytes. */
int ntlm_desl(const unsigned char key16[16], const unsigned char data8[8], unsigned char out24[24]);
/* NTLM2 session response (NTLMv1 with extended session security): lm = cchal + Z(16),
 * nt = DESL(nt_hash, MD5(schal + cchal)[0..8]). */
int ntlm_session_response(const unsigned char nt_hash[16], const unsigned char schal[8],
                          const unsigned char cchal[8], unsigned char lm24[24], unsigned char nt24[24]);
/* LMv2 = HMAC-MD5(NTOWFv2, schal + cchal) + cchal. */
int ntlm_lmv2(const unsigned char ntowfv2[16], const unsigned char schal[8], const unsigned char cchal[8],
              unsigned char lm24[24]);
/* NTLMv2 response = NTProofStr + temp, temp = 0x0101 Z(6) time cchal Z(4) target_info Z(4);
 * *nt is malloc'ed (16 + 28 + ti_len + 4 bytes). time is a FILETIME (100 ns since 1601). */
int ntlm_ntv2(const unsigned char ntowfv2[16], const unsigned char schal[8], const unsigned char cchal[8],
              uint64_t time, const unsigned char *target_info, size_t ti_len, unsigned char **nt, size_t *nt_len);

/* NEGOTIATE_MESSAGE without domain/workstation (32 bytes). */
void ntlm_type1(uint32_t flags, unsigned char out[32]);

typedef struct ntlm_challenge {
    uint32_t flags;
    unsigned char server_challenge[8];
    const unsigned char *target_name; /* points into the message; may be NULL */
    size_t target_name_len;
    const unsigned char *target_info; /* the AV_PAIR list including MsvAvEOL; NULL if none */
    size_t target_info_len;
    const unsigned char *av[8];       /* values of the first AV_PAIR of each id 1..7 (UTF-16LE) */
    size_t av_len[8];
    int has_timestamp;
    uint64_t timestamp;
} ntlm_challenge;

/* Parses a CHALLENGE_MESSAGE. Every descriptor and AV_PAIR is checked against the message;
 * the AV_PAIR list must end with MsvAvEOL exactly at the end of its field. Returns 0, or -1 with
 * a sentence in err. */
int ntlm_parse_type2(const unsigned char *msg, size_t len, ntlm_challenge *out, char *err, size_t errcap);

/* AUTHENTICATE_MESSAGE (64-byte header, no version, no MIC, no session key); *out malloc'ed. */
int ntlm_type3(uint32_t flags, const unsigned char *lm, size_t lm_len, const unsigned char *nt, size_t nt_len,
               const unsigned char *domain, size_t domain_len, const unsigned char *user, size_t user_len,
               const unsigned char *workstation, size_t ws_len, unsigned char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
