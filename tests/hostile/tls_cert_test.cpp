// tls_cert_test.cpp — server certificates are verified by default (SPEC §2.3, §4): wrong host,
// untrusted self-signed, unknown root; verify_server=no is the explicit opt-out. Both STARTTLS and
// implicit TLS ("TLS:host+port").
#include "hostile/support.hpp"

#include <string>
#include <vector>

using namespace hostile;

namespace {

/** STARTTLS offered; the handshake uses crt/key; then a benign server accepting AUTH PLAIN. */
FakeServer::Script starttls_with(std::string crt, std::string key) {
    return [crt, key](FakeConn& c) {
        greet(c, {"STARTTLS", "AUTH PLAIN"});
        c.expect("STARTTLS");
        c.send("220 2.0.0 Ready to start TLS\r\n");
        if (!c.start_tls(crt, key)) return;
        serve_smtp(c, SmtpOpts{{"AUTH PLAIN"}, {}, "", "", true});
    };
}

/** Implicit TLS: greeting and a benign server, inside TLS. */
FakeServer::Script implicit_session() {
    return [](FakeConn& c) {
        c.send("220 fake.example ESMTP over TLS\r\n");
        serve_smtp(c, SmtpOpts{{"AUTH PLAIN"}, {}, "", "", true});
    };
}

struct Result {
    int rc;
    std::string err;
};

Result starttls_logon(FakeServer& srv, const std::string& config, bool with_auth = true,
                      const std::string& host = "localhost") {
    Handle h;
    if (!config.empty()) h.use_config(config);
    h.add("SMTP=STARTTLS");
    if (with_auth) h.add("SMTP=AUTH PLAIN", creds_json());
    int rc = upop_connect(h, UPOP_SMTP, (host + "+" + std::to_string(srv.port())).c_str(), "", "");
    Result r{rc, h.err()};
    if (rc == 0) CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    h.close();
    srv.join();
    return r;
}

Result implicit_logon(FakeServer& srv, const std::string& config, const std::string& host = "localhost") {
    Handle h;
    if (!config.empty()) h.use_config(config);
    int rc = upop_connect(h, UPOP_SMTP, ("TLS:" + host + "+" + std::to_string(srv.port())).c_str(), "", "");
    Result r{rc, h.err()};
    if (rc == 0) CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    h.close();
    srv.join();
    return r;
}

bool mentions_name_mismatch(const std::string& err) {
    std::string e = lower(err);
    return contains(e, "match") || contains(e, "name");
}

} // namespace

