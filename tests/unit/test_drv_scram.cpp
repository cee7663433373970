// The SCRAM driver's computation (drivers/auth_scram/scram_calc.c), compiled in here: the
// RFC 5802 (SHA-1) and RFC 7677 (SHA-256) exchanges, user name escaping, and every refusal of
// the server's messages (nonce, m=, iteration bounds before PBKDF2, v= mismatch, e=).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../../drivers/auth_scram/scram_calc.c"

namespace {

struct Scram {
    scram_ctx c;
    char err[400] = "";
    explicit Scram(mbedtls_md_type_t md) { scram_init(&c, md); }
    ~Scram() { scram_free(&c); }

    std::string first(const char *user, const char *nonce) {
        char *out = nullptr;
        size_t len = 0;
        REQUIRE_MESSAGE(scram_client_first(&c, user, nonce, &out, &len, err, sizeof err) == SCRAM_OK, err);
        std::string s(out, len);
        std::free(out);
        return s;
    }
    int final_(const char *password, const std::string &server_first, std::string &client_final) {
        char *out = nullptr;
        size_t len = 0;
        int rc = scram_client_final(&c, password, reinterpret_cast<const unsigned char *>(server_first.data()),
                                    server_first.size(), &out, &len, err, sizeof err);
        client_final = out ? std::string(out, len) : std::string();
        std::free(out);
        return rc;
    }
    int server_final(const std::string &m) {
        return scram_server_final(&c, reinterpret_cast<const unsigned char *>(m.data()), m.size(), err, sizeof err);
    }
};

const char *kSha1First = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
const char *kSha256First = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

} // namespace

