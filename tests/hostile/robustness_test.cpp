// robustness_test.cpp — broken replies (huge lines, endless continuations, NUL bytes, dropped
// connections, garbage and refusing greetings) end in a negative status with a sentence, never a
// crash or a hang; and the session rules around a live connection (-3, HELO fallback).
#include "hostile/support.hpp"

#include <string>

using namespace hostile;
using namespace std::string_literals;

namespace {

struct Outcome {
    int rc;
    std::string err;
    std::string server;
};

/** Runs a logon (no drivers, 2 s deadline) against script. */
Outcome logon(FakeServer::Script script) {
    FakeServer srv(std::move(script), 5s);
    Handle h(2000);
    int rc = h.connect(srv);
    Outcome o{rc, h.err(), ""};
    h.close();
    srv.join();
    o.server = srv.failure_text();
    return o;
}

std::string many_lines(std::size_t n) {
    std::string s = "250-fake.example\r\n";
    for (std::size_t i = 0; i < n; ++i) s += "250-X-FILLER-" + std::to_string(i) + "\r\n";
    return s + "250 8BITMIME\r\n";
}

} // namespace

TEST_SUITE("hostile: robustness") {

TEST_CASE("a 100 KB reply line is refused with a sentence") {
    SUBCASE("greeting") {
        Outcome o = logon([](FakeConn& c) {
            c.send("220 " + std::string(100 * 1024, 'a') + "\r\n");
            serve_smtp(c, SmtpOpts{});
        });
        INFO("last_error: " << o.err);
        CHECK(o.rc < 0);
        CHECK(is_sentence(o.err));
    }
    SUBCASE("EHLO reply") {
        Outcome o = logon([](FakeConn& c) {
            c.send("220 fake.example ESMTP\r\n");
            c.expect("EHLO");
            c.send("250-fake.example\r\n250 " + std::string(100 * 1024, 'b') + "\r\n");
            serve_smtp(c, SmtpOpts{});
        });
        INFO("last_error: " << o.err);
        CHECK(o.rc < 0);
        CHECK(is_sentence(o.err));
    }
}

TEST_CASE("an EHLO reply with 10,000 continuation lines is refused with a sentence") {
    Outcome o = logon([](FakeConn& c) {
        c.send("220 fake.example ESMTP\r\n");
        c.expect("EHLO");
        c.send(many_lines(10000));
        serve_smtp(c, SmtpOpts{});
    });
    INFO("last_error: " << o.err);
    CHECK(o.rc < 0);
    CHECK(is_sentence(o.err));
}

TEST_CASE("NUL bytes in a reply are refused with a sentence") {
    SUBCASE("greeting") {
        Outcome o = logon([](FakeConn& c) {
            c.send(std::string("220 fake.example\0ESMTP\r\n", 24));
            serve_smtp(c, SmtpOpts{});
        });
        INFO("last_error: " << o.err);
        CHECK(o.rc < 0);
        CHECK(is_sentence(o.err));
    }
    SUBCASE("EHLO reply") {
        Outcome o = logon([](FakeConn& c) {
            c.send("220 fake.example ESMTP\r\n");
            c.expect("EHLO");
            c.send(std::string("250-fake.example\r\n250 AUTH\0PLAIN\r\n", 34));
            serve_smtp(c, SmtpOpts{});
        });
        INFO("last_error: " << o.err);
        CHECK(o.rc < 0);
        CHECK(is_sentence(o.err));
    }
}

TEST_CASE("the connection dropped mid-reply is a network error (-9) with a sentence") {
    SUBCASE("before the greeting") {
        Outcome o = logon([](FakeConn& c) { c.close(); });
        INFO("last_error: " << o.err);
        CHECK(o.rc == UPOP_E_NETWORK);
        CHECK(is_sentence(o.err));
    }
    SUBCASE("inside the greeting") {
        Outcome o = logon([](FakeConn& c) {
            c.send("220 fake.exa");
            c.close();
        });
        INFO("last_error: " << o.err);
        CHECK(o.rc == UPOP_E_NETWORK);
        CHECK(is_sentence(o.err));
    }
    SUBCASE("inside a multi-line EHLO reply") {
        Outcome o = logon([](FakeConn& c) {
            c.send("220 fake.example ESMTP\r\n");
            c.expect("EHLO");
            c.send("250-fake.example\r\n250-PIPEL");
            c.close();
        });
        INFO("last_error: " << o.err);
        CHECK(o.rc == UPOP_E_NETWORK);
        CHECK(is_sentence(o.err));
    }
    SUBCASE("after a complete continuation line") {
        Outcome o = logon([](FakeConn& c) {
            c.send("220 fake.example ESMTP\r\n");
            c.expect("EHLO");
            c.send("250-fake.example\r\n");
            c.close();
        });
        INFO("last_error: " << o.err);
        CHECK(o.rc == UPOP_E_NETWORK);
        CHECK(is_sentence(o.err));
    }
}

TEST_CASE("the connection dropped during the STARTTLS handshake fails the logon, credentials unsent") {
    FakeServer srv([](FakeConn& c) {
        greet(c, {"STARTTLS", "AUTH PLAIN"});
        c.expect("STARTTLS");
        c.send("220 go ahead\r\n");
        c.close();
    }, 5s);
    Handle h(2000);
    h.trust_test_ca();
    h.add("SMTP=STARTTLS");
    h.add("SMTP=AUTH PLAIN", creds_json());
    int rc = h.connect(srv);
    std::string err = h.err();
    h.close();
    srv.join();
    INFO("last_error: " << err);
    CHECK(rc < 0);
    CHECK(rc != UPOP_E_TIMEOUT);
    CHECK(is_sentence(err));
    CHECK_FALSE(credentials_sent(srv));
}

TEST_CASE("a garbage or refusing greeting fails the logon with -8 and a sentence") {
    for (std::string greeting : {std::string("\x16\x03\x01\x02\x00garbage\r\n", 14), std::string("HTTP/1.1 400 Bad Request\r\n"),
                                 std::string("hello\r\n"), std::string("2200 too long a code\r\n"),
                                 std::string("421 4.3.2 Service not available, closing channel\r\n"),
                                 std::string("450 busy\r\n"), std::string("554 5.3.2 No SMTP service here\r\n")}) {
        CAPTURE(greeting);
        Outcome o = logon([greeting](FakeConn& c) {
            c.send(greeting);
            serve_smtp(c, SmtpOpts{});
        });
        INFO("last_error: " << o.err);
        CHECK(o.rc == UPOP_E_SECURITY);
        CHECK(is_sentence(o.err));
    }
}

TEST_CASE("positive control: a multi-line 220 greeting and a plain EHLO logon succeed") {
    FakeServer srv([](FakeConn& c) {
        c.send("220-fake.example ESMTP\r\n220 welcome\r\n");
        c.expect("EHLO");
        c.send(ehlo_reply({"PIPELINING", "8BITMIME"}));
        serve_smtp(c, SmtpOpts{{"PIPELINING", "8BITMIME"}, {}, "", "", true});
    }, 5s);
    Handle h;
    int rc = h.connect(srv);
    INFO("last_error: " << h.err());
    CHECK(rc == 0);
    CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    h.close();
    srv.join();
    CHECK(srv.failure_text() == "");
}

} // TEST_SUITE

