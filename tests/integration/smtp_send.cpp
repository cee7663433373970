// Sending through real Dovecot submission (relayed by Postfix, delivered over LMTP into the
// test maildir), with the security drivers STARTTLS, AUTH LOGIN and AUTH PLAIN.
// Public C ABI only; the servers come from tests/servers/ via scripts/check.
#include "mailtest.hpp"

using namespace mailtest;

namespace {

std::string base64(const std::string &in) {
    static const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += tab[v >> 18];
        out += tab[(v >> 12) & 63];
        out += tab[(v >> 6) & 63];
        out += tab[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16;
        out += tab[v >> 18];
        out += tab[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += tab[v >> 18];
        out += tab[(v >> 12) & 63];
        out += tab[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string trim_newlines(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s;
}

// A body that exercises the transport: lines starting with '.' (dot-stuffing), a line of
// only "." (which would end DATA if not stuffed), and a line far over SMTP's 998 limit.
std::string tricky_body(const std::string &token) {
    std::string long_line;
    for (int i = 0; long_line.size() < 1500; ++i)
        long_line += "word" + std::to_string(i) + " ";
    long_line += "END";
    return "Hello " + token + "\n.hidden\n..two dots\n.\nafter the lone dot\n" + long_line +
           "\nlast line\n";
}

// Connects with the context already set up; fails the test with the library's sentence.
void connect_ok(Handle &h, const std::string &connection) {
    int rc = upop_connect(h, UPOP_SMTP, connection.c_str(), "", "");
    REQUIRE_MESSAGE(rc == UPOP_OK, "upop_connect(" << connection << ") = " << rc << ": "
                                                   << h.error() << "\ntrace:\n" << h.trace_text());
}

// Sends the tricky body and checks it arrives intact; returns the decoded message.
Delivered send_and_check(Handle &h, const std::string &what) {
    const std::string token = unique_token(what.c_str());
    const std::string subject = what + " " + token;
    const std::string body = tricky_body(token);
    int rc = send_message(h, subject, body);
    REQUIRE_MESSAGE(rc == UPOP_OK, "upop_send = " << rc << ": " << h.error());
    Delivered d = delivered(token);
    CHECK(d.subject == subject);
    CHECK(d.from.find(env().addr) != std::string::npos);
    CHECK(d.to.find(env().addr) != std::string::npos);
    CHECK_MESSAGE(trim_newlines(d.body) == trim_newlines(body),
                  "delivered body differs; raw message in " << d.path << ":\n" << d.raw);
    return d;
}

void check_trace_has_no_secret(const Handle &h) {
    const std::string t = h.trace_text();
    const std::string &user = env().user, &pass = env().pass;
    const std::string secrets[] = {
        pass,
        base64(pass),                                   // AUTH LOGIN password line
        base64(std::string(1, '\0') + user + '\0' + pass),  // AUTH PLAIN, no authzid
        base64(user + '\0' + user + '\0' + pass),        // AUTH PLAIN, authzid = user
    };
    for (const auto &s : secrets)
        CHECK_MESSAGE(t.find(s) == std::string::npos,
                      "the trace contains a secret (" << s << "):\n" << t);
}

bool trace_sent(const Handle &h, const std::string &prefix) {
    for (const auto &l : h.trace)
        if (l.direction == '>' && l.text.compare(0, prefix.size(), prefix) == 0)
            return true;
    return false;
}

}  // namespace

TEST_CASE("STARTTLS + AUTH LOGIN on submission delivers the message intact") {
    Handle h;
    REQUIRE(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK);
    REQUIRE_MESSAGE(upop_set_security(h, "SMTP=AUTH LOGIN", credentials().c_str()) == UPOP_OK,
                    h.error());
    connect_ok(h, submission());
    send_and_check(h, "starttls-login");
    CHECK(h.runtime_info(1).rfind("INUSE=TRUE", 0) == 0);
    CHECK(h.runtime_info(2).rfind("INUSE=TRUE", 0) == 0);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);

    // the trace shows the conversation in both directions and the library's own events
    CHECK(h.trace_has('>'));
    CHECK(h.trace_has('<'));
    CHECK(h.trace_has('*'));
    CHECK(trace_sent(h, "STARTTLS"));
    CHECK(trace_sent(h, "AUTH LOGIN"));
}

TEST_CASE("STARTTLS + AUTH PLAIN on submission delivers; both drivers report INUSE=TRUE") {
    Handle h;
    REQUIRE(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK);
    REQUIRE_MESSAGE(upop_set_security(h, "SMTP=AUTH PLAIN", credentials().c_str()) == UPOP_OK,
                    h.error());
    connect_ok(h, submission());
    send_and_check(h, "starttls-plain");

    char props[UPOP_PROPERTIES_MAX], rt[UPOP_RUNTIME_INFO_MAX];
    REQUIRE(upop_get_security(h, 1, "SMTP=", props, sizeof props, rt, sizeof rt) == UPOP_OK);
    CHECK(std::string(props) == "SMTP=STARTTLS");
    CHECK_MESSAGE(std::string(rt).rfind("INUSE=TRUE", 0) == 0, rt);
    REQUIRE(upop_get_security(h, 2, "SMTP=", props, sizeof props, rt, sizeof rt) == UPOP_OK);
    CHECK(std::string(props) == "SMTP=AUTH PLAIN");
    CHECK_MESSAGE(std::string(rt).rfind("INUSE=TRUE", 0) == 0, rt);
    CHECK(upop_get_security(h, 3, "SMTP=", props, sizeof props, rt, sizeof rt) == UPOP_E_INIT);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    CHECK(trace_sent(h, "AUTH PLAIN"));
}

TEST_CASE("implicit TLS (submissions) + AUTH PLAIN with GOLD parameters") {
    Handle h;
    const std::string params = "user=" + env().user + UPOP_SEP_STR "password=" + env().pass;
    REQUIRE_MESSAGE(upop_set_security(h, "SMTP=PLAIN", params.c_str()) == UPOP_OK, h.error());
    connect_ok(h, submissions());
    send_and_check(h, "tls-plain");
    CHECK(h.runtime_info(1).rfind("INUSE=TRUE", 0) == 0);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    CHECK_FALSE(trace_sent(h, "STARTTLS"));
}

TEST_CASE("an optional STARTTLS on an implicit-TLS port is skipped, AUTH still runs") {
    // Dovecot offers no STARTTLS on the implicit-TLS port: USE=OPT skips the driver.
    Handle h;
    REQUIRE(upop_set_security(h, "SMTP=STARTTLS" UPOP_SEP_STR "USE=OPT", "") == UPOP_OK);
    REQUIRE(upop_set_security(h, "SMTP=AUTH PLAIN;USE=MAND", credentials().c_str()) == UPOP_OK);
    connect_ok(h, submissions());
    CHECK_MESSAGE(h.runtime_info(1).rfind("INUSE=FALSE", 0) == 0, h.runtime_info(1));
    CHECK_MESSAGE(h.runtime_info(2).rfind("INUSE=TRUE", 0) == 0, h.runtime_info(2));
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
}

TEST_CASE("strict server (AUTH only after TLS, like Microsoft's) with STARTTLS + AUTH LOGIN") {
    // Dovecot "strict" on 127.0.0.2 offers AUTH only after STARTTLS; the certificate carries
    // IP:127.0.0.2, which the library checks against the connection's address. The original
    // entry-point names work as aliases, and parameters may be a ';' list.
    Handle h;
    REQUIRE(upop_set_security(h, "SMTP=UStartTLSSMTP", "") == UPOP_OK);
    const std::string params = "user=" + env().user + ";password=" + env().pass;
    REQUIRE_MESSAGE(upop_set_security(h, "SMTP=UAuthLoginSMTP", params.c_str()) == UPOP_OK,
                    h.error());
    connect_ok(h, strict_submission());
    send_and_check(h, "strict-login");
    CHECK(h.runtime_info(1).rfind("INUSE=TRUE", 0) == 0);
    CHECK(h.runtime_info(2).rfind("INUSE=TRUE", 0) == 0);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
}

TEST_CASE("AUTH LOGIN with a wrong password fails with -8 and the server's 535") {
    Handle h;
    const std::string wrong = "wrong-" + env().pass + "-x";
    REQUIRE(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK);
    REQUIRE(upop_set_security(h, "SMTP=AUTH LOGIN", credentials(wrong).c_str()) == UPOP_OK);
    int rc = upop_connect(h, UPOP_SMTP, submission().c_str(), "", "");
    const std::string error = h.error();  // the next call on h replaces it
    CHECK_MESSAGE(rc == UPOP_E_SECURITY, "rc " << rc << ": " << error);
    CHECK_FALSE(error.empty());
    CHECK(error.find(wrong) == std::string::npos);
    CHECK(h.reply_code() == 535);
    CHECK(h.trace_text().find(wrong) == std::string::npos);
    CHECK(h.trace_text().find(base64(wrong)) == std::string::npos);
    // the session is not open
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_E_NOT_LOGGED_ON);
}

TEST_CASE("a certificate for another host name fails STARTTLS with -8, before any AUTH") {
    // The badcert instance presents a certificate for wrong.example.invalid, signed by the
    // trusted test CA: only the host-name check can catch it.
    Handle h;
    REQUIRE(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK);
    REQUIRE(upop_set_security(h, "SMTP=AUTH LOGIN", credentials().c_str()) == UPOP_OK);
    int rc = upop_connect(h, UPOP_SMTP, badcert_submission().c_str(), "", "");
    CHECK_MESSAGE(rc == UPOP_E_SECURITY, "rc " << rc << ": " << h.error());
    const std::string e = lower(h.error());
    CHECK_MESSAGE((e.find("certificate") != std::string::npos || e.find("name") != std::string::npos),
                  h.error());
    CHECK_FALSE(trace_sent(h, "AUTH"));
    check_trace_has_no_secret(h);
}

TEST_CASE("AUTH LOGIN without TLS is refused unless allow_plaintext=true") {
    SUBCASE("refused by default, naming the opt-in, without sending the credentials") {
        Handle h;
        REQUIRE(upop_set_security(h, "SMTP=AUTH LOGIN", credentials().c_str()) == UPOP_OK);
        int rc = upop_connect(h, UPOP_SMTP, submission().c_str(), "", "");
        CHECK_MESSAGE(rc == UPOP_E_SECURITY, "rc " << rc << ": " << h.error());
        CHECK_MESSAGE(h.error().find("allow_plaintext") != std::string::npos, h.error());
        CHECK_FALSE(trace_sent(h, "AUTH"));
        check_trace_has_no_secret(h);
    }
    SUBCASE("allowed with allow_plaintext=true in the driver parameters") {
        Handle h;
        const std::string params = "user=" + env().user + UPOP_SEP_STR "password=" + env().pass +
                                   UPOP_SEP_STR "allow_plaintext=true";
        REQUIRE_MESSAGE(upop_set_security(h, "SMTP=AUTH LOGIN", params.c_str()) == UPOP_OK,
                        h.error());
        connect_ok(h, submission());
        CHECK(h.runtime_info(1).rfind("INUSE=TRUE", 0) == 0);
        send_and_check(h, "plaintext-login");
        CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
        CHECK_FALSE(trace_sent(h, "STARTTLS"));
    }
}

TEST_CASE("the trace of a successful logon shows no password in any form") {
    for (const char *mech : {"SMTP=AUTH LOGIN", "SMTP=AUTH PLAIN"}) {
        CAPTURE(mech);
        Handle h;
        REQUIRE(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK);
        REQUIRE(upop_set_security(h, mech, credentials().c_str()) == UPOP_OK);
        connect_ok(h, submission());
        CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
        // the logon is in the trace (so the check below is not vacuous) ...
        CHECK(trace_sent(h, std::string(mech + 5)));
        CHECK(h.trace_text().find("235") != std::string::npos);
        // ... but the secret is not
        check_trace_has_no_secret(h);
    }
}
