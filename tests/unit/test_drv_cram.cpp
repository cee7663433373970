// The CRAM-MD5 driver's computation (drivers/auth_cram_md5/cram_md5_calc.c), compiled in here:
// the RFC 2195 example and the output format.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "../../drivers/auth_cram_md5/cram_md5_calc.c"

TEST_SUITE("drv_cram") {

TEST_CASE("CRAM-MD5: the RFC 2195 example (tim / tanstaaftanstaaf)") {
    const char *challenge = "<1896.697170952@postoffice.reston.mci.net>";
    char out[128];
    size_t len = 0;
    REQUIRE(cram_md5_response("tim", "tanstaaftanstaaf", reinterpret_cast<const unsigned char *>(challenge),
                              std::strlen(challenge), out, sizeof out, &len) == 0);
    CHECK(std::string(out) == "tim b913a602c7eda7a495b4e6e7334d3890");
    CHECK(len == std::strlen(out));
}

TEST_CASE("CRAM-MD5: too small an output buffer is refused, lower-case hex") {
    const unsigned char c[] = {'x'};
    char out[64];
    size_t len = 0;
    CHECK(cram_md5_response("user", "pw", c, 1, out, 4 + 1 + 32, &len) == -1); // no room for NUL
    REQUIRE(cram_md5_response("user", "pw", c, 1, out, 4 + 1 + 32 + 1, &len) == 0);
    CHECK(len == 37);
    for (size_t i = 5; i < len; ++i) CHECK(std::strchr("0123456789abcdef", out[i]) != nullptr);
}

}