TEST_SUITE("hostile: session rules") {

TEST_CASE("upop_set_security during a connected SMTP session is refused with -3") {
    FakeServer srv([](FakeConn& c) {
        greet(c, {"STARTTLS", "AUTH PLAIN"});
        serve_smtp(c, SmtpOpts{{"STARTTLS", "AUTH PLAIN"}, {}, "", "", true});
    }, 5s);
    Handle h;
    REQUIRE(h.connect(srv) == 0);
    CHECK(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_E_ACTIVE);
    CHECK(is_sentence(h.err()));
    CHECK(upop_set_security(h, "SMTP=AUTH PLAIN", creds_json().c_str()) == UPOP_E_ACTIVE);
    // Nothing was appended.
    char props[UPOP_PROPERTIES_MAX], info[UPOP_RUNTIME_INFO_MAX];
    CHECK(upop_get_security(h, 1, "SMTP=", props, sizeof props, info, sizeof info) == UPOP_E_INIT);
    // Logging on again while logged on is -3 as well.
    CHECK(h.connect(srv) == UPOP_E_ACTIVE);
    CHECK(is_sentence(h.err()));
    // The POP context is another lifetime and can still be changed.
    CHECK(upop_set_security(h, "POP=STARTTLS", "") == 0);
    CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    // After the lifetime the SMTP context can be set again.
    CHECK(upop_set_security(h, "SMTP=STARTTLS", "") == 0);
    h.close();
    srv.join();
    CHECK(srv.count("STARTTLS") == 0);
    CHECK(srv.failure_text() == "");
}

TEST_CASE("EHLO rejected with 502: HELO fallback, logon without drivers succeeds") {
    FakeServer srv([](FakeConn& c) {
        c.send("220 fake.example old SMTP\r\n");
        c.expect("EHLO");
        c.send("502 5.5.2 Command not implemented\r\n");
        c.expect("HELO");
        c.send("250 fake.example\r\n");
        serve_smtp(c, SmtpOpts{});
    }, 5s);
    Handle h;
    int rc = h.connect(srv);
    INFO("last_error: " << h.err());
    CHECK(rc == 0);
    CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    h.close();
    srv.join();
    auto lines = srv.lines();
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].rfind("EHLO ", 0) == 0);
    CHECK(lines[1].rfind("HELO ", 0) == 0);
    CHECK(lines[2] == "QUIT");
    CHECK(srv.failure_text() == "");
}

