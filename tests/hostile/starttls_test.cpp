// starttls_test.cpp — STARTTLS attacks: response injection, stripping, refused STARTTLS, and
// capabilities learned before TLS (SPEC §2.3, security.md §1.2 and RFC 3207).
#include "hostile/support.hpp"

#include <string>

using namespace hostile;

namespace {

/** Greeting, EHLO offering STARTTLS, STARTTLS answered with go_ahead (one write) and optionally
 *  a second write; if the client still handshakes, a benign server that accepts any AUTH
 *  follows, so a vulnerable client visibly gets further. */
FakeServer::Script injecting(std::string go_ahead, std::string later = "") {
    return [go_ahead, later](FakeConn& c) {
        const TestCerts& certs = make_test_certs();
        greet(c, {"STARTTLS", "AUTH PLAIN LOGIN"});
        c.expect("STARTTLS");
        c.send(go_ahead);
        if (!later.empty()) c.send(later);
        if (!c.start_tls(certs.server_crt, certs.server_key)) return; // the client refused: good
        serve_smtp(c, SmtpOpts{{"AUTH PLAIN LOGIN"}, {}, "", "", true});
    };
}

/** Runs STARTTLS (MAND) + AUTH PLAIN (MAND) against script; returns the status. */
} // namespace

TEST_SUITE("hostile: STARTTLS response injection") {

namespace {
// STARTTLS + AUTH PLAIN against srv: the logon fails with -8 and a sentence, and the server never
// saw the credentials.
void expect_logon_refused(FakeServer &srv) {
    auto [rc, err] = starttls_plain_attempt(srv);
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_SECURITY);
    CHECK(is_sentence(err));
    CHECK_FALSE(credentials_sent(srv));
}
} // namespace

TEST_CASE("bytes injected after the 220 go-ahead in the same segment fail the logon with -8") {
    FakeServer srv(injecting("220 2.0.0 go ahead\r\n250 AUTH PLAIN\r\n"), 5s);
    expect_logon_refused(srv);
    CHECK_FALSE(srv.saw("MAIL FROM"));
}

TEST_CASE("an injected fragment without CRLF after the go-ahead fails the logon with -8") {
    FakeServer srv(injecting("220 go\r\n250-X"), 5s);
    expect_logon_refused(srv);
}

TEST_CASE("a whole forged post-TLS dialogue injected after a multi-line go-ahead fails with -8") {
    // A vulnerable client would take the forged lines as the post-TLS EHLO reply and the AUTH
    // success, and would be logged on without the server ever having seen the credentials.
    FakeServer srv(injecting("220-2.0.0 go\r\n220 2.0.0 ahead\r\n250-fake.example\r\n250 AUTH PLAIN\r\n"
                             "235 2.7.0 Authentication successful\r\n"),
                   5s);
    expect_logon_refused(srv);
}

TEST_CASE("plaintext bytes arriving in a later segment after the go-ahead fail the logon with -8") {
    // Either the client already sees them before its handshake (injection), or they land inside
    // the TLS stream and break the handshake: the logon fails in every ordering.
    FakeServer srv(injecting("220 go ahead\r\n", "250 AUTH PLAIN\r\n"), 5s);
    expect_logon_refused(srv);
}

TEST_CASE("the client waits for the real post-TLS EHLO reply (first command inside TLS swallowed)") {
    // The paper's ignore_commands_tls trick: the server reads the first command inside TLS and
    // never answers it. A client working from stale or pre-TLS data would go on to AUTH.
    const TestCerts& certs = make_test_certs();
    FakeServer srv([&](FakeConn& c) {
        greet(c, {"STARTTLS", "AUTH PLAIN LOGIN"});
        c.expect("STARTTLS");
        c.send("220 go ahead\r\n");
        if (!c.start_tls(certs.server_crt, certs.server_key)) return;
        c.expect("EHLO");
        c.wait_for_close(4s);
    }, 5s);
    auto [rc, err] = starttls_plain_attempt(srv, 400);
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_TIMEOUT);
    CHECK(is_sentence(err));
    CHECK_FALSE(credentials_sent(srv));
    CHECK(srv.failure_text() == "");
}

} // TEST_SUITE

TEST_SUITE("hostile: STARTTLS stripping") {

TEST_CASE("STARTTLS not offered, USE=MAND: -7, nothing sent in clear, connection closed") {
    FakeServer srv([](FakeConn& c) {
        greet(c, {"AUTH PLAIN LOGIN", "8BITMIME"});
        serve_smtp(c, SmtpOpts{{"AUTH PLAIN LOGIN"}, {}, "", "", true});
    }, 5s);
    Handle h;
    h.trust_test_ca();
    h.add("SMTP=STARTTLS");
    h.add("SMTP=AUTH PLAIN", creds_json());
    int rc = h.connect(srv);
    std::string err = h.err();
    srv.join(); // before destroying the handle: the logon itself must have closed the connection
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_UNSUPPORTED);
    CHECK(is_sentence(err));
    CHECK_FALSE(credentials_sent(srv));
    CHECK_FALSE(srv.saw("MAIL FROM"));
    CHECK(client_closed(srv));
}