TEST_SUITE("hostile: TLS certificates") {

TEST_CASE("positive controls: the CA-signed localhost certificate is accepted (STARTTLS and TLS:)") {
    const TestCerts& certs = make_test_certs();
    {
        FakeServer srv(starttls_with(certs.server_crt, certs.server_key), 5s);
        Result r = starttls_logon(srv, ca_config());
        INFO("last_error: " << r.err << " | server: " << srv.failure_text());
        CHECK(r.rc == 0);
        CHECK(srv.saw("AUTH PLAIN"));
        CHECK(srv.failure_text() == "");
    }
    {
        FakeServer srv(implicit_session(), TlsOpts{certs.server_crt, certs.server_key}, 5s);
        Result r = implicit_logon(srv, ca_config());
        INFO("last_error: " << r.err << " | server: " << srv.failure_text());
        CHECK(r.rc == 0);
        CHECK(srv.saw("EHLO"));
        CHECK(srv.failure_text() == "");
    }
}

TEST_CASE("an IP address in the connection string is checked against the certificate's IP entries") {
    const TestCerts& certs = make_test_certs();
    {
        FakeServer srv(implicit_session(), TlsOpts{certs.server_crt, certs.server_key}, 5s);
        Result r = implicit_logon(srv, ca_config(), "127.0.0.1");
        INFO("last_error: " << r.err << " | server: " << srv.failure_text());
        CHECK(r.rc == 0); // SAN IP:127.0.0.1
    }
    {
        // The wrong certificate is CA-signed but names only wrong.example.invalid.
        FakeServer srv(implicit_session(), TlsOpts{certs.wrong_crt, certs.wrong_key}, 5s);
        Result r = implicit_logon(srv, ca_config(), "127.0.0.1");
        INFO("last_error: " << r.err << " | server: " << srv.failure_text());
        CHECK(r.rc == UPOP_E_SECURITY);
        CHECK(is_sentence(r.err));
        CHECK_FALSE(srv.saw("EHLO"));
    }
}

TEST_CASE("certificate names: a NUL in the CN, the CN as an IP, a wildcard over a numeric name: -8") {
    // CA-signed certificates without subjectAltName (so that only the CN could match), and one
    // whose only name is the wildcard *.0.0.1, checked against DNS:127.0.0.1. (trailing dot).
    const std::string nul("\0", 1);
    struct Case {
        std::string what;
        upop_fake::CertFiles cert;
        std::string config;
    };
    std::string ca = upop_fake::json_string(make_test_certs().ca_crt);
    std::vector<Case> cases{
        {"CN 127.0.0.1<NUL>.evil.example, no SAN", make_custom_leaf("h-nul-cn", "127.0.0.1" + nul + ".evil.example"),
         ca_config()},
        {"CN 127.0.0.1, no SAN", make_custom_leaf("h-ip-cn", "127.0.0.1"), ca_config()},
        {"SAN DNS:*.0.0.1 for the expected name DNS:127.0.0.1.", make_custom_leaf("h-wild-num", "", {"*.0.0.1"}),
         upop_fake::write_config("{\"default\":{\"ca_certificate\":" + ca +
                                 ",\"verify_server_name\":\"DNS:127.0.0.1.\"}}\n")},
    };
    for (auto& c : cases) {
        CAPTURE(c.what);
        FakeServer srv(implicit_session(), TlsOpts{c.cert.crt, c.cert.key}, 5s);
        Result r = implicit_logon(srv, c.config, "127.0.0.1");
        INFO("last_error: " << r.err << " | server: " << srv.failure_text());
        CHECK(r.rc == UPOP_E_SECURITY);
        CHECK(mentions_name_mismatch(r.err));
        CHECK_FALSE(srv.saw("EHLO"));
    }
    // Control: the same kind of certificate with the address as a SAN iPAddress is accepted.
    FakeServer srv(implicit_session(), TlsOpts{make_test_certs().server_crt, make_test_certs().server_key}, 5s);
    Result r = implicit_logon(srv, ca_config(), "127.0.0.1");
    INFO("last_error: " << r.err);
    CHECK(r.rc == 0);
}

TEST_CASE("a trusted certificate for another host name: -8 naming the mismatch, no credentials") {
    const TestCerts& certs = make_test_certs();
    {
        FakeServer srv(starttls_with(certs.wrong_crt, certs.wrong_key), 5s);
        Result r = starttls_logon(srv, ca_config());
        INFO("last_error: " << r.err << " | server: " << srv.failure_text());
        CHECK(r.rc == UPOP_E_SECURITY);
        CHECK(is_sentence(r.err));
        CHECK(mentions_name_mismatch(r.err));
        CHECK_FALSE(credentials_sent(srv));
        CHECK(srv.count("EHLO") == 1); // nothing sent inside the rejected TLS session
    }
    {
        FakeServer srv(implicit_session(), TlsOpts{certs.wrong_crt, certs.wrong_key}, 5s);
        Result r = implicit_logon(srv, ca_config());
        INFO("last_error: " << r.err << " | server: " << srv.failure_text());
        CHECK(r.rc == UPOP_E_SECURITY);
        CHECK(mentions_name_mismatch(r.err));
        CHECK_FALSE(srv.saw("EHLO"));
    }
}

TEST_CASE("an untrusted self-signed certificate: -8 (configured CA, and the system trust store)") {
    const TestCerts& certs = make_test_certs();
    for (std::string config : {ca_config(), std::string()}) {
        CAPTURE(config);
        {
            FakeServer srv(starttls_with(certs.self_signed_crt, certs.self_signed_key), 5s);
            Result r = starttls_logon(srv, config);
            INFO("last_error: " << r.err << " | server: " << srv.failure_text());
            CHECK(r.rc == UPOP_E_SECURITY);
            CHECK(is_sentence(r.err));
            CHECK(contains(lower(r.err), "certif"));
            CHECK_FALSE(credentials_sent(srv));
        }
        {
            FakeServer srv(implicit_session(), TlsOpts{certs.self_signed_crt, certs.self_signed_key}, 5s);
            Result r = implicit_logon(srv, config);
            INFO("last_error: " << r.err << " | server: " << srv.failure_text());
            CHECK(r.rc == UPOP_E_SECURITY);
            CHECK(contains(lower(r.err), "certif"));
            CHECK_FALSE(srv.saw("EHLO"));
        }
    }
}

TEST_CASE("a certificate from a CA that is not the configured one: -8") {
    const TestCerts& certs = make_test_certs();
    std::string other = write_tls_config(certs.other_ca_crt);
    FakeServer srv(starttls_with(certs.server_crt, certs.server_key), 5s);
    Result r = starttls_logon(srv, other);
    INFO("last_error: " << r.err << " | server: " << srv.failure_text());
    CHECK(r.rc == UPOP_E_SECURITY);
    CHECK(is_sentence(r.err));
    CHECK_FALSE(credentials_sent(srv));
}

TEST_CASE("verify_server=no in the default profile is the explicit opt-out: self-signed accepted") {
    const TestCerts& certs = make_test_certs();
    std::string no_verify = upop_fake::write_config("{\"default\":{\"verify_server\":\"no\"}}\n");
    {
        FakeServer srv(starttls_with(certs.self_signed_crt, certs.self_signed_key), 5s);
        Result r = starttls_logon(srv, no_verify, /*with_auth=*/false);
        INFO("last_error: " << r.err << " | server: " << srv.failure_text());
        CHECK(r.rc == 0);
        CHECK(srv.count("EHLO") == 2);
        CHECK(srv.saw("QUIT"));
    }
    {
        FakeServer srv(implicit_session(), TlsOpts{certs.self_signed_crt, certs.self_signed_key}, 5s);
        Result r = implicit_logon(srv, no_verify);
        INFO("last_error: " << r.err << " | server: " << srv.failure_text());
        CHECK(r.rc == 0);
        CHECK(srv.saw("QUIT"));
    }
}

TEST_CASE("plain SMTP on a TLS: connection (server not speaking TLS) fails, never falls back") {
    FakeServer srv([](FakeConn& c) {
        c.send("220 fake.example ESMTP (no TLS here)\r\n");
        serve_smtp(c, SmtpOpts{{"AUTH PLAIN"}, {}, "", "", true});
    }, 5s);
    Handle h;
    h.trust_test_ca();
    h.add("SMTP=AUTH PLAIN", creds_json());
    int rc = h.connect_tls(srv);
    std::string err = h.err();
    h.close();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc < 0);
    CHECK(rc != UPOP_E_TIMEOUT); // the garbage "handshake" reply is an error, not a wait
    CHECK(is_sentence(err));
    CHECK_FALSE(srv.saw("EHLO"));
    CHECK_FALSE(credentials_sent(srv));
}

} // TEST_SUITE