TEST_CASE("ListMail: a NUL byte in a server's UIDL or header value does not cut the list short") {
    // Found by fuzz_poplist: the C API returns the list as a NUL-terminated string, so a NUL the
    // server put into a value hid every item after it while the count still said 2.
    FakeServer srv([](FakeConn& c) {
        pop_logon(c, false);
        c.expect("STAT");
        c.send("+OK 2 300\r\n");
        c.expect("LIST");
        c.send("+OK\r\n1 100\r\n2 200\r\n.\r\n");
        c.expect("UIDL");
        c.send("+OK\r\n1 uid\0one\r\n2 uid-two\r\n.\r\n"s);
        c.expect("TOP 1 0");
        c.send("+OK\r\nSubject: first\0hidden\r\n.\r\n"s);
        c.expect("TOP 2 0");
        c.send("+OK\r\nSubject: second\r\n.\r\n");
        c.wait_for_close();
    }, 5s);
    Handle h(2000);
    REQUIRE(upop_set_option(h, "allow_plaintext", "true") == 0);
    REQUIRE(upop_connect(h, UPOP_POP, srv.conn().c_str(), "u", "p") == 0);
    char list[4096];
    int rc = upop_list_mail(h, list, sizeof list);
    INFO("last_error: " << h.err() << " list: " << list);
    CHECK(rc == 2);
    std::string out(list);
    CHECK(out.find("NMB=2") != std::string::npos);
    CHECK(out.find("SUBJECT=second") != std::string::npos);
    CHECK(out.find("UIDL=uid-two") != std::string::npos);
    h.close();
    srv.join();
    CHECK(srv.failure_text() == "");
}

TEST_CASE("GetRawMail: an absurd size in the LIST reply allocates nothing for it") {
    // Found by fuzz_poplist: the reply's octet count (saturating at 2^64-1) went unchecked into
    // a reserve(), an allocation of exabytes.
    FakeServer srv([](FakeConn& c) {
        pop_logon(c, false);
        c.expect("LIST 1");
        c.send("+OK 1 377777777777777777777777777777\r\n");
        c.expect("RETR 1");
        c.send("+OK\r\nSubject: small\r\n\r\nbody\r\n.\r\n");
        c.wait_for_close();
    }, 5s);
    Handle h(2000);
    REQUIRE(upop_set_option(h, "allow_plaintext", "true") == 0);
    REQUIRE(upop_connect(h, UPOP_POP, srv.conn().c_str(), "u", "p") == 0);
    char msg[256];
    int rc = upop_get_raw_mail(h, 1, 0, msg, sizeof msg);
    INFO("last_error: " << h.err());
    CHECK(rc == 0);
    CHECK(std::string(msg) == "Subject: small\r\n\r\nbody\r\n");
    h.close();
    srv.join();
    CHECK(srv.failure_text() == "");
}

} // TEST_SUITE