TEST_CASE("STARTTLS not offered, USE=OPT, AUTH LOGIN mandatory: -8 (plaintext refused), no credentials") {
    FakeServer srv([](FakeConn& c) {
        greet(c, {"AUTH PLAIN LOGIN"});
        serve_smtp(c, SmtpOpts{{"AUTH PLAIN LOGIN"}, {}, "", "", true});
    }, 5s);
    Handle h;
    h.trust_test_ca();
    h.add("SMTP=STARTTLS;USE=OPT");
    h.add("SMTP=AUTH LOGIN", creds_json());
    int rc = h.connect(srv);
    std::string err = h.err();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_SECURITY);
    CHECK(contains(err, "allow_plaintext"));
    CHECK_FALSE(credentials_sent(srv));
    CHECK(client_closed(srv));
    // The optional STARTTLS was skipped, so it is not in use; ask after the logon failed.
    char props[UPOP_PROPERTIES_MAX], info[UPOP_RUNTIME_INFO_MAX];
    REQUIRE(upop_get_security(h, 1, "SMTP=", props, sizeof props, info, sizeof info) == 0);
    CHECK(std::string(info).rfind("INUSE=FALSE", 0) == 0);
}

TEST_CASE("a server that pretends not to speak ESMTP (EHLO refused) cannot strip a mandatory STARTTLS") {
    FakeServer srv([](FakeConn& c) {
        c.send("220 fake.example SMTP\r\n");
        c.expect("EHLO");
        c.send("500 5.5.1 Command unrecognized\r\n");
        serve_smtp(c, SmtpOpts{{}, {}, "", "", true});
    }, 5s);
    auto [rc, err] = starttls_plain_attempt(srv);
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_UNSUPPORTED);
    CHECK(is_sentence(err));
    CHECK_FALSE(credentials_sent(srv));
}

TEST_CASE("STARTTLS refused (454 / 501 / 554 / a wrong code): -8, no plaintext continuation") {
    for (std::string use : {"", ";USE=OPT"}) {
        for (std::string reply : {"454 4.7.0 TLS not available due to temporary reason\r\n",
                                  "501 5.5.4 Syntax error\r\n", "554 5.7.0 No\r\n", "250 2.0.0 OK\r\n",
                                  "220-2.0.0 go\r\n454 4.7.0 changed my mind\r\n"}) {
            CAPTURE(use);
            CAPTURE(reply);
            FakeServer srv([reply](FakeConn& c) {
                greet(c, {"STARTTLS", "AUTH PLAIN LOGIN"});
                c.expect("STARTTLS");
                c.send(reply);
                serve_smtp(c, SmtpOpts{{"AUTH PLAIN LOGIN"}, {}, "", "", true});
            }, 5s);
            Handle h;
            h.trust_test_ca();
            h.add("SMTP=STARTTLS" + use);
            h.add("SMTP=AUTH PLAIN", creds_gold(/*allow_plaintext=*/false));
            int rc = h.connect(srv);
            std::string err = h.err();
            srv.join();
            INFO("last_error: " << err << " | server: " << srv.failure_text());
            CHECK(rc == UPOP_E_SECURITY);
            CHECK(is_sentence(err));
            CHECK_FALSE(credentials_sent(srv));
            CHECK_FALSE(srv.saw("MAIL FROM"));
            CHECK(srv.count("EHLO") + srv.count("HELO") == 1);
            CHECK(client_closed(srv));
        }
    }
}

} // TEST_SUITE

TEST_SUITE("hostile: nothing learned before TLS is used after it") {

namespace {
/** Pre-TLS EHLO offers AUTH PLAIN only, post-TLS EHLO offers AUTH LOGIN only. The first
 *  command inside TLS must be EHLO. */
FakeServer::Script split_caps() {
    return [](FakeConn& c) {
        const TestCerts& certs = make_test_certs();
        greet(c, {"PIPELINING", "STARTTLS", "AUTH PLAIN"});
        c.expect("STARTTLS");
        c.send("220 2.0.0 Ready to start TLS\r\n");
        if (!c.start_tls(certs.server_crt, certs.server_key)) return;
        c.expect("EHLO");
        c.send(ehlo_reply({"AUTH LOGIN", "8BITMIME"}));
        serve_smtp(c, SmtpOpts{{"AUTH LOGIN", "8BITMIME"}, {}, "", "", true});
    };
}
} // namespace

TEST_CASE("a mechanism offered only before TLS is not supported after it: AUTH PLAIN MAND -> -7") {
    FakeServer srv(split_caps(), 5s);
    auto [rc, err] = starttls_plain_attempt(srv);
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_UNSUPPORTED);
    CHECK(is_sentence(err));
    CHECK_FALSE(credentials_sent(srv));
    CHECK(srv.count("EHLO") == 2);
    CHECK(srv.failure_text() == "");
}

