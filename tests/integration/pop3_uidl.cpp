// UIDL, NOOP and RSET against real Dovecot (issue 12): NOOP and RSET on a submission session,
// upop_find_uidl maps the UIDL that ListMail shows to the message's number, an unknown UIDL is -7,
// a deletion undone by RSET leaves the message in the mailbox after logoff, one not undone is
// committed; the host:port form of the connection string reaches the same servers.
#include "mailtest.hpp"

using namespace mailtest;

namespace {

// The value of NAME= in the ListMail entry whose SUBJECT holds token ("" when none).
std::string entry_value(Handle &h, const std::string &token, const std::string &name) {
    std::vector<char> buf(1 << 20);
    int rc = upop_list_mail(h, buf.data(), buf.size());
    REQUIRE_MESSAGE(rc >= 0, h.error());
    std::string list(buf.data());
    size_t at = list.find(token);
    if (at == std::string::npos) return "";
    size_t start = list.rfind("NMB=", at);
    size_t end = list.find("\x1BNMB=", at);
    std::string entry = list.substr(start, end == std::string::npos ? std::string::npos : end - start);
    size_t v = entry.find("\x1B" + name + "=");
    if (v == std::string::npos) return "";
    v += name.size() + 2;
    return entry.substr(v, entry.find('\x1B', v) - v);
}

int32_t find(Handle &h, const std::string &uidl, int *rc) {
    int32_t nr = -1;
    *rc = upop_find_uidl(h, uidl.c_str(), &nr);
    return nr;
}

} // namespace

TEST_CASE("NOOP and RSET on a submission session, then FindUIDL, NOOP and RSET on POP3 (real Dovecot)") {
    std::string token = unique_token("uidl");
    {
        Handle h;
        logon_submission(h);
        CHECK_MESSAGE(upop_noop(h, UPOP_SMTP) == UPOP_OK, h.error());
        CHECK(h.reply_code() == 250);
        CHECK_MESSAGE(upop_reset(h, UPOP_SMTP) == UPOP_OK, h.error());
        CHECK(h.reply_code() == 250);
        CHECK(upop_noop(h, UPOP_POP) == UPOP_E_SECURITY); // no POP session on this handle
        REQUIRE_MESSAGE(send_message(h, "uidl " + token, "kept by RSET") == 0, h.error());
        CHECK(upop_noop(h, UPOP_SMTP) == UPOP_OK); // the session goes on after a Send
        std::string t = h.trace_text();
        CHECK(t.find("> NOOP") != std::string::npos);
        CHECK(t.find("> RSET") != std::string::npos);
        REQUIRE(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
        CHECK(upop_noop(h, UPOP_SMTP) == UPOP_E_SECURITY);
    }
    REQUIRE_MESSAGE(!wait_for_delivery(token).empty(), "message " << token << " was not delivered");

    std::string uidl;
    int id = 0, rc = 0;
    {
        Handle h;
        logon_pop(h);
        uidl = entry_value(h, token, "UIDL");
        id = std::atoi(entry_value(h, token, "ID").c_str());
        REQUIRE(!uidl.empty());
        REQUIRE(id > 0);
        CHECK(find(h, uidl, &rc) == id);
        CHECK_MESSAGE(rc == UPOP_OK, h.error());
        CHECK(find(h, "no-such-uidl-" + token.substr(0, 20), &rc) == 0);
        CHECK(rc == UPOP_E_UNSUPPORTED);
        CHECK(h.error().find("no message with the unique-id") != std::string::npos);
        CHECK_MESSAGE(upop_noop(h, UPOP_POP) == UPOP_OK, h.error());
        // delete it, see it gone from the UIDL listing, undo with RSET
        REQUIRE(upop_delete_mail(h, id) == UPOP_OK);
        find(h, uidl, &rc);
        CHECK(rc == UPOP_E_UNSUPPORTED);
        CHECK_MESSAGE(upop_reset(h, UPOP_POP) == UPOP_OK, h.error());
        CHECK(find(h, uidl, &rc) == id);
        CHECK(rc == UPOP_OK);
        REQUIRE(upop_disconnect(h, UPOP_POP) == UPOP_OK); // QUIT: nothing to commit
        CHECK(upop_reset(h, UPOP_POP) == UPOP_E_SECURITY);
    }
    {
        // still there after the logoff; numbers may change between sessions, the UIDL does not
        Handle h;
        logon_pop(h);
        int32_t again = find(h, uidl, &rc);
        REQUIRE_MESSAGE(rc == UPOP_OK, "the message undeleted by RSET is gone: " << h.error());
        CHECK(again > 0);
        REQUIRE(upop_delete_mail(h, again) == UPOP_OK);
        REQUIRE(upop_disconnect(h, UPOP_POP) == UPOP_OK); // QUIT commits this deletion
    }
    {
        Handle h;
        logon_pop(h);
        find(h, uidl, &rc);
        CHECK(rc == UPOP_E_UNSUPPORTED);
        REQUIRE(upop_disconnect(h, UPOP_POP) == UPOP_OK);
    }
}

TEST_CASE("host:port reaches the real servers (POP3 with STLS, submission with STARTTLS)") {
    Handle h;
    REQUIRE(upop_set_security(h, "POP=STARTTLS", "") == UPOP_OK);
    std::string pop = "localhost:" + getenv_or("PORT_POP3", "24110");
    REQUIRE_MESSAGE(upop_connect(h, UPOP_POP, pop.c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK,
                    h.error());
    CHECK(upop_noop(h, UPOP_POP) == UPOP_OK);
    REQUIRE(upop_disconnect(h, UPOP_POP) == UPOP_OK);
    REQUIRE(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK);
    std::string smtp = "TCP:localhost:" + env().port_submission;
    REQUIRE_MESSAGE(upop_connect(h, UPOP_SMTP, smtp.c_str(), "", "") == UPOP_OK, smtp << ": " << h.error());
    CHECK(upop_noop(h, UPOP_SMTP) == UPOP_OK);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
}
