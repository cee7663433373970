// Receiving over POP3 from real Dovecot: logon (STLS + USER/PASS, implicit TLS, plaintext
// refused), ListMail with the -16 continuation, GetRawMail, DeleteMail committed at logoff.
#include "mailtest.hpp"
#include "relay.hpp"

using namespace mailtest;

namespace {

std::string pop_tls() { return "TLS:localhost+" + getenv_or("PORT_POP3S", "24995"); }

// Sends one message with a unique token in the subject and waits until it is in the maildir.
std::string deliver(const char *tag, const std::string &body) {
    std::string token = unique_token(tag);
    Handle h;
    logon_submission(h);
    REQUIRE_MESSAGE(send_message(h, "pop3 " + token, body) == 0, h.error());
    REQUIRE(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    REQUIRE_MESSAGE(!wait_for_delivery(token).empty(), "message " << token << " was not delivered");
    return token;
}

// The whole ListMail output, through ListMailX while -16.
int list_all(Handle &h, std::string &out, size_t cap) {
    std::vector<char> buf(cap);
    int rc = upop_list_mail(h, buf.data(), cap);
    out = buf.data();
    while (rc == UPOP_E_MORE) {
        rc = upop_list_mail_x(h, buf.data(), cap);
        out += buf.data();
    }
    return rc;
}

// The ID of the message whose subject holds token, or 0.
int find_id(const std::string &list, const std::string &token) {
    size_t at = list.find(token);
    if (at == std::string::npos) return 0;
    size_t id = list.rfind("\x1BID=", at);
    REQUIRE(id != std::string::npos);
    return std::atoi(list.c_str() + id + 4);
}

std::string raw_all(Handle &h, int id, size_t cap) {
    std::vector<char> buf(cap);
    int rc = upop_get_raw_mail(h, id, 0, buf.data(), cap);
    std::string out = buf.data();
    while (rc == UPOP_E_MORE) {
        rc = upop_get_raw_mail_x(h, buf.data(), cap);
        out += buf.data();
    }
    REQUIRE_MESSAGE(rc == UPOP_OK, h.error());
    return out;
}

// A TCP relay between one client and Dovecot's plain POP3 port that forwards everything until the
// client sends QUIT, then drops that line and closes both connections: Dovecot never sees QUIT
// (so it must not commit the deletions) and the client never gets an answer.
class QuitEater {
public:
    std::string conn() const { return relay_.conn(); }
    bool ate_quit() const { return ate_quit_; }

private:
    std::atomic<bool> ate_quit_{false};
    // the client writes each command in one write
    Relay relay_{getenv_or("PORT_POP3", "24110"),
                 [this](std::string &got) { return !(ate_quit_ = got.rfind("QUIT", 0) == 0); }, nullptr};
};

// Logs on over TLS and returns the mailbox's message number of token (0: not there).
int id_of(Handle &h, const std::string &token) {
    REQUIRE_MESSAGE(upop_connect(h, UPOP_POP, pop_tls().c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK,
                    h.error());
    std::string list;
    REQUIRE(list_all(h, list, 4096) >= 0);
    return find_id(list, token);
}

} // namespace

TEST_CASE("POP3: DeleteMail, then upop_destroy without LogoffMail: destroy logs off, the message is gone") {
    std::string token = deliver("popdestroy", "gone after destroy");
    {
        Handle h;
        int id = id_of(h, token);
        REQUIRE(id > 0);
        REQUIRE(upop_delete_mail(h, id) == UPOP_OK);
    } // upop_destroy
    Handle again;
    CHECK(id_of(again, token) == 0);
    CHECK(upop_disconnect(again, UPOP_POP) == UPOP_OK);
}

TEST_CASE("POP3: QUIT never answered: LogoffMail returns -9 and the message is still there") {
    std::string token = deliver("popquit", "kept without QUIT");
    int id = 0;
    {
        Handle probe;
        id = id_of(probe, token);
        REQUIRE(id > 0);
        REQUIRE(upop_disconnect(probe, UPOP_POP) == UPOP_OK);
    }
    {
        QuitEater relay;
        Handle h;
        REQUIRE(upop_set_option(h, "allow_plaintext", "true") == UPOP_OK);
        REQUIRE_MESSAGE(upop_connect(h, UPOP_POP, relay.conn().c_str(), env().user.c_str(), env().pass.c_str()) ==
                            UPOP_OK, h.error());
        REQUIRE(upop_delete_mail(h, id) == UPOP_OK);
        CHECK(upop_disconnect(h, UPOP_POP) == UPOP_E_NETWORK);
        CHECK(h.error().find("deletions") != std::string::npos);
        CHECK(relay.ate_quit());
    }
    Handle again;
    int still = id_of(again, token);
    CHECK(still > 0);
    if (still > 0) REQUIRE(upop_delete_mail(again, still) == UPOP_OK); // tidy up
    CHECK(upop_disconnect(again, UPOP_POP) == UPOP_OK);
}

TEST_CASE("POP3: STLS + USER/PASS logon, ListMail, GetRawMail and DeleteMail committed at logoff") {
    std::string body = "first line\r\n.leading dot\r\nlast line";
    std::string token = deliver("pop", body);
    Handle h;
    REQUIRE(upop_set_security(h, "POP=STARTTLS", "") == UPOP_OK);
    REQUIRE_MESSAGE(upop_connect(h, UPOP_POP, pop_plain().c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK,
                    h.error());
    char props[UPOP_PROPERTIES_MAX], rt[UPOP_RUNTIME_INFO_MAX];
    REQUIRE(upop_get_security(h, 1, "POP=", props, sizeof props, rt, sizeof rt) == UPOP_OK);
    CHECK(std::string(rt) == "INUSE=TRUE");
    CHECK(h.trace_text().find(env().pass) == std::string::npos);

    std::string list;
    int count = list_all(h, list, 64); // a tiny buffer: the -16 continuation
    CHECK(count >= 1);
    int id = find_id(list, token);
    REQUIRE_MESSAGE(id > 0, list);
    CHECK(list.find("NMB=") == 0);

    std::string raw = raw_all(h, id, 100);
    CHECK(raw.find("Subject: pop3 " + token) != std::string::npos);
    CHECK(raw.find("\r\n.leading dot\r\n") != std::string::npos); // dot-unstuffed
    CHECK(raw.find("\r\n.\r\n") == std::string::npos);            // terminator removed
    CHECK(upop_get_raw_mail(h, 999999, 0, props, sizeof props) == UPOP_E_UNSUPPORTED);
    CHECK(upop_get_raw_mail(h, id, 10, props, sizeof props) == UPOP_E_SIZE);

    REQUIRE(upop_delete_mail(h, id) == UPOP_OK);
    CHECK(upop_delete_mail(h, 0) == UPOP_E_UNSUPPORTED);
    REQUIRE(upop_disconnect(h, UPOP_POP) == UPOP_OK);
    CHECK(upop_disconnect(h, UPOP_POP) == UPOP_E_SECURITY);

    Handle again;
    REQUIRE_MESSAGE(upop_connect(again, UPOP_POP, pop_tls().c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK,
                    again.error());
    std::string after;
    CHECK(list_all(again, after, 4096) >= 0);
    CHECK(after.find(token) == std::string::npos);
    CHECK(upop_disconnect(again, UPOP_POP) == UPOP_OK);
}

TEST_CASE("POP3: USER/PASS on a plain connection is refused unless allow_plaintext is set") {
    Handle h;
    CHECK(upop_connect(h, UPOP_POP, pop_plain().c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_E_SECURITY);
    CHECK(h.error().find("allow_plaintext") != std::string::npos);
    for (auto &l : h.trace)
        CHECK(l.text.find("PASS") == std::string::npos);
    REQUIRE(upop_set_option(h, "allow_plaintext", "true") == UPOP_OK);
    CHECK_MESSAGE(upop_connect(h, UPOP_POP, pop_plain().c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK,
                  h.error());
    CHECK(upop_disconnect(h, UPOP_POP) == UPOP_OK);
}

TEST_CASE("POP3: a wrong password is -2 and commands need a logon (-8)") {
    Handle h;
    char buf[64];
    CHECK(upop_list_mail(h, buf, sizeof buf) == UPOP_E_SECURITY);
    CHECK(upop_connect(h, UPOP_POP, pop_tls().c_str(), env().user.c_str(), "wrong-password") == UPOP_E_PARAM);
    CHECK(h.error().find("wrong-password") == std::string::npos);
}

TEST_CASE("POP3: DeleteMail then a dropped connection deletes nothing") {
    std::string token = deliver("popdrop", "kept");
    Handle h;
    REQUIRE(upop_connect(h, UPOP_POP, pop_tls().c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK);
    std::string list;
    REQUIRE(list_all(h, list, 4096) >= 1);
    int id = find_id(list, token);
    REQUIRE(id > 0);
    REQUIRE(upop_delete_mail(h, id) == UPOP_OK);
    // the connection is cut before QUIT: upop_cancel ends the next blocking call and closes it
    REQUIRE(upop_cancel(h) == UPOP_OK);
    CHECK(upop_list_mail(h, &list[0], 2) == UPOP_E_TIMEOUT);
    CHECK(upop_disconnect(h, UPOP_POP) == UPOP_E_SECURITY); // the lifetime ended with the connection

    Handle again;
    REQUIRE(upop_connect(again, UPOP_POP, pop_tls().c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK);
    std::string after;
    REQUIRE(list_all(again, after, 4096) >= 1);
    int still = find_id(after, token);
    CHECK(still > 0);
    REQUIRE(upop_delete_mail(again, still) == UPOP_OK); // tidy up
    CHECK(upop_disconnect(again, UPOP_POP) == UPOP_OK);
}

TEST_CASE("POP3: STLS + AUTH PLAIN, and APOP on a TLS connection, without USER/PASS") {
    for (const char *driver : {"POP=AUTH PLAIN", "POP=APOP"}) {
        CAPTURE(driver);
        Handle h;
        bool plain = std::string(driver).find("PLAIN") != std::string::npos;
        if (plain) REQUIRE(upop_set_security(h, "POP=STARTTLS", "") == UPOP_OK);
        REQUIRE_MESSAGE(upop_set_security(h, driver, credentials().c_str()) == UPOP_OK, h.error());
        std::string conn = plain ? pop_plain() : pop_tls();
        REQUIRE_MESSAGE(upop_connect(h, UPOP_POP, conn.c_str(), "", "") == UPOP_OK, h.error());
        char props[UPOP_PROPERTIES_MAX], rt[UPOP_RUNTIME_INFO_MAX];
        REQUIRE(upop_get_security(h, plain ? 2 : 1, "POP=", props, sizeof props, rt, sizeof rt) == UPOP_OK);
        CHECK(std::string(rt) == "INUSE=TRUE");
        for (auto &l : h.trace) {
            CHECK(l.text.rfind("USER ", 0) == std::string::npos);
            CHECK(l.text.find(env().pass) == std::string::npos);
        }
        CHECK(upop_disconnect(h, UPOP_POP) == UPOP_OK);
    }
}

TEST_CASE("POP3: APOP with a wrong password is -2") {
    Handle h;
    REQUIRE(upop_set_security(h, "POP=APOP", credentials("not-the-password").c_str()) == UPOP_OK);
    CHECK(upop_connect(h, UPOP_POP, pop_tls().c_str(), "", "") == UPOP_E_PARAM);
}

TEST_CASE("POP3: ListMail after DeleteMail in the same session still lists the later messages") {
    std::string first = deliver("popgap1", "one");
    std::string second = deliver("popgap2", "two");
    Handle h;
    REQUIRE(upop_connect(h, UPOP_POP, pop_tls().c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK);
    std::string list;
    int before = list_all(h, list, 4096);
    int id1 = find_id(list, first), id2 = find_id(list, second);
    REQUIRE(id1 > 0);
    REQUIRE(id2 > id1);
    REQUIRE(upop_delete_mail(h, id1) == UPOP_OK);
    std::string after;
    CHECK(list_all(h, after, 4096) == before - 1);
    CHECK(find_id(after, first) == 0);
    CHECK(find_id(after, second) == id2); // numbers stay stable in a session
    REQUIRE(upop_delete_mail(h, id2) == UPOP_OK);
    CHECK(upop_disconnect(h, UPOP_POP) == UPOP_OK);
}
