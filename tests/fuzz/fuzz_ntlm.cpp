// The NTLM CHALLENGE_MESSAGE parser of the AUTH NTLM driver, and the AUTHENTICATE message the
// driver computes from it for every policy. Every descriptor and AV_PAIR is bounds-checked, so
// any bytes give a parse or an error sentence, never a read past the input.
// The whole input is the type 2 message. It is parsed (ntlm_parse_type2), then handed to the
// driver (drivers/auth_ntlm/auth_ntlm.c, through fake_host.hpp) as the server's challenge under
// each policy: LM NTLM, NTLM, LM NTLM VERSION 2, SESSION SECURITY with and without each
// fallback; Unicode and OEM; IMMEDIATE and DEFERRED initial response.
// Invariants (a violation aborts): the driver answers exactly when the message parses (and the
// policy can be used); the AUTHENTICATE message is well formed: signature, type 3, every
// security buffer inside the message, LM 24 bytes, NT 24 bytes (v1, session) or
// 16 + 28 + target info + 4 (v2).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "fake_host.hpp"

extern "C" {
#include "ntlm_crypto.h"
int upopd_entry_ntlm(uint32_t, uint32_t *, const upopd_driver *const **, size_t *);
}

namespace {

uint32_t le32(const std::string &m, size_t at)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | (unsigned char)m[at + i];
    return v;
}
uint32_t le16(const std::string &m, size_t at) { return (unsigned char)m[at] | (unsigned char)m[at + 1] << 8; }

struct Config {
    const char *policy;
    const char *charset;
    const char *initial;
    int version; // 1 (LM/NT v1), 2 (v2), 3 session security; 0: depends on the server's flags
    int fallback; // with version 0: the version when the server does not grant session security
                  // (-1: none, the driver gives up)
};

const Config kConfigs[] = {
    {"LM NTLM", "Unicode", "IMMEDIATE", 1, 0},
    {"NTLM", "Unicode", "IMMEDIATE", 1, 0},
    {"LM NTLM VERSION 2", "Unicode", "IMMEDIATE", 2, 0},
    {"SESSION SECURITY", "Unicode", "IMMEDIATE", 0, -1},
    {"SESSION SECURITY, LM NTLM", "Unicode", "IMMEDIATE", 0, 1},
    {"SESSION SECURITY, NTLM", "Unicode", "IMMEDIATE", 0, 1},
    {"SESSION SECURITY, LM NTLM V2", "Unicode", "IMMEDIATE", 0, 2},
    {"LM NTLM V1", "OEM", "DEFERRED", 1, 0},
    {"LM NTLM V2", "OEM", "DEFERRED", 2, 0},
};

void check_type3(const std::string &m, int version, const ntlm_challenge &c)
{
    FUZZ_REQUIRE(m.size() >= 64 && m.compare(0, 8, std::string("NTLMSSP\0", 8)) == 0 && le32(m, 8) == 3);
    size_t lengths[6];
    for (int i = 0; i < 6; ++i) {
        size_t at = 12 + 8 * i;
        size_t len = le16(m, at), max = le16(m, at + 2), off = le32(m, at + 4);
        FUZZ_REQUIRE(len == max && off >= 64 && off + len <= m.size());
        lengths[i] = len;
    }
    FUZZ_REQUIRE(lengths[0] == 24);
    if (version == 2) FUZZ_REQUIRE(lengths[1] == 16 + 28 + (c.target_info ? c.target_info_len : 4) + 4);
    else FUZZ_REQUIRE(lengths[1] == 24);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::vector<unsigned char> copy(data, data + size); // exact size: ASan sees any overread
    ntlm_challenge ch;
    std::memset(&ch, 0, sizeof ch);
    char err[256];
    int parsed = ntlm_parse_type2(copy.data(), copy.size(), &ch, err, sizeof err);
    if (size > 8192) return 0; // the driver refuses longer challenges before parsing

    const upopd_driver *d = fuzz::driver_of(upopd_entry_ntlm, 0);
    FUZZ_REQUIRE(d != nullptr);
    std::string challenge(reinterpret_cast<const char *>(data), size);
    for (const Config &cfg : kConfigs) {
        fuzz::FakeHost h;
        h.params = {{"user", "User"},          {"password", "Password"}, {"domain", "Domain"},
                    {"workstation", "COMPUTER"}, {"policy", cfg.policy},  {"charset", cfg.charset},
                    {"initial_response", cfg.initial}};
        bool deferred = std::strcmp(cfg.initial, "DEFERRED") == 0;
        if (deferred) h.steps.push_back({false, false, ""});
        h.steps.push_back({false, false, challenge});
        h.steps.push_back({true, true, ""});
        int rc = h.run(*d);
        size_t answers = h.sent.size() - 1 - (deferred ? 1 : 0); // after the type 1 message
        int version = cfg.version;
        if (version == 0) version = (parsed == 0 && (ch.flags & NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY)) ? 3 : cfg.fallback;
        if (parsed != 0 || version < 0) {
            FUZZ_REQUIRE(rc == UPOPD_ERROR && answers == 0 && h.cancels == 1);
            continue;
        }
        FUZZ_REQUIRE(rc == UPOPD_OK && answers == 1);
        check_type3(h.sent.back(), version, ch);
    }
    return 0;
}
