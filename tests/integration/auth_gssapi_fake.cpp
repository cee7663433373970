// AUTH GSSAPI against the scripted fake server (tests/fake) acting as a real Kerberos acceptor:
// the test KDC issues the client's ticket, the fake server accepts it with the realm's service
// keytab (pop/localhost, smtp/localhost) and then misbehaves in the rounds the driver itself
// checks: a malformed or oversized token in place of the AP-REP, a security-layer message of the
// wrong length, one that offers no "no security layer", one that is not a wrap token, one that is
// too long, and success replies at the wrong moment. Every bad token must be cancelled with "*"
// and fail -8 with a sentence saying why. The well-behaved run checks the client's wrapped
// answer byte for byte (0x01, buffer size 0, authzid). Without the KDC there is no context to
// reach these rounds with, so this lives with the real-server tests.
#ifdef UPOPMAIL_TEST_GSSAPI
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include <functional>

#include "fake/fake_server.hpp"
#include "krb5.hpp"

using namespace mailtest;
using upop_fake::FakeConn;
using upop_fake::FakeServer;
using upop_fake::unb64;

namespace {

// The server side of the Kerberos context, with the realm's service keytab.
struct Acceptor {
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    std::string error;

    Acceptor() {
        std::string keytab = getenv_or("MAILTEST_KRB5_SERVICE_KEYTAB");
        gss_key_value_element_desc el = {"keytab", keytab.c_str()};
        gss_key_value_set_desc store = {1, &el};
        OM_uint32 minor;
        if (GSS_ERROR(gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, GSS_C_NO_OID_SET, GSS_C_ACCEPT,
                                            &store, &cred, nullptr, nullptr)))
            error = "cannot use the service keytab " + keytab;
    }
    ~Acceptor() {
        OM_uint32 minor;
        if (ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &ctx, GSS_C_NO_BUFFER);
        if (cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &cred);
    }
    // The AP-REP for the client's AP-REQ ("" and error set when it is refused).
    std::string accept(const std::string &token) {
        gss_buffer_desc in = {token.size(), const_cast<char *>(token.data())}, out = GSS_C_EMPTY_BUFFER;
        OM_uint32 minor, flags = 0;
        OM_uint32 major = gss_accept_sec_context(&minor, &ctx, cred, &in, GSS_C_NO_CHANNEL_BINDINGS, nullptr, nullptr,
                                                 &out, &flags, nullptr, nullptr);
        std::string rep(static_cast<const char *>(out.value), out.length);
        gss_release_buffer(&minor, &out);
        if (major != GSS_S_COMPLETE) error = "gss_accept_sec_context did not complete";
        else if (!(flags & GSS_C_MUTUAL_FLAG)) error = "the client did not ask for mutual authentication";
        return rep;
    }
    std::string wrap(const std::string &plain) {
        gss_buffer_desc in = {plain.size(), const_cast<char *>(plain.data())}, out = GSS_C_EMPTY_BUFFER;
        OM_uint32 minor;
        if (GSS_ERROR(gss_wrap(&minor, ctx, 0, GSS_C_QOP_DEFAULT, &in, nullptr, &out))) error = "gss_wrap failed";
        std::string s(static_cast<const char *>(out.value), out.length);
        gss_release_buffer(&minor, &out);
        return s;
    }
    std::string unwrap(const std::string &token) {
        gss_buffer_desc in = {token.size(), const_cast<char *>(token.data())}, out = GSS_C_EMPTY_BUFFER;
        OM_uint32 minor;
        if (GSS_ERROR(gss_unwrap(&minor, ctx, &in, &out, nullptr, nullptr))) return "<not a wrap token>";
        std::string s(static_cast<const char *>(out.value), out.length);
        gss_release_buffer(&minor, &out);
        return s;
    }
};

struct Run {
    int rc = 0;
    std::string error, failures;
    std::vector<std::string> lines;
};

// The server's part after it has the client's AP-REQ.
using Script = std::function<void(FakeConn &, Acceptor &, const std::string &ap_req)>;

