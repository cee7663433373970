// AUTH GSSAPI (Kerberos) against real Dovecot with tickets from the test KDC (tests/servers:
// tools/mkrealm.sh): STLS/STARTTLS, then GSSAPI on POP3 and SMTP with a ccache filled by kinit
// (parameter ccache, or KRB5CCNAME as the default cache) or a client keytab; a message sent and
// read back; no ticket, a destroyed ticket and a wrong service fail -8 with GSSAPI's reason and
// send no AUTH at all. Public C ABI only; kinit/kdestroy from krb5-user.
#include "krb5.hpp"

using namespace mailtest;

namespace {

std::string pop_plain() { return "localhost+" + getenv_or("PORT_POP3", "24110"); }

std::string gss_params(const std::string &extra) { return "{" + extra + "}"; }

std::string server_name(int server) { return server == UPOP_POP ? "POP" : "SMTP"; }
std::string connection(int server) { return server == UPOP_POP ? pop_plain() : submission(); }

std::string runtime_info(Handle &h, int server, int n) {
    char props[UPOP_PROPERTIES_MAX] = "", rt[UPOP_RUNTIME_INFO_MAX] = "";
    if (upop_get_security(h, n, (server_name(server) + "=").c_str(), props, sizeof props, rt, sizeof rt) != UPOP_OK)
        return "";
    std::string s = rt;
    for (auto &c : s)
        if (c == '\x1B') c = ';';
    return s;
}

// The client sent no AUTH command (nothing of the exchange reached the wire).
bool sent_auth(const Handle &h) {
    for (auto &l : h.trace)
        if (l.direction == '>' && lower(l.text).rfind("auth", 0) == 0) return true;
    return false;
}

// The whole ListMail output (through ListMailX while -16).
std::string list_all(Handle &h) {
    std::vector<char> buf(65536);
    int rc = upop_list_mail(h, buf.data(), buf.size());
    std::string out = buf.data();
    while (rc == UPOP_E_MORE) {
        rc = upop_list_mail_x(h, buf.data(), buf.size());
        out += buf.data();
    }
    REQUIRE_MESSAGE(rc >= 0, h.error()); // the number of messages
    return out;
}

} // namespace

TEST_CASE("gssapi: SMTP and POP3 log on with a Kerberos ticket; a message sent with GSSAPI is read back with GSSAPI") {
    if (!krb5_available()) return;
    std::string cc = ccache("cc-send", true);
    std::string token = unique_token("gssapi");
    const std::string principal = env().user + "@" + realm();
    {
        Handle h;
        std::string p = gss_params("\"ccache\": " + json_quote(cc));
        REQUIRE_MESSAGE(starttls_logon(h, UPOP_SMTP, "AUTH GSSAPI", p) == UPOP_OK, h.error());
        std::string rt = runtime_info(h, UPOP_SMTP, 2);
        CHECK_MESSAGE(rt.find("INUSE=TRUE") == 0, rt);
        CHECK_MESSAGE(rt.find(";PRINCIPAL=" + principal) != std::string::npos, rt);
        CHECK_MESSAGE(rt.find(";SERVICE=smtp/localhost@" + realm()) != std::string::npos, rt);
        REQUIRE_MESSAGE(send_message(h, "gssapi " + token, "sent after AUTH GSSAPI") == 0, h.error());
        CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    }
    REQUIRE_MESSAGE(!wait_for_delivery(token).empty(), "message " << token << " was not delivered");
    {
        Handle h;
        std::string p = gss_params("\"ccache\": " + json_quote(cc));
        REQUIRE_MESSAGE(starttls_logon(h, UPOP_POP, "UAuthGSSAPIPOP", p) == UPOP_OK, h.error());
        std::string rt = runtime_info(h, UPOP_POP, 2);
        CHECK_MESSAGE(rt.find(";PRINCIPAL=" + principal) != std::string::npos, rt);
        CHECK_MESSAGE(rt.find(";SERVICE=pop/localhost@" + realm()) != std::string::npos, rt);
        CHECK_MESSAGE(list_all(h).find(token) != std::string::npos, "the message is not in the POP3 listing");
        CHECK(upop_disconnect(h, UPOP_POP) == UPOP_OK);
    }
}

