// uidl_test.cpp — upop_find_uidl, upop_noop and upop_reset (issue 12) against scripted servers:
// a malformed UIDL listing (no unique-id, a repeated number or unique-id, one over 70 characters,
// blanks, control and non-ASCII bytes, no number) is -11 with a sentence naming the line, and the
// session goes on; a server without UIDL is -11; an unknown unique-id is -7; the listing is asked
// once per session, a DELE drops its entry and RSET asks again; NOOP/RSET refused are -10 with the
// session open, a connection lost is -9 and then -8.
#include "hostile/support.hpp"

using namespace hostile;
using namespace std::string_literals;

namespace {

void quit(FakeConn& c) {
    c.expect("QUIT");
    c.send("+OK bye\r\n");
}

struct Found {
    int rc;
    int32_t nr;
    std::string err;
};

Found find(Handle& h, const std::string& uidl) {
    int32_t nr = -1;
    int rc = upop_find_uidl(h, uidl.c_str(), &nr);
    return {rc, nr, h.err()};
}

} // namespace

TEST_CASE("FindUIDL: a malformed UIDL listing, or none, is -11 saying why; the session goes on") {
    struct Case {
        std::string reply, says;
    };
    auto listing = [](const std::string& lines) { return "+OK\r\n" + lines + ".\r\n"; };
    const Case cases[] = {
        {listing("1 aaa\r\n2\r\n"), "malformed: line 2 ('2') has no unique-id"},
        {listing("1 aaa\r\n2 \r\n"), "has no unique-id"},
        {listing("1 aaa\r\n1 bbb\r\n"), "repeats message number 1"},
        {listing("1 aaa\r\n2 " + std::string(71, 'x') + "\r\n"), "longer than 70 characters"},
        {listing("1 aaa\r\n2 b b\r\n"), "blank, control or non-ASCII"},
        {listing("1 a\x01z\r\n"), "blank, control or non-ASCII"},
        {listing("1 a\xC3\xA9z\r\n"), "blank, control or non-ASCII"},
        {listing("1 a\0z\r\n"s), "blank, control or non-ASCII"},
        {listing("x aaa\r\n"), "does not start with a message number"},
        {listing("0 aaa\r\n"), "out of range"},
        {listing("99999999999 aaa\r\n"), "does not start with a message number"},
        {listing("\r\n"), "does not start with a message number"},
        {listing("1 same\r\n2 same\r\n"), "malformed: messages 1 and 2 have the same unique-id 'same'"},
        // a server without UIDL (it is optional in RFC 1939)
        {"-ERR command not implemented\r\n", "refused UIDL (it may not support unique-ids): -ERR command not implemented"},
    };
    for (auto& c : cases) {
        CAPTURE(c.reply);
        FakeServer srv([&](FakeConn& s) {
            pop_logon(s);
            s.expect("UIDL");
            s.send(c.reply);
            s.expect("NOOP");
            s.send("+OK\r\n");
            quit(s);
        }, 5s);
        {
            Handle h;
            REQUIRE(h.connect_pop(srv) == 0);
            Found f = find(h, "aaa");
            CHECK(f.rc == UPOP_E_RETRIEVAL);
            CHECK(f.nr == 0);
            CHECK_MESSAGE(contains(f.err, c.says), f.err);
            CHECK(upop_noop(h, UPOP_POP) == 0); // still in step
            CHECK(upop_disconnect(h, UPOP_POP) == 0);
        }
        srv.join();
        CHECK(srv.failure_text() == "");
    }
}

TEST_CASE("FindUIDL: the listing is asked once; DELE drops the entry; RSET asks again") {
    FakeServer srv([](FakeConn& s) {
        pop_logon(s);
        s.expect("UIDL");
        s.send("+OK\r\n1 aaa\r\n2 bbb\r\n3 ccc\r\n.\r\n");
        s.expect("DELE 2");
        s.send("+OK deleted\r\n");
        s.expect("RSET");
        s.send("+OK maildrop has 3 messages\r\n");
        s.expect("UIDL");
        s.send("+OK\r\n1 aaa\r\n2 bbb\r\n3 ccc\r\n.\r\n");
        quit(s);
    }, 5s);
    {
        Handle h;
        REQUIRE(h.connect_pop(srv) == 0);
        Found f = find(h, "bbb");
        CHECK(f.rc == 0);
        CHECK(f.nr == 2);
        CHECK(f.err == "");
        CHECK(find(h, "ccc").nr == 3); // from the kept listing
        f = find(h, "zzz");
        CHECK(f.rc == UPOP_E_UNSUPPORTED);
        CHECK(f.nr == 0);
        CHECK(contains(f.err, "no message with the unique-id 'zzz'"));
        REQUIRE(upop_delete_mail(h, 2) == 0);
        CHECK(find(h, "bbb").rc == UPOP_E_UNSUPPORTED); // deleted in this session
        CHECK(find(h, "aaa").nr == 1);
        REQUIRE(upop_reset(h, UPOP_POP) == 0);
        f = find(h, "bbb"); // undeleted: asked again
        CHECK(f.rc == 0);
        CHECK(f.nr == 2);
        // the caller's unique-id is checked before anything is sent
        CHECK(find(h, "").rc == UPOP_E_PARAM);
        CHECK(find(h, "a b").rc == UPOP_E_PARAM);
        CHECK(find(h, std::string(71, 'a')).rc == UPOP_E_PARAM);
        CHECK(upop_find_uidl(h, "aaa", nullptr) == UPOP_E_MISC);
        CHECK(upop_disconnect(h, UPOP_POP) == 0);
        CHECK(find(h, "aaa").rc == UPOP_E_SECURITY); // not logged on
    }
    srv.join();
    CHECK(srv.count("UIDL") == 2);
    CHECK(srv.failure_text() == "");
}

