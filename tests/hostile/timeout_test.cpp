// timeout_test.cpp — a stalled server cannot hold the caller: every blocking step has a
// deadline (timeout_ms) and upop_cancel ends the blocking call from another thread (SPEC §4).
// No timing asserts beyond a generous bound that only keeps a broken client from hanging.
#include "hostile/support.hpp"

#include <future>
#include <string>

using namespace hostile;

TEST_SUITE("hostile: stalled server") {

TEST_CASE("timeout_ms=300: a server that stalls returns -4 and the connection is closed") {
    struct Stall {
        const char* name;
        std::string before; // what the server sends before it stalls
        bool read_ehlo;     // stall after reading EHLO (else before reading anything)
    };
    for (const Stall& s : {Stall{"no greeting", "", false}, Stall{"half a greeting", "220 fake.exam", false},
                           Stall{"greeting, then EHLO unanswered", "220 fake.example ESMTP\r\n", true}}) {
        CAPTURE(s.name);
        FakeServer srv([&](FakeConn& c) {
            if (!s.before.empty()) c.send(s.before);
            if (s.read_ehlo) c.expect("EHLO");
            c.wait_for_close(4s);
        }, 5s);
        Handle h(300);
        auto fut = std::async(std::launch::async, [&] { return h.connect(srv); });
        REQUIRE(fut.wait_for(5s) == std::future_status::ready);
        int rc = fut.get();
        std::string err = h.err();
        srv.join(); // the handle is still alive: the time-out itself must have closed the connection
        INFO("last_error: " << err << " | server: " << srv.failure_text());
        CHECK(rc == UPOP_E_TIMEOUT);
        CHECK(is_sentence(err));
        CHECK(srv.failure_text() == "");
        CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_E_NOT_LOGGED_ON);
    }
}

TEST_CASE("timeout_ms=300: a multi-line EHLO reply that stops half-way returns -4") {
    FakeServer srv([](FakeConn& c) {
        c.send("220 fake.example ESMTP\r\n");
        c.expect("EHLO");
        c.send("250-fake.example\r\n250-STARTTLS\r\n");
        c.wait_for_close(4s);
    }, 5s);
    Handle h(300);
    h.trust_test_ca();
    h.add("SMTP=STARTTLS");
    auto fut = std::async(std::launch::async, [&] { return h.connect(srv); });
    REQUIRE(fut.wait_for(5s) == std::future_status::ready);
    int rc = fut.get();
    std::string err = h.err();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_TIMEOUT);
    CHECK(is_sentence(err));
    CHECK_FALSE(srv.saw("STARTTLS"));
    CHECK(srv.failure_text() == "");
}

TEST_CASE("timeout_ms=300: a TLS handshake the server never answers returns -4") {
    FakeServer srv([](FakeConn& c) {
        // Implicit TLS expected by the client, but the server says nothing and reads nothing.
        c.wait_for_close(4s);
    }, 5s);
    Handle h(300);
    h.trust_test_ca();
    auto fut = std::async(std::launch::async, [&] { return h.connect_tls(srv); });
    REQUIRE(fut.wait_for(5s) == std::future_status::ready);
    int rc = fut.get();
    std::string err = h.err();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_TIMEOUT);
    CHECK(is_sentence(err));
}

TEST_CASE("upop_cancel from another thread ends a stalled logon with -4") {
    std::promise<void> stalled;
    auto stalled_f = stalled.get_future();
    FakeServer srv([&](FakeConn& c) {
        c.send("220 fake.example ESMTP\r\n");
        c.expect("EHLO");
        stalled.set_value(); // the client now waits for the EHLO reply that never comes
        c.wait_for_close(8s);
    }, 10s);
    Handle h(60000); // the default deadline: only the cancel can end this call promptly
    auto fut = std::async(std::launch::async, [&] { return h.connect(srv); });
    REQUIRE(stalled_f.wait_for(5s) == std::future_status::ready);
    CHECK(upop_cancel(h) == 0);
    bool returned = fut.wait_for(5s) == std::future_status::ready;
    CHECK_MESSAGE(returned, "upop_connect did not return within 5 s of upop_cancel");
    int rc = fut.get(); // if it did not return, this waits until the server gives up (8 s)
    std::string err = h.err();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_TIMEOUT);
    CHECK(is_sentence(err));
    CHECK(client_closed(srv));
}

TEST_CASE("upop_cancel during a stalled TLS handshake ends the logon with -4") {
    std::promise<void> stalled;
    auto stalled_f = stalled.get_future();
    FakeServer srv([&](FakeConn& c) {
        c.send("220 fake.example ESMTP\r\n");
        c.expect("EHLO");
        c.send(ehlo_reply({"STARTTLS"}));
        c.expect("STARTTLS");
        c.send("220 go ahead\r\n");
        stalled.set_value(); // ... and never answers the ClientHello
        c.wait_for_close(8s);
    }, 10s);
    Handle h(60000);
    h.trust_test_ca();
    h.add("SMTP=STARTTLS");
    auto fut = std::async(std::launch::async, [&] { return h.connect(srv); });
    REQUIRE(stalled_f.wait_for(5s) == std::future_status::ready);
    CHECK(upop_cancel(h) == 0);
    bool returned = fut.wait_for(5s) == std::future_status::ready;
    CHECK_MESSAGE(returned, "upop_connect did not return within 5 s of upop_cancel");
    int rc = fut.get();
    std::string err = h.err();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_TIMEOUT);
    CHECK(is_sentence(err));
}

TEST_CASE("a cancel requested before the call ends the next blocking call with -4, and only that one") {
    Handle h(60000);
    int rc = 0;
    {
        FakeServer stalling([](FakeConn& c) {
            c.send("220 fake.example ESMTP\r\n");
            c.wait_for_close(8s);
        }, 10s);
        CHECK(upop_cancel(h) == 0);
        auto fut = std::async(std::launch::async, [&] { return h.connect(stalling); });
        bool returned = fut.wait_for(5s) == std::future_status::ready;
        CHECK_MESSAGE(returned, "upop_connect did not return within 5 s of an earlier upop_cancel");
        rc = fut.get();
        std::string err = h.err();
        INFO("last_error: " << err);
        CHECK(rc == UPOP_E_TIMEOUT);
        CHECK(is_sentence(err));
    } // the call may end before it even connects: the server's destructor stops waiting for it

    // The cancel was used up: the next logon works.
    FakeServer good([](FakeConn& c) {
        greet(c, {"8BITMIME"});
        serve_smtp(c, SmtpOpts{{"8BITMIME"}, {}, "", "", true});
    }, 5s);
    rc = h.connect(good);
    INFO("second logon: " << h.err());
    CHECK(rc == 0);
    CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    h.close();
    good.join();
}

} // TEST_SUITE