// SMTP: greets, offers AUTH GSSAPI, takes the AP-REQ (in the AUTH line or after an empty 334)
// and hands it to script. The client logs on with a fresh ticket (allow_plaintext: no TLS here).
Run run_smtp(const std::string &extra_params, const Script &script) {
    std::string cc = ccache("cc-fake", true);
    Acceptor acc;
    REQUIRE_MESSAGE(acc.error.empty(), acc.error);
    FakeServer srv(
        [&](FakeConn &c) {
            c.send("220 fake ESMTP\r\n");
            c.expect("EHLO");
            c.send(upop_fake::ehlo_reply({"AUTH GSSAPI"}));
            std::string auth = c.expect("AUTH GSSAPI");
            std::string ir = auth.size() > 12 ? auth.substr(12) : "";
            if (ir.empty()) {
                c.send("334 \r\n");
                ir = c.read_line();
            }
            script(c, acc, unb64(ir));
            c.wait_for_close(std::chrono::milliseconds(3000));
        },
        std::chrono::seconds(10));
    Handle h;
    std::string params = "{\"ccache\": " + json_quote(cc) + ", \"allow_plaintext\": \"true\"" +
                         (extra_params.empty() ? "" : ", " + extra_params) + "}";
    REQUIRE_MESSAGE(upop_set_security(h, "SMTP=AUTH GSSAPI", params.c_str()) == UPOP_OK, h.error());
    Run r;
    r.rc = upop_connect(h, UPOP_SMTP, srv.conn().c_str(), "", "");
    r.error = h.error();
    if (r.rc == UPOP_OK) upop_disconnect(h, UPOP_SMTP);
    srv.join();
    r.lines = srv.lines();
    r.failures = srv.failure_text();
    if (!acc.error.empty()) r.failures += (r.failures.empty() ? "" : "; ") + acc.error;
    return r;
}

// The genuine AP-REP and the client's (empty) answer to it: the context is complete.
void complete_context(FakeConn &c, Acceptor &acc, const std::string &ap_req) {
    c.send("334 " + upop_fake::b64(acc.accept(ap_req)) + "\r\n");
    std::string last = c.read_line();
    if (!last.empty()) c.fail("the client answered the AP-REP with a token: " + last);
}

// Expects the client's "*" and answers it like a server.
void expect_cancel(FakeConn &c) {
    std::string l = c.read_line();
    if (l != "*") c.fail("expected the cancel '*', got: " + l);
    c.send("501 5.5.4 Authentication cancelled\r\n");
}

bool has(const std::string &s, const std::string &what) { return s.find(what) != std::string::npos; }

} // namespace

TEST_CASE("gssapi fake: a well-behaved exchange; the wrapped answer is 0x01, size 0, then the authzid") {
    if (!krb5_available()) return;
    for (std::string authzid : {"", "other@example.test"}) {
        CAPTURE(authzid);
        std::string answer;
        Run r = run_smtp(authzid.empty() ? "" : "\"authzid\": " + json_quote(authzid),
                         [&](FakeConn &c, Acceptor &acc, const std::string &ap_req) {
                             complete_context(c, acc, ap_req);
                             // offers all three layers, a 64 KiB buffer
                             c.send("334 " + upop_fake::b64(acc.wrap(std::string("\x07\x01\x00\x00", 4))) + "\r\n");
                             answer = acc.unwrap(unb64(c.read_line()));
                             c.send("235 2.7.0 Authentication successful\r\n");
                             c.expect("QUIT");
                             c.send("221 2.0.0 Bye\r\n");
                         });
        INFO(r.failures);
        CHECK(r.failures.empty());
        CHECK_MESSAGE(r.rc == UPOP_OK, r.error);
        CHECK(answer == std::string("\x01\x00\x00\x00", 4) + authzid);
    }
}

