// The SASL drivers against a scripted misbehaving SMTP server (tests/fake): what goes on the
// wire (initial responses, escaping, the answers to error challenges) and every refusal of a
// bad challenge, which must cancel the exchange with "*" and fail the logon.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "fake/fake_server.hpp"
#include "upopmail.h"

namespace {

using namespace std::chrono_literals;
using upop_fake::unb64;

const char *kCaps = "AUTH SCRAM-SHA-256 SCRAM-SHA-1 NTLM CRAM-MD5 XOAUTH2 OAUTHBEARER";

struct Run {
    int rc = 0;
    std::string error;
    std::vector<std::string> lines;
    std::string failures;
};

// Greets, answers EHLO, reads the AUTH line and hands it to script; then lets the client finish.
Run run(const std::string &driver, const std::string &params, std::function<void(FakeConn &, const std::string &)> script) {
    FakeServer srv(
        [&](FakeConn &c) {
            c.send("220 fake ESMTP\r\n");
            c.expect("EHLO");
            c.send(ehlo_reply({kCaps}));
            std::string auth = c.expect("AUTH ");
            script(c, auth);
            c.wait_for_close(3000ms);
        },
        5s);
    upop *h = nullptr;
    REQUIRE(upop_create(&h) == UPOP_OK);
    REQUIRE(upop_set_option(h, "timeout_ms", "5000") == UPOP_OK);
    Run r;
    REQUIRE_MESSAGE(upop_set_security(h, ("SMTP=" + driver).c_str(), params.c_str()) == UPOP_OK, upop_last_error(h));
    r.rc = upop_connect(h, UPOP_SMTP, srv.conn().c_str(), "", "");
    r.error = upop_last_error(h);
    upop_destroy(h);
    srv.join();
    r.lines = srv.lines();
    r.failures = srv.failure_text();
    return r;
}

const std::string kCreds = R"({"user": "user", "password": "pencil", "allow_plaintext": "true"})";
const std::string kToken = R"({"user": "user", "token": "tok.en", "allow_plaintext": "true"})";

bool has(const std::string &s, const std::string &what) { return s.find(what) != std::string::npos; }

// SCRAM: answers the client-first with server_first(nonce) and returns the client's next line.
void scram_first(FakeConn &c, const std::string &auth, const std::function<std::string(const std::string &)> &server_first) {
    std::string cf = unb64(auth.substr(auth.rfind(' ') + 1));
    std::string nonce = cf.substr(cf.find(",r=") + 3);
    c.send("334 " + upop_fake::b64(server_first(nonce)) + "\r\n");
}

} // namespace

