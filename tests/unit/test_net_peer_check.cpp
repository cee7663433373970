// certificate_matches against certificates generated at test time (tests/fake/certs.cpp): names
// with NUL or '%', no CN fallback for IP addresses, no wildcard over an all-numeric name.
#include <doctest/doctest.h>

#include "fake/certs.hpp"
#include "net/peer_check.hpp"

#include <mbedtls/x509_crt.h>

#include <string>
#include <vector>

using upopmail::net::certificate_matches;
using upopmail::net::PeerName;

namespace {

/** A parsed certificate (freed at the end of the scope). */
struct Crt {
    mbedtls_x509_crt crt;
    explicit Crt(const upop_fake::CertFiles& f) {
        mbedtls_x509_crt_init(&crt);
        REQUIRE(mbedtls_x509_crt_parse_file(&crt, f.crt.c_str()) == 0);
    }
    ~Crt() { mbedtls_x509_crt_free(&crt); }
    bool dns(const std::string& name) const { return certificate_matches(crt, {PeerName{PeerName::DNS, name}}); }
    bool ip(const std::string& name) const { return certificate_matches(crt, {PeerName{PeerName::IP, name}}); }
};

const std::string kNul("\0", 1);

} // namespace

TEST_SUITE("net.peer_check") {

TEST_CASE("positive controls: SAN DNS, CN without SAN, wildcard over one label") {
    Crt san(make_custom_leaf("pc-san", "ignored.example", {"mail.example.com", "*.example.org"}));
    CHECK(san.dns("mail.example.com"));
    CHECK(san.dns("MAIL.example.com."));
    CHECK(san.dns("a.example.org"));
    CHECK(san.dns("a1.example.org"));
    CHECK_FALSE(san.dns("ignored.example")); // the CN is not used when there is a SAN
    CHECK_FALSE(san.dns("a.b.example.org"));
    Crt cn(make_custom_leaf("pc-cn", "mail.example.com"));
    CHECK(cn.dns("mail.example.com"));
    CHECK_FALSE(cn.dns("other.example.com"));
}

TEST_CASE("a NUL byte in the CN never matches (IP or DNS)") {
    Crt ip(make_custom_leaf("nul-cn-ip", "127.0.0.1" + kNul + ".evil.example"));
    CHECK_FALSE(ip.ip("127.0.0.1"));
    CHECK_FALSE(ip.dns("127.0.0.1"));
    Crt dns(make_custom_leaf("nul-cn-dns", "mail.example.com" + kNul + ".evil.example"));
    CHECK_FALSE(dns.dns("mail.example.com"));
    CHECK_FALSE(dns.dns("mail.example.com" + kNul + ".evil.example"));
}

TEST_CASE("the CN is never read as an IP address") {
    Crt v4(make_custom_leaf("cn-ip4", "127.0.0.1"));
    CHECK_FALSE(v4.ip("127.0.0.1"));
    Crt v6(make_custom_leaf("cn-ip6", "::1"));
    CHECK_FALSE(v6.ip("::1"));
}

TEST_CASE("NUL and '%' in SAN DNS names and in the CN never match") {
    Crt nul(make_custom_leaf("nul-san", "", {"mail.example.com" + kNul + ".evil.example"}));
    CHECK_FALSE(nul.dns("mail.example.com"));
    Crt pct(make_custom_leaf("pct-san", "", {"mail%.example.com", "*.%example.org"}));
    CHECK_FALSE(pct.dns("mail%.example.com"));
    CHECK_FALSE(pct.dns("a.%example.org"));
    Crt pct_cn(make_custom_leaf("pct-cn", "mail%.example.com"));
    CHECK_FALSE(pct_cn.dns("mail%.example.com"));
}

TEST_CASE("a wildcard never matches an all-numeric name, with or without a trailing dot") {
    Crt w(make_custom_leaf("wild-num", "", {"*.0.0.1", "*.example.com"}));
    CHECK_FALSE(w.dns("127.0.0.1."));
    CHECK_FALSE(w.dns("127.0.0.1"));
    CHECK(w.dns("127.example.com")); // not all-numeric: covered
    Crt cn(make_custom_leaf("wild-num-cn", "*.0.0.1"));
    CHECK_FALSE(cn.dns("127.0.0.1."));
    // An expected wildcard (verify_server_name=DNS:*.0.0.1) does not cover a numeric certificate name.
    Crt num(make_custom_leaf("num-san", "", {"127.0.0.1"}));
    CHECK_FALSE(num.dns("*.0.0.1"));
    CHECK(num.dns("127.0.0.1.")); // an exact name is not a wildcard match
}

} // TEST_SUITE
