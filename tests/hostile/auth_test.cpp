// auth_test.cpp — credentials never travel in clear unless the user opted in, a refused AUTH is
// final (no fallback, connection closed, context used), and secrets never reach the trace or
// an error message (SPEC §2.1–§2.3).
#include "hostile/support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

using namespace hostile;

TEST_SUITE("hostile: plaintext credentials") {

TEST_CASE("AUTH LOGIN / AUTH PLAIN on a plain connection: -8 naming allow_plaintext, nothing sent") {
    for (std::string driver : {"AUTH LOGIN", "AUTH PLAIN"}) {
        CAPTURE(driver);
        FakeServer srv([](FakeConn& c) {
            greet(c, {"AUTH PLAIN LOGIN"});
            serve_smtp(c, SmtpOpts{{"AUTH PLAIN LOGIN"}, {}, "", "", true});
        }, 5s);
        Handle h;
        h.add("SMTP=" + driver, creds_json());
        int rc = h.connect(srv);
        std::string err = h.err();
        srv.join();
        INFO("last_error: " << err << " | server: " << srv.failure_text());
        CHECK(rc == UPOP_E_SECURITY);
        CHECK(is_sentence(err));
        CHECK(contains(err, "allow_plaintext"));
        CHECK_FALSE(contains(err, kPass));
        CHECK_FALSE(credentials_sent(srv));
        CHECK(client_closed(srv));
    }
}

TEST_CASE("with allow_plaintext=true the user opted in: AUTH LOGIN runs on the plain connection") {
    FakeServer srv([](FakeConn& c) {
        greet(c, {"AUTH PLAIN LOGIN"});
        serve_smtp(c, SmtpOpts{{"AUTH PLAIN LOGIN"}, {}, "", "", true});
    }, 5s);
    Handle h;
    h.add("SMTP=AUTH LOGIN", creds_gold(/*allow_plaintext=*/true));
    int rc = h.connect(srv);
    std::string err = h.err();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == 0);
    CHECK(err.empty());
    CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    h.close();
    srv.join();
    auto lines = srv.lines();
    REQUIRE(lines.size() == 5);
    CHECK(lines[0].rfind("EHLO ", 0) == 0);
    CHECK(std::vector<std::string>(lines.begin() + 1, lines.end()) ==
          std::vector<std::string>{"AUTH LOGIN", b64(kUser), b64(kPass), "QUIT"});
    CHECK(srv.failure_text() == "");
}

} // TEST_SUITE

TEST_SUITE("hostile: refused authentication") {

TEST_CASE("AUTH refused with 535: -8, reply 535, no fallback, connection closed, context used") {
    FakeServer srv([](FakeConn& c) {
        greet(c, {"AUTH LOGIN PLAIN CRAM-MD5"});
        c.expect("AUTH LOGIN");
        c.send("334 VXNlcm5hbWU6\r\n");
        c.read_line();
        c.send("334 UGFzc3dvcmQ6\r\n");
        c.read_line();
        c.send("535 5.7.8 Authentication credentials invalid\r\n");
        // Whatever the client does now is recorded; it must close the connection.
        serve_smtp(c, SmtpOpts{{"AUTH LOGIN PLAIN"}, {}, "", "", true});
    }, 5s);
    Handle h;
    h.add("SMTP=AUTH LOGIN", creds_gold(/*allow_plaintext=*/true));
    int rc = h.connect(srv);
    std::string err = h.err();
    CHECK(rc == UPOP_E_SECURITY);
    CHECK(is_sentence(err));
    CHECK_FALSE(contains(err, kPass));
    CHECK_FALSE(contains(err, b64(kPass)));
    CHECK(h.reply_code() == 535);
    char text[UPOP_REPLY_MAX] = {0};
    int32_t code = 0;
    CHECK(upop_get_smtp_response(h, &code, text, sizeof text) == 0);
    CHECK(contains(text, "Authentication credentials invalid"));

    srv.join(); // the connection must already be closed (the handle is still alive)
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(client_closed(srv));
    CHECK(srv.count("AUTH") == 1); // no fallback to PLAIN or CRAM-MD5 after the refusal
    CHECK_FALSE(srv.saw("MAIL FROM"));

    // Not logged on any more.
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_E_NOT_LOGGED_ON);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_E_NOT_LOGGED_ON);

    // The context counts as used: the next SetSecurity starts a new one.
    char props[UPOP_PROPERTIES_MAX], info[UPOP_RUNTIME_INFO_MAX];
    REQUIRE(upop_get_security(h, 1, "SMTP=", props, sizeof props, info, sizeof info) == 0);
    CHECK(std::string(props) == "SMTP=AUTH LOGIN");
    h.add("SMTP=AUTH PLAIN", creds_json());
    REQUIRE(upop_get_security(h, 1, "SMTP=", props, sizeof props, info, sizeof info) == 0);
    CHECK(std::string(props) == "SMTP=AUTH PLAIN");
    CHECK(upop_get_security(h, 2, "SMTP=", props, sizeof props, info, sizeof info) == UPOP_E_INIT);
}