TEST_SUITE("drv_hostile") {

TEST_CASE("SCRAM: a bad server-first-message is cancelled with '*' and fails the logon") {
    struct Case {
        std::function<std::string(const std::string &)> first;
        const char *why;
    } cases[] = {
        {[](const std::string &) { return std::string("r=someoneelse,s=QSXCR+Q6sek8bf92,i=4096"); }, "client nonce"},
        {[](const std::string &n) { return "r=" + n + "x,s=QSXCR+Q6sek8bf92,i=200000"; }, "1 to 100000"},
        {[](const std::string &n) { return "r=" + n + "x,s=QSXCR+Q6sek8bf92,i=0"; }, "1 to 100000"},
        {[](const std::string &n) { return "m=must,r=" + n + "x,s=QSXCR+Q6sek8bf92,i=4096"; }, "m="},
        {[](const std::string &n) { return "r=" + n + "x,s=not base64!,i=4096"; }, "salt"},
    };
    for (auto &k : cases) {
        Run r = run("SCRAM-SHA-256", kCreds, [&](FakeConn &c, const std::string &auth) {
            scram_first(c, auth, k.first);
            if (c.read_line() != "*") c.fail("no cancel");
            c.send("501 5.5.4 cancelled\r\n");
        });
        INFO(r.failures);
        CHECK(r.rc == UPOP_E_SECURITY);
        CHECK_MESSAGE(has(r.error, k.why), r.error);
        CHECK(r.failures.empty());
        CHECK(r.lines.size() == 3); // EHLO, AUTH, "*": no client-final-message
    }
}

TEST_CASE("SCRAM: a wrong server signature, e=, or success without v= fail the logon") {
    auto to_final = [](FakeConn &c, const std::string &auth) {
        scram_first(c, auth, [](const std::string &n) { return "r=" + n + "srv,s=QSXCR+Q6sek8bf92,i=4096"; });
        std::string fin = unb64(c.read_line());
        if (fin.rfind("c=biws,r=", 0) != 0 || !has(fin, ",p=")) c.fail("not a client-final-message: " + fin);
    };
    Run bad = run("SCRAM-SHA-256", kCreds, [&](FakeConn &c, const std::string &auth) {
        to_final(c, auth);
        c.send("334 " + upop_fake::b64("v=" + std::string(43, 'A') + "=") + "\r\n");
        if (c.read_line() != "*") c.fail("no cancel after a wrong v=");
        c.send("501 5.5.4 cancelled\r\n");
    });
    INFO(bad.failures);
    CHECK(bad.rc == UPOP_E_SECURITY);
    CHECK_MESSAGE(has(bad.error, "server signature does not match"), bad.error);
    CHECK(bad.failures.empty());

    Run e = run("SCRAM-SHA-1", kCreds, [&](FakeConn &c, const std::string &auth) {
        to_final(c, auth);
        c.send("334 " + upop_fake::b64("e=invalid-proof") + "\r\n");
        if (c.read_line() != "*") c.fail("no cancel after e=");
        c.send("501 5.5.4 cancelled\r\n");
    });
    CHECK(e.rc == UPOP_E_SECURITY);
    CHECK_MESSAGE(has(e.error, "e=invalid-proof"), e.error);
    CHECK(e.failures.empty());

    Run nov = run("SCRAM-SHA-256", kCreds, [&](FakeConn &c, const std::string &auth) {
        to_final(c, auth);
        c.send("235 2.7.0 ok without proof\r\n");
    });
    CHECK(nov.rc == UPOP_E_SECURITY);
    CHECK_MESSAGE(has(nov.error, "did not prove"), nov.error);
}

TEST_CASE("SCRAM: the user name is escaped on the wire, the nonce is fresh and long") {
    std::vector<std::string> nonces;
    for (int i = 0; i < 2; ++i) {
        Run r = run("SCRAM-SHA-256", R"({"user": "a,b=c", "password": "pencil", "allow_plaintext": "true"})",
                    [&](FakeConn &c, const std::string &auth) {
                        std::string cf = unb64(auth.substr(auth.rfind(' ') + 1));
                        if (cf.rfind("n,,n=a=2Cb=3Dc,r=", 0) != 0) c.fail("client-first: " + cf);
                        nonces.push_back(cf.substr(cf.find(",r=") + 3));
                        c.send("535 5.7.8 no\r\n");
                    });
        CHECK(r.failures.empty());
        CHECK(r.rc == UPOP_E_SECURITY);
    }
    REQUIRE(nonces.size() == 2);
    CHECK(nonces[0] != nonces[1]);
    CHECK(nonces[0].size() >= 32);
}

TEST_CASE("XOAUTH2 and OAUTHBEARER: the initial response and the answer to the error challenge") {
    Run x = run("XOAUTH2", kToken, [&](FakeConn &c, const std::string &auth) {
        if (unb64(auth.substr(auth.rfind(' ') + 1)) != std::string("user=user\x01" "auth=Bearer tok.en\x01\x01"))
            c.fail("XOAUTH2 initial response: " + auth);
        c.send("334 " + upop_fake::b64("{\"status\":\"401\",\"schemes\":\"bearer\"}") + "\r\n");
        if (c.read_line() != "") c.fail("no empty response");
        c.send("535 5.7.8 refused\r\n");
    });
    CHECK(x.failures.empty());
    CHECK(x.rc == UPOP_E_SECURITY);
    CHECK_MESSAGE(has(x.error, "{\"status\":\"401\",\"schemes\":\"bearer\"}"), x.error);
    CHECK(!has(x.error, "tok.en"));

    Run o = run("OAUTHBEARER", kToken, [&](FakeConn &c, const std::string &auth) {
        std::string ir = unb64(auth.substr(auth.rfind(' ') + 1));
        if (ir.rfind("n,a=user,\x01host=localhost\x01port=", 0) != 0 ||
            ir.find("\x01" "auth=Bearer tok.en\x01\x01") != ir.size() - 21)
            c.fail("OAUTHBEARER initial response: " + ir);
        c.send("334 " + upop_fake::b64("{\"status\":\"invalid_token\"}") + "\r\n");
        if (c.read_line() != "AQ==") c.fail("no 0x01 response");
        c.send("535 5.7.8 refused\r\n");
    });
    CHECK_MESSAGE(o.failures.empty(), o.failures);
    CHECK(o.rc == UPOP_E_SECURITY);
    CHECK_MESSAGE(has(o.error, "invalid_token"), o.error);

    // a second challenge after the answer is cancelled
    Run twice = run("XOAUTH2", kToken, [&](FakeConn &c, const std::string &) {
        c.send("334 " + upop_fake::b64("{\"status\":\"401\"}") + "\r\n");
        c.read_line();
        c.send("334 " + upop_fake::b64("{\"again\":1}") + "\r\n");
        if (c.read_line() != "*") c.fail("no cancel");
        c.send("501 5.5.4 cancelled\r\n");
    });
    CHECK(twice.failures.empty());
    CHECK(twice.rc == UPOP_E_SECURITY);
    CHECK(has(twice.error, "second"));
}

TEST_CASE("CRAM-MD5: an empty challenge is cancelled; the response is user SP hex") {
    Run e = run("CRAM-MD5", kCreds, [&](FakeConn &c, const std::string &) {
        c.send("334 \r\n");
        if (c.read_line() != "*") c.fail("no cancel");
        c.send("501 5.5.4 cancelled\r\n");
    });
    CHECK(e.failures.empty());
    CHECK(e.rc == UPOP_E_SECURITY);
    CHECK(has(e.error, "empty"));

    Run ok = run("CRAM-MD5", kCreds, [&](FakeConn &c, const std::string &auth) {
        if (auth != "AUTH CRAM-MD5") c.fail("AUTH line: " + auth);
        c.send("334 " + upop_fake::b64("<1896.697170952@postoffice.example>") + "\r\n");
        std::string resp = unb64(c.read_line());
        if (resp.rfind("user ", 0) != 0 || resp.size() != 5 + 32) c.fail("response: " + resp);
        c.send("235 2.7.0 ok\r\n");
        c.expect("QUIT");
        c.send("221 bye\r\n");
    });
    CHECK(ok.failures.empty());
    CHECK(ok.rc == UPOP_OK);
}

TEST_CASE("NTLM: bad CHALLENGE_MESSAGEs are cancelled; the AUTHENTICATE message follows the policy") {
    // A CHALLENGE_MESSAGE with flags, challenge and (optionally) target info "Server".
    auto challenge = [](uint32_t flags, bool target_info) {
        std::string m("NTLMSSP\0\x02\0\0\0", 12);
        m += std::string("\0\0\0\0\0\0\0\0", 8); // target name: none
        for (int i = 0; i < 4; ++i) m += char((flags >> (8 * i)) & 0xff);
        m += "\x01\x23\x45\x67\x89\xab\xcd\xef";
        m += std::string(8, '\0');
        std::string ti = target_info ? std::string("\x01\0\x0c\0S\0e\0r\0v\0e\0r\0\0\0\0\0", 20) : std::string();
        m += char(ti.size()), m += '\0', m += char(ti.size()), m += '\0';
        m += std::string("\x30\0\0\0", 4);
        return m + ti;
    };
    const uint32_t kUnicodeNtlm = 0x00000201u, kEss = 0x00080000u, kTi = 0x00800000u;

    struct Bad {
        std::string msg;
        const char *params, *why;
    } bad[] = {
        {std::string("NTLMSSX", 7) + std::string(40, '\0'), "", "signature"},
        {challenge(kUnicodeNtlm | kTi, true).substr(0, 40), "", "TargetInfoFields"},
        {challenge(kUnicodeNtlm | kTi, true).substr(0, 60), "", "TargetInfo"},
        {challenge(kUnicodeNtlm, false), R"(, "policy": "SESSION SECURITY")", "did not grant"},
    };
    for (auto &b : bad) {
        CAPTURE(b.why);
        std::string params = kCreds.substr(0, kCreds.size() - 1) + b.params + "}";
        Run r = run("NTLM", params, [&](FakeConn &c, const std::string &) {
            c.send("334 " + upop_fake::b64(b.msg) + "\r\n");
            if (c.read_line() != "*") c.fail("no cancel");
            c.send("501 5.5.4 cancelled\r\n");
        });
        CHECK_MESSAGE(r.failures.empty(), r.failures);
        CHECK(r.rc == UPOP_E_SECURITY);
        CHECK_MESSAGE(has(r.error, b.why), r.error);
    }

    // A challenge beyond 8 KB: the host already refuses the line (its limit is 8192 bytes of
    // base64), so the driver's own 8 KB bound on the decoded challenge is a second line of defence.
    Run big = run("NTLM", kCreds, [&](FakeConn &c, const std::string &) {
        c.send("334 " + upop_fake::b64(challenge(kUnicodeNtlm, false) + std::string(9000, 'N')) + "\r\n");
    });
    CHECK(big.rc == UPOP_E_SECURITY);
    CHECK(big.lines.size() == 2); // EHLO and AUTH: no AUTHENTICATE message

    struct Policy {
        const char *policy;
        uint32_t server_flags;
        size_t nt_len;
        bool lm_is_nt;
        const char *shown;
    } policies[] = {
        {"LM NTLM", kUnicodeNtlm, 24, false, "POLICY=LM NTLM"},
        {"NTLM", kUnicodeNtlm, 24, true, "POLICY=NTLM"},
        {"SESSION SECURITY", kUnicodeNtlm | kEss | kTi, 24, false, "POLICY=SESSION SECURITY"},
        {"SESSION SECURITY, NTLM", kUnicodeNtlm, 24, true, "POLICY=NTLM"},
        {"LM NTLM V2", kUnicodeNtlm | kEss | kTi, 16 + 28 + 20 + 4, false, "POLICY=LM NTLM VERSION 2"},
        // no policy given: LMv2 + NTLMv2, never the v1 responses (with or without target info)
        {nullptr, kUnicodeNtlm | kEss | kTi, 16 + 28 + 20 + 4, false, "POLICY=LM NTLM VERSION 2"},
        {nullptr, kUnicodeNtlm, 16 + 28 + 4 + 4, false, "POLICY=LM NTLM VERSION 2"},
    };
    for (auto &p : policies) {
        const std::string policy_shown = p.policy ? p.policy : "(none)";
        CAPTURE(policy_shown);
        CAPTURE(p.server_flags);
        std::string params = kCreds.substr(0, kCreds.size() - 1) + ", \"domain\": \"Dom\"" +
                             (p.policy ? std::string(", \"policy\": \"") + p.policy + "\"" : std::string()) + "}";
        std::string type3, type1;
        FakeServer srv(
            [&](FakeConn &c) {
                c.send("220 fake ESMTP\r\n");
                c.expect("EHLO");
                c.send(ehlo_reply({kCaps}));
                std::string auth = c.expect("AUTH NTLM ");
                type1 = unb64(auth.substr(10));
                c.send("334 " + upop_fake::b64(challenge(p.server_flags, true)) + "\r\n");
                type3 = unb64(c.read_line());
                c.send("235 2.7.0 ok\r\n");
                c.expect("QUIT");
                c.send("221 bye\r\n");
            },
            5s);
        upop *h = nullptr;
        REQUIRE(upop_create(&h) == UPOP_OK);
        REQUIRE(upop_set_security(h, "SMTP=NTLM", params.c_str()) == UPOP_OK);
        REQUIRE_MESSAGE(upop_connect(h, UPOP_SMTP, srv.conn().c_str(), "", "") == UPOP_OK, upop_last_error(h));
        char props[UPOP_PROPERTIES_MAX], rt[UPOP_RUNTIME_INFO_MAX];
        REQUIRE(upop_get_security(h, 1, "SMTP=", props, sizeof props, rt, sizeof rt) == UPOP_OK);
        CHECK_MESSAGE(has(std::string(rt) + "\x1b", std::string("\x1b") + p.shown + "\x1b"), rt);
        upop_disconnect(h, UPOP_SMTP);
        upop_destroy(h);
        srv.join();
        REQUIRE(type1.size() == 32);
        CHECK(type1.compare(0, 12, std::string("NTLMSSP\0\x01\0\0\0", 12)) == 0);
        REQUIRE(type3.size() >= 64);
        auto u16 = [&](size_t at) { return size_t((unsigned char)type3[at]) | size_t((unsigned char)type3[at + 1]) << 8; };
        auto u32 = [&](size_t at) { return u16(at) | u16(at + 2) << 16; };
        CHECK(type3.compare(0, 12, std::string("NTLMSSP\0\x03\0\0\0", 12)) == 0);
        size_t lm_len = u16(12), lm_off = u32(16), nt_len = u16(20), nt_off = u32(24);
        CHECK(lm_len == 24);
        CHECK(nt_len == p.nt_len);
        REQUIRE(lm_off + lm_len <= type3.size());
        REQUIRE(nt_off + nt_len <= type3.size());
        CHECK((type3.substr(lm_off, 24) == type3.substr(nt_off, 24)) == p.lm_is_nt);
        CHECK(type3.substr(u32(40), u16(36)) == std::string("u\0s\0e\0r\0", 8)); // user, UTF-16LE
        CHECK(type3.substr(u32(32), u16(28)) == std::string("D\0o\0m\0", 6));
        bool ess = (u32(60) & kEss) != 0;
        CHECK(ess == ((p.server_flags & kEss) != 0 && (std::string(p.shown) == "POLICY=SESSION SECURITY" ||
                                                       std::string(p.shown) == "POLICY=LM NTLM VERSION 2")));
        if (std::string(p.shown) == "POLICY=LM NTLM VERSION 2") {
            // NTLMv2: NTProofStr, then the blob (version 1 1, the client challenge at 16) ...
            CHECK(type3.substr(nt_off + 16, 2) == std::string("\x01\x01", 2));
            // ... and LMv2: HMAC (16) followed by the same client challenge
            CHECK(type3.substr(lm_off + 16, 8) == type3.substr(nt_off + 16 + 16, 8));
        }
        if (std::string(p.shown) == "POLICY=LM NTLM VERSION 2" && (p.server_flags & kTi))
            CHECK(type3.substr(nt_off + 44, 20) == challenge(0, true).substr(48)); // the target info echoed
    }
}

TEST_CASE("NTLM DEFERRED: bare AUTH NTLM, a non-empty first challenge is cancelled") {
    Run r = run("NTLM", kCreds.substr(0, kCreds.size() - 1) + R"(, "initial_response": "deferred"})",
                [&](FakeConn &c, const std::string &auth) {
                    if (auth != "AUTH NTLM") c.fail("AUTH line: " + auth);
                    c.send("334 " + upop_fake::b64("unexpected") + "\r\n");
                    if (c.read_line() != "*") c.fail("no cancel");
                    c.send("501 5.5.4 cancelled\r\n");
                });
    CHECK(r.failures.empty());
    CHECK(r.rc == UPOP_E_SECURITY);
    CHECK(has(r.error, "not empty"));
}

}