TEST_CASE("gssapi fake: a bad security-layer message is cancelled with '*' and fails -8") {
    if (!krb5_available()) return;
    struct Case {
        const char *what;
        std::function<std::string(Acceptor &)> message; // the 334 payload (raw bytes)
        const char *reason;
    } cases[] = {
        {"3 bytes", [](Acceptor &a) { return a.wrap(std::string("\x01\x00\x10", 3)); }, "has 3 bytes instead of 4"},
        {"5 bytes", [](Acceptor &a) { return a.wrap(std::string("\x01\x00\x10\x00\x00", 5)); },
         "has 5 bytes instead of 4"},
        {"empty", [](Acceptor &a) { return a.wrap(""); }, "has 0 bytes instead of 4"},
        {"only integrity and confidentiality", [](Acceptor &a) { return a.wrap(std::string("\x06\x00\x10\x00", 4)); },
         "does not offer \"no security layer\" (it offers the layer bits 0x06"},
        {"not wrapped", [](Acceptor &) { return std::string("\x01\x00\x10\x00", 4); }, "cannot be unwrapped"},
        {"5000 bytes", [](Acceptor &) { return std::string(5000, 'x'); }, "longer than 4096 bytes"},
    };
    for (auto &k : cases) {
        CAPTURE(k.what);
        Run r = run_smtp("", [&](FakeConn &c, Acceptor &acc, const std::string &ap_req) {
            complete_context(c, acc, ap_req);
            c.send("334 " + upop_fake::b64(k.message(acc)) + "\r\n");
            expect_cancel(c);
        });
        INFO(r.failures);
        CHECK(r.failures.empty());
        CHECK(r.rc == UPOP_E_SECURITY);
        CHECK_MESSAGE(has(r.error, k.reason), r.error);
    }
}

TEST_CASE("gssapi fake: a malformed, oversized or non-Kerberos server token in place of the AP-REP is cancelled") {
    if (!krb5_available()) return;
    struct Case {
        const char *what, *challenge, *reason;
    } cases[] = {
        {"not base64", "334 %%%not-base64%%%\r\n", "not valid base64"},
        {"oversized", nullptr, "longer than 4096 bytes"},
        {"not a Kerberos token", "334 aGVsbG8gd29ybGQ=\r\n", "mutual authentication with smtp@localhost failed"},
    };
    for (auto &k : cases) {
        CAPTURE(k.what);
        Run r = run_smtp("", [&](FakeConn &c, Acceptor &, const std::string &) {
            c.send(k.challenge ? std::string(k.challenge) : "334 " + upop_fake::b64(std::string(5000, 'A')) + "\r\n");
            expect_cancel(c);
        });
        INFO(r.failures);
        CHECK(r.failures.empty());
        CHECK(r.rc == UPOP_E_SECURITY);
        CHECK_MESSAGE(has(r.error, k.reason), r.error);
    }
}

TEST_CASE("gssapi fake: success before the exchange is complete, or without the security layer, fails") {
    if (!krb5_available()) return;
    Run early = run_smtp("", [&](FakeConn &c, Acceptor &, const std::string &) {
        c.send("235 2.7.0 Authentication successful\r\n");
    });
    CHECK(early.rc == UPOP_E_SECURITY);
    CHECK_MESSAGE(has(early.error, "success before the Kerberos exchange was complete"), early.error);

    Run nolayer = run_smtp("", [&](FakeConn &c, Acceptor &acc, const std::string &ap_req) {
        complete_context(c, acc, ap_req);
        c.send("235 2.7.0 Authentication successful\r\n");
    });
    CHECK(nolayer.rc == UPOP_E_SECURITY);
    CHECK_MESSAGE(has(nolayer.error, "without negotiating the GSSAPI security layer"), nolayer.error);

    Run refused = run_smtp("", [&](FakeConn &c, Acceptor &acc, const std::string &ap_req) {
        complete_context(c, acc, ap_req);
        c.send("535 5.7.8 Authentication failed\r\n");
    });
    CHECK(refused.rc == UPOP_E_SECURITY);
    CHECK_MESSAGE(has(refused.error, "5.7.8 Authentication failed"), refused.error);
}
#endif