TEST_CASE("the post-TLS capabilities are used: AUTH LOGIN offered only after TLS succeeds") {
    FakeServer srv(split_caps(), 5s);
    Handle h;
    REQUIRE(upop_set_option(h, "ehlo_domain", "client.example") == 0);
    h.trust_test_ca();
    h.add("SMTP=STARTTLS");
    h.add("SMTP=AUTH LOGIN", creds_json());
    int rc = h.connect(srv);
    std::string err = h.err();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == 0);
    char props[UPOP_PROPERTIES_MAX], info[UPOP_RUNTIME_INFO_MAX];
    REQUIRE(upop_get_security(h, 1, "SMTP=", props, sizeof props, info, sizeof info) == 0);
    CHECK(std::string(props) == "SMTP=STARTTLS");
    CHECK(std::string(info).rfind("INUSE=TRUE", 0) == 0);
    REQUIRE(upop_get_security(h, 2, "SMTP=", props, sizeof props, info, sizeof info) == 0);
    CHECK(std::string(props) == "SMTP=AUTH LOGIN");
    CHECK(std::string(info).rfind("INUSE=TRUE", 0) == 0);
    CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    h.close();
    srv.join();
    auto lines = srv.lines();
    std::vector<std::string> want{"EHLO client.example", "STARTTLS",   "EHLO client.example",
                                  "AUTH LOGIN",          b64(kUser), b64(kPass),
                                  "QUIT"};
    CHECK(lines == want);
    CHECK(srv.failure_text() == "");
}

} // TEST_SUITE

TEST_SUITE("hostile: capability parsing and TLS twice") {

TEST_CASE("the first EHLO line is the server's name, and look-alike keywords are not STARTTLS: -7") {
    for (std::vector<std::string> reply :
         {std::vector<std::string>{"250-STARTTLS\r\n", "250 AUTH PLAIN\r\n"},
          std::vector<std::string>{"250-fake.example\r\n", "250-X-STARTTLS\r\n", "250-STARTTLSX\r\n",
                                   "250-NOSTARTTLS\r\n", "250-AUTH STARTTLS\r\n", "250 8BITMIME STARTTLS\r\n"}}) {
        std::string joined;
        for (auto& l : reply) joined += l;
        CAPTURE(joined);
        FakeServer srv([joined](FakeConn& c) {
            c.send("220 fake.example ESMTP\r\n");
            c.expect("EHLO");
            c.send(joined);
            serve_smtp(c, SmtpOpts{{"AUTH PLAIN"}, {}, "", "", true});
        }, 5s);
        auto [rc, err] = starttls_plain_attempt(srv);
        INFO("last_error: " << err << " | server: " << srv.failure_text());
        CHECK(rc == UPOP_E_UNSUPPORTED);
        CHECK_FALSE(credentials_sent(srv));
    }
}

TEST_CASE("look-alike SASL mechanism names do not make AUTH PLAIN supported: -7") {
    FakeServer srv([](FakeConn& c) {
        greet(c, {"AUTH PLAINX XPLAIN LOGIN-PLAIN", "AUTH=PLAIN-CLIENT-TOKEN", "PLAIN"});
        serve_smtp(c, SmtpOpts{{}, {}, "", "", true});
    }, 5s);
    Handle h;
    h.add("SMTP=AUTH PLAIN", creds_gold(/*allow_plaintext=*/true));
    int rc = h.connect(srv);
    std::string err = h.err();
    h.close();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_UNSUPPORTED);
    CHECK_FALSE(credentials_sent(srv));
}

TEST_CASE("TLS is never started twice: a second STARTTLS advertised inside TLS is not used") {
    const TestCerts& certs = make_test_certs();
    FakeServer srv([&](FakeConn& c) {
        greet(c, {"STARTTLS"});
        // Inside TLS the server offers STARTTLS again.
        serve_smtp(c, SmtpOpts{{"STARTTLS"}, {"STARTTLS", "AUTH PLAIN"}, certs.server_crt, certs.server_key, true});
    }, 5s);
    Handle h;
    h.trust_test_ca();
    h.add("SMTP=STARTTLS");
    h.add("SMTP=STARTTLS");
    int rc = h.connect(srv);
    std::string err = h.err();
    h.close();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK((rc == UPOP_E_SECURITY || rc == UPOP_E_UNSUPPORTED));
    CHECK(is_sentence(err));
    CHECK(srv.count("STARTTLS") == 1);
}

TEST_CASE("STARTTLS on an implicit TLS: connection is refused without sending STARTTLS") {
    const TestCerts& certs = make_test_certs();
    FakeServer srv([](FakeConn& c) {
        c.send("220 fake.example ESMTP over TLS\r\n");
        serve_smtp(c, SmtpOpts{{"STARTTLS", "AUTH PLAIN"}, {}, "", "", true});
    }, TlsOpts{certs.server_crt, certs.server_key}, 5s);
    Handle h;
    h.trust_test_ca();
    h.add("SMTP=STARTTLS");
    int rc = h.connect_tls(srv);
    std::string err = h.err();
    h.close();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK((rc == UPOP_E_SECURITY || rc == UPOP_E_UNSUPPORTED));
    CHECK(is_sentence(err));
    CHECK_FALSE(srv.saw("STARTTLS"));
}

} // TEST_SUITE