TEST_SUITE("drv_scram") {

TEST_CASE("SCRAM-SHA-1: the RFC 5802 example (user / pencil)") {
    Scram s(MBEDTLS_MD_SHA1);
    CHECK(s.first("user", "fyko+d2lbbFgONRv9qkxdawL") == "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    std::string fin;
    REQUIRE_MESSAGE(s.final_("pencil", kSha1First, fin) == SCRAM_OK, s.err);
    CHECK(fin == "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
    CHECK(s.server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=") == SCRAM_OK);
}

TEST_CASE("SCRAM-SHA-256: the RFC 7677 example (user / pencil)") {
    Scram s(MBEDTLS_MD_SHA256);
    CHECK(s.first("user", "rOprNGfwEbeRWgbNEkqO") == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    std::string fin;
    REQUIRE_MESSAGE(s.final_("pencil", kSha256First, fin) == SCRAM_OK, s.err);
    CHECK(fin == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                 "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    CHECK(s.server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") == SCRAM_OK);
    // extensions after v= are ignored
    CHECK(s.server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,x=y") == SCRAM_OK);
}

TEST_CASE("SCRAM: a server signature that does not match fails") {
    Scram s(MBEDTLS_MD_SHA256);
    s.first("user", "rOprNGfwEbeRWgbNEkqO");
    std::string fin;
    REQUIRE(s.final_("pencil", kSha256First, fin) == SCRAM_OK);
    CHECK(s.server_final("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") == SCRAM_ERROR);
    CHECK(std::string(s.err).find("server signature does not match") != std::string::npos);
    CHECK(s.server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=") == SCRAM_ERROR); // right length for SHA-1 only
    CHECK(s.server_final("v=") == SCRAM_ERROR);
    CHECK(s.server_final("v=!!!!") == SCRAM_ERROR);
    CHECK(s.server_final("x=abc") == SCRAM_ERROR);
    CHECK(s.server_final("") == SCRAM_ERROR);
    CHECK(s.server_final("e=invalid-proof") == SCRAM_FAILED);
    CHECK(std::string(s.err).find("e=invalid-proof") != std::string::npos);
    // the same proof computed with another password is different
    Scram t(MBEDTLS_MD_SHA256);
    t.first("user", "rOprNGfwEbeRWgbNEkqO");
    std::string other;
    REQUIRE(t.final_("pencil2", kSha256First, other) == SCRAM_OK);
    CHECK(other != fin);
    CHECK(t.server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") == SCRAM_ERROR);
}

TEST_CASE("SCRAM: user names escape ',' and '=' (=2C, =3D)") {
    Scram s(MBEDTLS_MD_SHA256);
    CHECK(s.first("a,b=c", "nonce") == "n,,n=a=2Cb=3Dc,r=nonce");
    CHECK(s.first("==", "nonce") == "n,,n==3D=3D,r=nonce");
    char *out = nullptr;
    size_t len = 0;
    CHECK(scram_client_first(&s.c, "", "nonce", &out, &len, s.err, sizeof s.err) == SCRAM_ERROR);
    CHECK(scram_client_first(&s.c, "user", "bad,nonce", &out, &len, s.err, sizeof s.err) == SCRAM_ERROR);
    CHECK(out == nullptr);
}

TEST_CASE("SCRAM: the server-first-message is checked before any PBKDF2 work") {
    struct Bad {
        const char *msg, *why;
    } cases[] = {
        {"m=ext,r=abcdefXYZ,s=QSXCR+Q6sek8bf92,i=4096", "m="},
        {"r=abcdeXYZ,s=QSXCR+Q6sek8bf92,i=4096", "client nonce"},     // does not start with the nonce
        {"r=xabcdefXYZ,s=QSXCR+Q6sek8bf92,i=4096", "client nonce"},
        {"r=abc,s=QSXCR+Q6sek8bf92,i=4096", "client nonce"},          // shorter than the client nonce
        {"s=QSXCR+Q6sek8bf92,r=abcdefXYZ,i=4096", "'r='"},            // order is fixed
        {"r=abcdefXYZ,i=4096,s=QSXCR+Q6sek8bf92", "'s='"},
        {"r=abcdefXYZ,s=QSXCR+Q6sek8bf92", "'i='"},
        {"r=abcdefXYZ,s=QSXCR+Q6sek8bf92,i=", "empty"},
        {"r=abcdefXYZ,s=QSXCR+Q6sek8bf92,i=0", "1 to 100000"},
        {"r=abcdefXYZ,s=QSXCR+Q6sek8bf92,i=100001", "1 to 100000"},
        {"r=abcdefXYZ,s=QSXCR+Q6sek8bf92,i=99999999999999999999999", "1 to 100000"},
        {"r=abcdefXYZ,s=QSXCR+Q6sek8bf92,i=-1", "not a number"},
        {"r=abcdefXYZ,s=QSXCR+Q6sek8bf92,i=04096", "not a number"},
        {"r=abcdefXYZ,s=QSXCR+Q6sek8bf92,i=4096x", "not a number"},
        {"r=abcdefXYZ,s=,i=4096", "salt"},
        {"r=abcdefXYZ,s=QSXCR+Q6sek8bf9,i=4096", "salt"},             // length not a multiple of 4
        {"r=abcdefXYZ,s=QSX=R+Q6sek8bf92,i=4096", "salt"},            // '=' inside
        {"r=abcdefXYZ,s=QSXCR-Q6sek8bf92,i=4096", "salt"},            // not the base64 alphabet
        {"r=abcdef\x7fXYZ,s=QSXCR+Q6sek8bf92,i=4096", "printable"},
        {"", "empty"},
    };
    for (auto &b : cases) {
        CAPTURE(b.msg);
        Scram s(MBEDTLS_MD_SHA256);
        s.first("user", "abcdef");
        std::string fin;
        auto t0 = std::chrono::steady_clock::now();
        CHECK(s.final_("pencil", b.msg, fin) == SCRAM_ERROR);
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(200));
        CHECK(fin.empty());
        CHECK_MESSAGE(std::string(s.err).find(b.why) != std::string::npos, s.err);
        CHECK(s.server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") == SCRAM_ERROR); // nothing to verify
    }
    // a NUL byte in the message, and the upper bounds that are accepted
    Scram s(MBEDTLS_MD_SHA1);
    s.first("user", "abcdef");
    std::string fin;
    CHECK(s.final_("pencil", std::string("r=abcdefX\0Y,s=QSXCR+Q6sek8bf92,i=4096", 38), fin) == SCRAM_ERROR);
    CHECK(s.final_("pencil", "r=abcdefXYZ,s=QSXCR+Q6sek8bf92,i=1,x=ext", fin) == SCRAM_OK); // extensions ignored
    CHECK(s.final_("pencil", "r=abcdef,s=QSXCR+Q6sek8bf92,i=100000", fin) == SCRAM_OK);
    CHECK(s.final_("pencil", std::string(8193, 'r'), fin) == SCRAM_ERROR);
}

}
