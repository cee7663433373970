// send_replies_test.cpp — Send's status for the server's replies and extensions: quota (452/552
// → -15), the server's SIZE limit, SMTPUTF8 for non-ASCII addresses, the enhanced status code
// shown in the sentence, and GetSMTPResponse after a refusal.
#include "hostile/support.hpp"

using namespace hostile;

namespace {

struct Outcome {
    int rc = 0;
    std::string err;
    int32_t code = 0;
    std::vector<std::string> lines;
};

// A server that answers MAIL/RCPT/DATA/end-of-data with the given replies ("" = the usual).
Outcome send_against(const std::vector<std::string> &caps, const std::string &mail_reply,
                     const std::string &rcpt_reply, const std::string &final_reply,
                     const std::string &from = "a@example.com", const std::string &to = "b@example.com",
                     const std::string &body = "hello") {
    FakeServer srv([=](FakeConn &c) {
        greet(c, caps);
        for (;;) {
            std::string l = c.read_line();
            if (c.eof()) return;
            if (l.rfind("MAIL", 0) == 0) c.send(mail_reply.empty() ? "250 2.1.0 ok\r\n" : mail_reply);
            else if (l.rfind("RCPT", 0) == 0) c.send(rcpt_reply.empty() ? "250 2.1.5 ok\r\n" : rcpt_reply);
            else if (l == "DATA") {
                c.send("354 go ahead\r\n");
                while (true) {
                    std::string d = c.read_line();
                    if (c.eof() || d == ".") break;
                }
                c.send(final_reply.empty() ? "250 2.0.0 queued\r\n" : final_reply);
            } else if (l == "RSET") c.send("250 2.0.0 reset\r\n");
            else if (l == "QUIT") {
                c.send("221 2.0.0 bye\r\n");
                return;
            } else c.send("502 5.5.2 what?\r\n");
        }
    }, 5s);
    Outcome o;
    {
        Handle h;
        REQUIRE(h.connect(srv) == 0);
        REQUIRE(upop_set_from(h, from.c_str()) == 0);
        REQUIRE(upop_set_to_list(h, to.c_str()) == 0);
        REQUIRE(upop_set_message(h, body.c_str(), "") == 0);
        o.rc = upop_send(h, "");
        o.err = h.err();
        o.code = h.reply_code();
        upop_disconnect(h, UPOP_SMTP);
    }
    srv.join();
    o.lines = srv.lines();
    return o;
}

bool saw_prefix(const std::vector<std::string> &lines, const std::string &p) {
    for (auto &l : lines)
        if (l.rfind(p, 0) == 0) return true;
    return false;
}

} // namespace

TEST_SUITE("hostile: send replies") {

TEST_CASE("452 or 552 from the server is the quota status -15, at RCPT and at the end of data") {
    auto a = send_against({"ENHANCEDSTATUSCODES"}, "", "452 4.2.2 mailbox full\r\n", "");
    CHECK(a.rc == UPOP_E_QUOTA);
    CHECK(contains(a.err, "4.2.2 mailbox full")); // the enhanced code is shown
    CHECK(a.code == 452);
    CHECK_FALSE(saw_prefix(a.lines, "DATA"));
    auto b = send_against({}, "", "", "552 5.3.4 message too big for quota\r\n");
    CHECK(b.rc == UPOP_E_QUOTA);
    CHECK(b.code == 552);
    auto c = send_against({}, "552 5.2.2 over quota\r\n", "", "");
    CHECK(c.rc == UPOP_E_QUOTA);
}

TEST_CASE("every recipient refused is -2 with the server's text; a refused message is negative") {
    auto a = send_against({}, "", "550 5.1.1 no such user\r\n", "");
    CHECK(a.rc == UPOP_E_PARAM);
    CHECK(contains(a.err, "5.1.1 no such user"));
    CHECK(a.code == 550);
    auto b = send_against({}, "", "", "554 5.7.1 spam\r\n");
    CHECK(b.rc < 0);
    CHECK(contains(b.err, "554"));
    CHECK(b.code == 554);
}

TEST_CASE("the server's SIZE limit refuses a larger message before MAIL; SIZE= is announced") {
    auto a = send_against({"SIZE 1000"}, "", "", "", "a@example.com", "b@example.com", std::string(5000, 'x'));
    CHECK(a.rc == UPOP_E_SIZE);
    CHECK(contains(a.err, "1000"));
    CHECK_FALSE(saw_prefix(a.lines, "MAIL"));
    auto b = send_against({"SIZE 100000"}, "", "", "");
    CHECK(b.rc == 0);
    bool announced = false;
    for (auto &l : b.lines) announced = announced || (l.rfind("MAIL FROM:<a@example.com> SIZE=", 0) == 0);
    CHECK(announced);
}

TEST_CASE("a non-ASCII address needs SMTPUTF8: refused locally without it, announced with it") {
    auto a = send_against({}, "", "", "", "jürgen@example.com");
    CHECK(a.rc == UPOP_E_PARAM);
    CHECK(contains(a.err, "SMTPUTF8"));
    CHECK_FALSE(saw_prefix(a.lines, "MAIL"));
    auto b = send_against({"SMTPUTF8"}, "", "", "", "jürgen@example.com");
    CHECK(b.rc == 0);
    bool announced = false;
    for (auto &l : b.lines) announced = announced || (l.rfind("MAIL FROM:<jürgen@example.com>", 0) == 0 && contains(l, "SMTPUTF8"));
    CHECK(announced);
}

} // TEST_SUITE
