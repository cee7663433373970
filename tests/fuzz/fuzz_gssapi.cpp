// The GSSAPI driver's security-layer round (drivers/auth_gssapi/gssapi_layer.c), the only bytes
// of the exchange the driver parses itself (everything else goes through libgssapi_krb5).
// Input: the server's unwrapped offer up to the first NUL; the rest (up to the next NUL) is used
// as an authzid for the answer.
// Invariants (a violation aborts): the offer is accepted exactly when it has 4 octets with bit
// 0x01 set, the size read is its last 3 octets; a refusal has a non-empty printable sentence; the
// answer is 0x01 0 0 0 followed by the authzid, and refused only when it is too long or does not fit.
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_check.hpp"

extern "C" {
#include "gssapi_layer.h"
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string in(reinterpret_cast<const char *>(data), size);
    size_t cut = in.find('\0');
    std::string offer = in.substr(0, cut);
    std::string authzid = cut == std::string::npos ? "" : in.substr(cut + 1);
    authzid = authzid.substr(0, authzid.find('\0'));

    char err[200];
    std::memset(err, 'X', sizeof err);
    err[0] = 0;
    uint32_t max = 0xFFFFFFFFu;
    int rc = gssapi_layer_check(reinterpret_cast<const unsigned char *>(offer.data()), offer.size(), &max, err,
                                sizeof err);
    bool good = offer.size() == 4 && (static_cast<unsigned char>(offer[0]) & 0x01);
    FUZZ_REQUIRE((rc == 0) == good);
    if (good) {
        FUZZ_REQUIRE(max == ((uint32_t(uint8_t(offer[1])) << 16) | (uint32_t(uint8_t(offer[2])) << 8) |
                             uint8_t(offer[3])));
    } else {
        size_t n = strnlen(err, sizeof err);
        FUZZ_REQUIRE(n > 0 && n < sizeof err);
        for (size_t i = 0; i < n; ++i) FUZZ_REQUIRE(err[i] >= 0x20 && err[i] != 0x7f);
    }

    unsigned char out[4 + GSSAPI_MAX_AUTHZID];
    size_t cap = offer.size() % (sizeof out + 1); // sometimes too small
    int n = gssapi_layer_answer(authzid.c_str(), out, cap);
    bool fits = authzid.size() <= GSSAPI_MAX_AUTHZID && cap >= 4 + authzid.size();
    FUZZ_REQUIRE((n >= 0) == fits);
    if (fits) {
        FUZZ_REQUIRE(size_t(n) == 4 + authzid.size());
        FUZZ_REQUIRE(out[0] == 0x01 && out[1] == 0 && out[2] == 0 && out[3] == 0);
        FUZZ_REQUIRE(std::memcmp(out + 4, authzid.data(), authzid.size()) == 0);
    }
    return 0;
}
