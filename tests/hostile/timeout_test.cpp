// timeout_test.cpp — a stalled server cannot hold the caller: every blocking step has a
// deadline (timeout_ms) and upop_cancel ends the blocking call from another thread (SPEC §4).
// No timing asserts beyond a generous bound that only keeps a broken client from hanging.
#include "hostile/support.hpp"

#include <future>
#include <memory>
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

namespace {

/** About 20 MB of 7-bit text in two bodies: more than the loopback socket buffers hold. */
void compose_big_message(Handle& h) {
    std::string line(74, 'x');
    line += "\r\n";
    std::string body;
    body.reserve(10000000);
    while (body.size() + line.size() < 10000000) body += line;
    REQUIRE(upop_set_from(h, "a@example.com") == 0);
    REQUIRE(upop_set_to_list(h, "b@example.com") == 0);
    REQUIRE(upop_set_message(h, body.c_str(), "MIMEType=text/plain") == 0);
    REQUIRE(upop_set_message(h, body.c_str(), "MIMEType=text/html") == 0);
}

/** Accepts one envelope, says 354 and then stops reading. */
FakeServer::Script accept_then_stop_reading(std::promise<void>* stalled) {
    return [stalled](FakeConn& c) {
        greet(c, {"8BITMIME"});
        c.expect("MAIL FROM:");
        c.send("250 2.1.0 OK\r\n");
        c.expect("RCPT TO:");
        c.send("250 2.1.5 OK\r\n");
        c.expect("DATA");
        c.send("354 go on\r\n");
        if (stalled) stalled->set_value();
        c.stall(9s); // ended early by the FakeServer's destructor
    };
}

} // namespace

TEST_CASE("timeout_ms=500: a server that stops reading during DATA cannot block the send") {
    Handle h(500);
    int rc = 0;
    std::string err;
    {
        FakeServer srv(accept_then_stop_reading(nullptr), 10s);
        REQUIRE(h.connect(srv) == 0);
        compose_big_message(h);
        auto fut = std::async(std::launch::async, [&] { return upop_send(h, ""); });
        bool returned = fut.wait_for(5s) == std::future_status::ready;
        CHECK_MESSAGE(returned, "upop_send did not return within 5 s although timeout_ms=500");
        rc = fut.get();
        err = h.err();
    }
    INFO("last_error: " << err);
    CHECK(rc == UPOP_E_TIMEOUT);
    CHECK(is_sentence(err));
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_E_NOT_LOGGED_ON); // the time-out closed it
}

TEST_CASE("upop_cancel ends a send blocked on a server that stopped reading") {
    Handle h(60000);
    int rc = 0;
    std::string err;
    {
        std::promise<void> stalled;
        auto stalled_f = stalled.get_future();
        FakeServer srv(accept_then_stop_reading(&stalled), 10s);
        REQUIRE(h.connect(srv) == 0);
        compose_big_message(h);
        auto fut = std::async(std::launch::async, [&] { return upop_send(h, ""); });
        REQUIRE(stalled_f.wait_for(5s) == std::future_status::ready);
        CHECK(upop_cancel(h) == 0);
        bool returned = fut.wait_for(5s) == std::future_status::ready;
        CHECK_MESSAGE(returned, "upop_send did not return within 5 s of upop_cancel");
        rc = fut.get();
        err = h.err();
    }
    INFO("last_error: " << err);
    CHECK(rc == UPOP_E_TIMEOUT);
    CHECK(is_sentence(err));
}

TEST_CASE("a server that never answers QUIT cannot hold upop_disconnect or upop_destroy") {
    for (bool via_destroy : {false, true}) {
        CAPTURE(via_destroy);
        FakeServer srv([](FakeConn& c) {
            greet(c, {"8BITMIME"});
            c.expect("QUIT");
            c.wait_for_close(4s); // no 221
        }, 5s);
        auto h = std::make_unique<Handle>(300);
        REQUIRE(h->connect(srv) == 0);
        auto fut = std::async(std::launch::async, [&] {
            if (via_destroy) {
                h->close();
                return 0;
            }
            return upop_disconnect(*h, UPOP_SMTP);
        });
        bool returned = fut.wait_for(5s) == std::future_status::ready;
        CHECK_MESSAGE(returned, "logoff did not return within 5 s although timeout_ms=300");
        int rc = fut.get();
        if (!via_destroy) {
            INFO("last_error: " << h->err());
            CHECK(rc <= 0);
            CHECK(upop_disconnect(*h, UPOP_SMTP) == UPOP_E_NOT_LOGGED_ON);
        }
        h.reset();
        srv.join();
        CHECK(srv.failure_text() == "");
    }
}

} // TEST_SUITE
