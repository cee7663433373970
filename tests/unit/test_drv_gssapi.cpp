// The GSSAPI driver's security-layer round (drivers/auth_gssapi/gssapi_layer.c, compiled in
// here): the server's 4-octet offer (RFC 4752 §3.1) and the client's answer, without GSS.
#include <doctest/doctest.h>

#include <string>

#include "../../drivers/auth_gssapi/gssapi_layer.c"

TEST_SUITE("drv_gssapi") {

namespace {
int check(const std::string &msg, uint32_t *max, std::string &err) {
    char e[256] = "";
    int rc = gssapi_layer_check(reinterpret_cast<const unsigned char *>(msg.data()), msg.size(), max, e, sizeof e);
    err = e;
    return rc;
}
} // namespace

TEST_CASE("GSSAPI layer: an offer that includes \"no security layer\" is accepted, its size read") {
    std::string err;
    uint32_t max = 0;
    CHECK(check(std::string("\x01\x00\x00\x00", 4), &max, err) == 0);
    CHECK(max == 0);
    CHECK(check(std::string("\x07\x01\x02\x03", 4), &max, err) == 0);
    CHECK(max == 0x010203);
    CHECK(check(std::string("\xff\xff\xff\xff", 4), nullptr, err) == 0);
}

TEST_CASE("GSSAPI layer: a wrong length or an offer without \"no security layer\" is refused with a reason") {
    std::string err;
    for (size_t n : {0, 1, 3, 5, 100}) {
        CAPTURE(n);
        CHECK(check(std::string(n, '\x01'), nullptr, err) == -1);
        CHECK(err.find("has " + std::to_string(n) + " bytes instead of 4") != std::string::npos);
    }
    for (unsigned char bits : {0x00, 0x02, 0x04, 0x06, 0xfe}) {
        CAPTURE(int(bits));
        CHECK(check(std::string(1, char(bits)) + std::string("\x00\x10\x00", 3), nullptr, err) == -1);
        CHECK(err.find("does not offer \"no security layer\"") != std::string::npos);
    }
}

TEST_CASE("GSSAPI layer: the answer is 0x01, size 0, then the authzid; too long or no room is refused") {
    unsigned char out[4 + GSSAPI_MAX_AUTHZID];
    CHECK(gssapi_layer_answer(nullptr, out, sizeof out) == 4);
    CHECK(std::string(reinterpret_cast<char *>(out), 4) == std::string("\x01\x00\x00\x00", 4));
    CHECK(gssapi_layer_answer("", out, sizeof out) == 4);
    CHECK(gssapi_layer_answer("admin@example.test", out, sizeof out) == 4 + 18);
    CHECK(std::string(reinterpret_cast<char *>(out), 22) == std::string("\x01\x00\x00\x00", 4) + "admin@example.test");
    std::string longest(GSSAPI_MAX_AUTHZID, 'a');
    CHECK(gssapi_layer_answer(longest.c_str(), out, sizeof out) == 4 + GSSAPI_MAX_AUTHZID);
    CHECK(gssapi_layer_answer((longest + "a").c_str(), out, sizeof out) == -1);
    CHECK(gssapi_layer_answer("ab", out, 5) == -1);
    CHECK(gssapi_layer_answer(nullptr, out, 3) == -1);
}

}
