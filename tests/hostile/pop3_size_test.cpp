// POP3 sizes the server claims (LIST n) never decide an allocation: a huge announced size with a
// small message retrieves the message; a message larger than mail_size is refused with -6 even
// when LIST announced less; in both cases the session stays in step with the server.
#include "support.hpp"

namespace {

using namespace hostile;

const std::string kMessage = "From: a@example.org\r\nTo: b@example.org\r\nSubject: small\r\n\r\nhello\r\n";

// Answers "LIST 1" with announced, "RETR 1" with body (dot-terminated) `times` times, then
// DELE 1 and QUIT: the client must still be in step after the retrievals.
void serve(FakeConn &c, const std::string &announced, const std::string &body, int times) {
    pop_logon(c);
    for (int i = 0; i < times; ++i) {
        c.expect("LIST 1");
        c.send("+OK 1 " + announced + "\r\n");
        c.expect("RETR 1");
        c.send("+OK message follows\r\n" + body + ".\r\n");
    }
    c.expect("DELE 1");
    c.send("+OK deleted\r\n");
    c.expect("QUIT");
    c.send("+OK bye\r\n");
}

} // namespace

TEST_SUITE("hostile_pop3_size") {

TEST_CASE("a huge size announced by LIST does not decide an allocation: the small message arrives") {
    FakeServer srv([](FakeConn &c) { serve(c, "99999999999999", kMessage, 2); });
    {
        Handle h;
        REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
        std::vector<char> buf(4096);
        int rc = upop_get_raw_mail(h, 1, 0, buf.data(), buf.size());
        CHECK_MESSAGE(rc == 0, h.err());
        CHECK(std::string(buf.data()) == kMessage);

        char headers[4096], text[4096], atts[1024];
        rc = upop_get_mail(h, 1, "", 0, headers, sizeof headers, text, sizeof text, atts, sizeof atts);
        CHECK_MESSAGE(rc == 0, h.err());
        CHECK(contains(headers, "small"));
        CHECK(contains(text, "hello"));

        CHECK_MESSAGE(upop_delete_mail(h, 1) == 0, h.err()); // still in step with the server
        CHECK(upop_disconnect(h, UPOP_POP) == 0);
    }
    srv.join();
    CHECK_MESSAGE(srv.failure_text().empty(), srv.failure_text());
}

TEST_CASE("a message larger than mail_size is refused with -6 even when LIST announced less") {
    std::string big;
    for (int i = 0; i < 100; ++i) big += "line " + std::string(70, 'x') + "\r\n"; // ~7.7 KB
    const std::string message = "Subject: big\r\n\r\n" + big;
    FakeServer srv([&](FakeConn &c) { serve(c, "10", message, 1); });
    {
        Handle h;
        REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
        std::vector<char> buf(16384);
        int rc = upop_get_raw_mail(h, 1, 1000, buf.data(), buf.size());
        CHECK(rc == UPOP_E_SIZE);
        CHECK_MESSAGE(contains(h.err(), "1000"), h.err());
        CHECK_MESSAGE(upop_delete_mail(h, 1) == 0, h.err()); // the whole reply was read: in step
        CHECK(upop_disconnect(h, UPOP_POP) == 0);
    }
    srv.join();
    CHECK_MESSAGE(srv.failure_text().empty(), srv.failure_text());
}

}