TEST_CASE("FindUIDL: a connection lost inside the listing is -9, then -8") {
    FakeServer srv([](FakeConn& s) {
        pop_logon(s);
        s.expect("UIDL");
        s.send("+OK\r\n1 aaa\r\n2 b");
        s.close();
    }, 5s);
    {
        Handle h;
        REQUIRE(h.connect_pop(srv) == 0);
        Found f = find(h, "aaa");
        CHECK(f.rc == UPOP_E_NETWORK);
        CHECK(is_sentence(f.err));
        CHECK(find(h, "aaa").rc == UPOP_E_SECURITY);
        CHECK(upop_noop(h, UPOP_POP) == UPOP_E_SECURITY);
    }
    srv.join();
}

TEST_CASE("NOOP and RSET on POP3: refused is -10 with the session open; a lost connection is -9, then -8") {
    FakeServer srv([](FakeConn& s) {
        pop_logon(s);
        s.expect("NOOP");
        s.send("+OK\r\n");
        s.expect("NOOP");
        s.send("-ERR not now\r\n");
        s.expect("RSET");
        s.send("-ERR cannot\r\n");
        s.expect("RSET");
        s.send("+OK\r\n");
        s.expect("NOOP");
        s.close();
    }, 5s);
    {
        Handle h;
        REQUIRE(h.connect_pop(srv) == 0);
        CHECK(upop_noop(h, UPOP_POP) == 0);
        CHECK(h.err() == "");
        CHECK(upop_noop(h, UPOP_POP) == UPOP_E_MISC);
        CHECK(contains(h.err(), "refused NOOP: -ERR not now"));
        CHECK(upop_reset(h, UPOP_POP) == UPOP_E_MISC);
        CHECK(contains(h.err(), "refused RSET: -ERR cannot"));
        CHECK(upop_reset(h, UPOP_POP) == 0);
        CHECK(upop_noop(h, UPOP_POP) == UPOP_E_NETWORK);
        CHECK(upop_noop(h, UPOP_POP) == UPOP_E_SECURITY);
        CHECK(upop_noop(h, UPOP_SMTP) == UPOP_E_SECURITY); // never logged on to SMTP
        CHECK(upop_reset(h, 3) == UPOP_E_MISC);
    }
    srv.join();
    CHECK(srv.failure_text() == "");
}

TEST_CASE("NOOP and RSET on SMTP: the replies are GetSMTPResponse's; a refusal is -10") {
    FakeServer srv([](FakeConn& s) {
        greet(s, {"PIPELINING"});
        s.expect("NOOP");
        s.send("250 2.0.0 OK noop\r\n");
        s.expect("RSET");
        s.send("250 2.0.0 OK reset\r\n");
        s.expect("NOOP");
        s.send("502 5.5.1 not implemented\r\n");
        s.expect("QUIT");
        s.send("221 bye\r\n");
    }, 5s);
    {
        Handle h;
        REQUIRE(h.connect(srv) == 0);
        CHECK(upop_noop(h, UPOP_SMTP) == 0);
        CHECK(h.reply_code() == 250);
        CHECK(upop_reset(h, UPOP_SMTP) == 0);
        char text[UPOP_REPLY_MAX];
        int32_t code = 0;
        REQUIRE(upop_get_smtp_response(h, &code, text, sizeof text) == 0);
        CHECK(code == 250);
        CHECK(contains(text, "OK reset"));
        CHECK(upop_noop(h, UPOP_SMTP) == UPOP_E_MISC);
        CHECK(contains(h.err(), "refused NOOP"));
        CHECK(contains(h.err(), "502"));
        CHECK(h.reply_code() == 502);
        CHECK(upop_noop(h, UPOP_POP) == UPOP_E_SECURITY);
        CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
        CHECK(upop_reset(h, UPOP_SMTP) == UPOP_E_SECURITY);
    }
    srv.join();
    CHECK(srv.failure_text() == "");
}