TEST_CASE("gssapi: the default credential cache (KRB5CCNAME), and a client keytab with its principal") {
    if (!krb5_available()) return;
    std::string cc = ccache("cc-default", true);
    std::string before = getenv_or("KRB5CCNAME");
    setenv("KRB5CCNAME", cc.c_str(), 1);
    for (int server : {UPOP_SMTP, UPOP_POP}) {
        CAPTURE(server_name(server));
        Handle h;
        const char *driver = server == UPOP_POP ? "GSSAPI" : "UAuthGSSAPISMTP";
        CHECK_MESSAGE(starttls_logon(h, server, driver, "") == UPOP_OK, h.error());
        CHECK(upop_disconnect(h, server) == UPOP_OK);
    }
    if (before.empty()) unsetenv("KRB5CCNAME");
    else setenv("KRB5CCNAME", before.c_str(), 1);

    std::string keytab = getenv_or("MAILTEST_KRB5_CLIENT_KEYTAB");
    REQUIRE_MESSAGE(fs::exists(keytab), "MAILTEST_KRB5_CLIENT_KEYTAB (" << keytab << ") does not exist");
    std::string kc = ccache("cc-keytab", false); // the keytab's tickets go here
    for (int server : {UPOP_SMTP, UPOP_POP}) {
        CAPTURE(server_name(server));
        Handle h;
        std::string p = "\"keytab\": " + json_quote(keytab) + ", \"principal\": " + json_quote(env().user) +
                        ", \"ccache\": " + json_quote(kc);
        CHECK_MESSAGE(starttls_logon(h, server, "AUTH GSSAPI", gss_params(p)) == UPOP_OK, h.error());
        CHECK(runtime_info(h, server, 2).find(";PRINCIPAL=" + env().user + "@" + realm()) != std::string::npos);
        CHECK(upop_disconnect(h, server) == UPOP_OK);
    }
}

TEST_CASE("gssapi: no ticket, a destroyed or expired ticket, a wrong service: -8 with GSSAPI's reason, no AUTH sent") {
    if (!krb5_available()) return;
    struct Case {
        const char *what;
        std::string params;
        std::vector<std::string> reason; // one of these in the error
    };
    std::string destroyed = ccache("cc-destroyed", true);
    REQUIRE(shell("KRB5CCNAME=" + shell_quote(destroyed) + " kdestroy") == 0);
    std::string good = ccache("cc-good", true);
    // a ticket that lived 2 s: wait until klist -s says it is no longer valid (at most 10 s)
    std::string expired = ccache("cc-expired", true, "2s");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (shell("KRB5CCNAME=" + shell_quote(expired) + " klist -s") == 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the ticket's clock, not a race
    REQUIRE_MESSAGE(shell("KRB5CCNAME=" + shell_quote(expired) + " klist -s") != 0, "the 2 s ticket did not expire");
    std::vector<Case> cases = {
        {"no ticket", "\"ccache\": " + json_quote(ccache("cc-empty", false)),
         {"No credentials cache found", "No Kerberos credentials available"}},
        {"destroyed ticket", "\"ccache\": " + json_quote(destroyed),
         {"No credentials cache found", "No Kerberos credentials available"}},
        {"expired ticket", "\"ccache\": " + json_quote(expired), {"expired", "Ticket expired"}},
        {"wrong service", "\"ccache\": " + json_quote(good) + ", \"service\": \"imap\"",
         {"Server imap/localhost@" + realm() + " not found in Kerberos database"}},
    };
    for (int server : {UPOP_SMTP, UPOP_POP})
        for (auto &c : cases) {
            CAPTURE(server_name(server));
            CAPTURE(c.what);
            Handle h;
            CHECK(starttls_logon(h, server, "AUTH GSSAPI", gss_params(c.params)) == UPOP_E_SECURITY);
            std::string err = h.error();
            bool named = false;
            for (auto &r : c.reason) named = named || err.find(r) != std::string::npos;
            CHECK_MESSAGE(named, err);
            CHECK_MESSAGE(err.find("AUTH GSSAPI") != std::string::npos, err);
            CHECK_MESSAGE(!sent_auth(h), h.trace_text());
        }
}

TEST_CASE("gssapi: without TLS the driver is refused unless allow_plaintext; an authzid Dovecot refuses fails") {
    if (!krb5_available()) return;
    std::string cc = ccache("cc-misc", true);
    for (int server : {UPOP_SMTP, UPOP_POP}) {
        CAPTURE(server_name(server));
        Handle h;
        REQUIRE(upop_set_security(h, (server_name(server) + "=AUTH GSSAPI").c_str(),
                                  gss_params("\"ccache\": " + json_quote(cc)).c_str()) == UPOP_OK);
        CHECK(upop_connect(h, server, connection(server).c_str(), "", "") == UPOP_E_SECURITY);
        CHECK_MESSAGE(h.error().find("allow_plaintext") != std::string::npos, h.error());
        CHECK(!sent_auth(h));

        // testuser@REALM may not act as another user: the server refuses after the exchange
        Handle o;
        CHECK(starttls_logon(o, server, "AUTH GSSAPI",
                    gss_params("\"ccache\": " + json_quote(cc) + ", \"authzid\": \"someoneelse\"")) ==
              (server == UPOP_POP ? UPOP_E_PARAM : UPOP_E_SECURITY));
        CHECK(sent_auth(o));
    }
    // Dovecot received the authzid in the wrapped answer and refused it (its auth log says so)
    std::string log = read_file(env().dir + "/log/dovecot-main.log");
    CHECK(log.find("gssapi(someoneelse,") != std::string::npos);
}