TEST_SUITE("hostile: credentials over unverified TLS") {

namespace {

/** The default profile with verify_server=no (the server presents a self-signed certificate). */
const std::string& no_verify_config() {
    static const std::string path = upop_fake::write_config("{\"default\":{\"verify_server\":\"no\"}}\n");
    return path;
}

/** The CA is trusted but verify_server_name=no (the server presents a CA-signed certificate for
 *  another name): the certificate is checked, the host it was issued to is not (RFC 4954 §14). */
const std::string& no_name_check_config() {
    static const std::string path = upop_fake::write_config(
        "{\"default\":{\"ca_certificate\":" + upop_fake::json_string(make_test_certs().ca_crt) +
        ",\"verify_server_name\":\"no\"}}\n");
    return path;
}

} // namespace

TEST_CASE("SMTP AUTH PLAIN over TLS not verified (verify_server=no, verify_server_name=no): refused unless allow_plaintext=true") {
    const TestCerts& certs = make_test_certs();
    struct Case {
        const std::string& config;
        std::string crt, key, why;
    };
    for (const Case& k : {Case{no_verify_config(), certs.self_signed_crt, certs.self_signed_key, "verify_server"},
                          Case{no_name_check_config(), certs.wrong_crt, certs.wrong_key, "verify_server_name is off"}}) {
        for (bool allow : {false, true}) {
            CAPTURE(k.why);
            CAPTURE(allow);
            FakeServer srv(implicit_session(), TlsOpts{k.crt, k.key}, 5s);
            Attempt a;
            {
                Handle h;
                h.use_config(k.config);
                h.add("SMTP=AUTH PLAIN", allow ? creds_gold(true) : creds_json());
                a.rc = h.connect_tls(srv);
                a.err = h.err();
            }
            srv.join();
            INFO("last_error: " << a.err << " | server: " << srv.failure_text());
            if (allow) {
                CHECK(a.rc == 0);
                CHECK(srv.saw("AUTH PLAIN"));
            } else {
                CHECK(a.rc == UPOP_E_SECURITY);
                CHECK(contains(a.err, k.why));
                CHECK(contains(a.err, "allow_plaintext"));
                CHECK(srv.saw("EHLO"));
                CHECK_FALSE(credentials_sent(srv));
            }
        }
    }
}

TEST_CASE("POP USER/PASS over TLS with verify_server=no: refused unless allow_plaintext=true") {
    const TestCerts& certs = make_test_certs();
    for (bool allow : {false, true}) {
        CAPTURE(allow);
        FakeServer srv(upop_fake::serve_pop, TlsOpts{certs.self_signed_crt, certs.self_signed_key}, 5s);
        Attempt a;
        {
            Handle h;
            h.use_config(no_verify_config());
            if (allow) REQUIRE(upop_set_option(h, "allow_plaintext", "true") == 0);
            a.rc = upop_connect(h, UPOP_POP, ("TLS:" + srv.conn()).c_str(), kUser.c_str(), kPass.c_str());
            a.err = h.err();
            if (a.rc == 0) CHECK(upop_disconnect(h, UPOP_POP) == 0);
        }
        srv.join();
        INFO("last_error: " << a.err << " | server: " << srv.failure_text());
        if (allow) {
            CHECK(a.rc == 0);
            CHECK(srv.saw("PASS"));
        } else {
            CHECK(a.rc == UPOP_E_SECURITY);
            CHECK(contains(a.err, "verify_server"));
            CHECK(contains(a.err, "allow_plaintext"));
            CHECK(srv.saw("CAPA"));
            CHECK_FALSE(srv.saw("USER"));
            CHECK_FALSE(srv.received(kPass));
        }
    }
}

} // TEST_SUITE