TEST_CASE("AUTH PLAIN refused with 535 after STARTTLS: -8 and 535") {
    const TestCerts& certs = make_test_certs();
    FakeServer srv([&](FakeConn& c) {
        greet(c, {"STARTTLS", "AUTH PLAIN LOGIN"});
        serve_smtp(c, SmtpOpts{{"STARTTLS"}, {"AUTH PLAIN LOGIN"}, certs.server_crt, certs.server_key, false});
    }, 5s);
    Handle h;
    h.trust_test_ca();
    h.add("SMTP=STARTTLS");
    h.add("SMTP=AUTH PLAIN", creds_json());
    int rc = h.connect(srv);
    std::string err = h.err();
    CHECK(rc == UPOP_E_SECURITY);
    CHECK(is_sentence(err));
    CHECK(h.reply_code() == 535);
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(client_closed(srv));
    CHECK(srv.count("AUTH") == 1);
}

} // TEST_SUITE

TEST_SUITE("hostile: secrets in the trace") {

namespace {

void check_trace_clean(const std::vector<std::string>& trace) {
    REQUIRE_FALSE(trace.empty());
    bool saw_ehlo = false;
    for (auto& l : trace) {
        if (contains(l, "EHLO")) saw_ehlo = true;
        for (auto& s : secret_forms()) {
            INFO("trace line: " << l);
            CHECK_FALSE(contains(l, s));
        }
    }
    CHECK(saw_ehlo); // the trace really shows the protocol
}

} // namespace

TEST_CASE("a successful STARTTLS + AUTH PLAIN / AUTH LOGIN logon never shows the password in the trace") {
    const TestCerts& certs = make_test_certs();
    for (std::string driver : {"AUTH PLAIN", "AUTH LOGIN"}) {
        CAPTURE(driver);
        FakeServer srv([&](FakeConn& c) {
            greet(c, {"STARTTLS"});
            serve_smtp(c, SmtpOpts{{"STARTTLS"}, {"AUTH PLAIN LOGIN"}, certs.server_crt, certs.server_key, true});
        }, 5s);
        Trace trace;
        Handle h;
        REQUIRE(upop_set_trace(h, &Trace::cb, &trace) == 0);
        h.trust_test_ca();
        h.add("SMTP=STARTTLS");
        h.add("SMTP=" + driver, creds_json());
        int rc = h.connect(srv);
        INFO("last_error: " << h.err());
        CHECK(rc == 0);
        CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
        h.close();
        srv.join();
        INFO("server: " << srv.failure_text());
        // The credentials did travel (inside TLS), so the trace had them to hide.
        bool sent = false;
        for (auto& s : secret_forms()) sent = sent || srv.received(s);
        CHECK(sent);
        check_trace_clean(trace.copy());
    }
}

TEST_CASE("a refused AUTH LOGIN with allow_plaintext keeps the password out of the trace and the error") {
    FakeServer srv([](FakeConn& c) {
        greet(c, {"AUTH LOGIN"});
        serve_smtp(c, SmtpOpts{{"AUTH LOGIN"}, {}, "", "", false});
    }, 5s);
    Trace trace;
    Handle h;
    REQUIRE(upop_set_trace(h, &Trace::cb, &trace) == 0);
    h.add("SMTP=AUTH LOGIN", creds_gold(true));
    int rc = h.connect(srv);
    std::string err = h.err();
    h.close();
    srv.join();
    CHECK(rc == UPOP_E_SECURITY);
    for (auto& s : secret_forms()) CHECK_FALSE(contains(err, s));
    check_trace_clean(trace.copy());
}

TEST_CASE("the UPOPMAIL_TRACE file never shows the password either") {
    const TestCerts& certs = make_test_certs();
    std::string path = certs.dir + "/trace-" + std::to_string(::getpid()) + ".log";
    ::setenv("UPOPMAIL_TRACE", path.c_str(), 1);
    {
        FakeServer srv([&](FakeConn& c) {
            greet(c, {"STARTTLS"});
            serve_smtp(c, SmtpOpts{{"STARTTLS"}, {"AUTH PLAIN LOGIN"}, certs.server_crt, certs.server_key, true});
        }, 5s);
        Handle h;
        h.trust_test_ca();
        h.add("SMTP=STARTTLS");
        h.add("SMTP=AUTH PLAIN", creds_json());
        CHECK(h.connect(srv) == 0);
        CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
        h.close();
        srv.join();
    }
    ::unsetenv("UPOPMAIL_TRACE");
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        WARN_MESSAGE(false, "UPOPMAIL_TRACE set at run time produced no file (it may be read once per process)");
        return;
    }
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(contains(text, "EHLO"));
    for (auto& s : secret_forms()) CHECK_FALSE(contains(text, s));
}

} // TEST_SUITE
