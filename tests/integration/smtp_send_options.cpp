// Send's options and extensions against real servers: IgnoreRcptError with Postfix refusing a
// recipient, GetRecipientDetails, MaxSize, SendMail's implicit logon.
#include "mailtest.hpp"

using namespace mailtest;

namespace {

const std::string kRefused = "nobody-here@example.test";

void compose_three(Handle &h, const std::string &subject) {
    REQUIRE(upop_set_from(h, env().addr.c_str()) == UPOP_OK);
    std::string to = env().addr + "\x1B" + kRefused;
    REQUIRE(upop_set_to_list(h, to.c_str()) == UPOP_OK);
    REQUIRE(upop_set_cc_list(h, "Someone Else <someone@elsewhere.test>") == UPOP_OK);
    REQUIRE(upop_set_subject(h, subject.c_str()) == UPOP_OK);
    REQUIRE(upop_set_message(h, "three recipients, one refused", "") == UPOP_OK);
}

} // namespace

TEST_CASE("Postfix refuses one of three recipients: IgnoreRcptError sends to the others") {
    std::string token = unique_token("rcpt");
    Handle h;
    smtp_logon(h, postfix_submission());
    compose_three(h, "refused " + token);
    int rc = upop_send(h, "IgnoreRcptError=True");
    CHECK_MESSAGE(rc == 1, h.error());
    char to[UPOP_DETAILS_MAX], cc[UPOP_DETAILS_MAX], bcc[UPOP_DETAILS_MAX];
    REQUIRE(upop_get_recipient_details(h, to, sizeof to, cc, sizeof cc, bcc, sizeof bcc) == UPOP_OK);
    std::string t = to;
    CHECK(t.rfind(kRefused + "=550\x1B", 0) == 0);
    CHECK(t.size() > kRefused.size() + 5); // the server's text follows
    CHECK(std::string(cc).empty());
    CHECK(std::string(bcc).empty());
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);

    std::string path = wait_for_delivery(token);
    REQUIRE(!path.empty());
    std::string file = read_file(path);
    auto head = file.substr(0, file.find("\n\n") == std::string::npos ? file.find("\r\n\r\n") : file.find("\n\n"));
    CHECK(head.find(kRefused) == std::string::npos);      // left out of To:
    CHECK(head.find("someone@elsewhere.test") != std::string::npos);
    CHECK(head.find(env().addr) != std::string::npos);
}

TEST_CASE("Postfix refuses one of three recipients: without IgnoreRcptError nothing is sent") {
    std::string token = unique_token("norcpt");
    Handle h;
    smtp_logon(h, postfix_submission());
    compose_three(h, "not sent " + token);
    CHECK(upop_send(h, "") == UPOP_E_PARAM);
    CHECK(h.error().find(kRefused) != std::string::npos);
    // the session is still usable: the same message without the refused address goes out
    REQUIRE(upop_set_to_list(h, env().addr.c_str()) == UPOP_OK);
    REQUIRE(upop_set_subject(h, ("second try " + token).c_str()) == UPOP_OK);
    CHECK_MESSAGE(upop_send(h, "") == 0, h.error());
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    REQUIRE(!wait_for_delivery("second try " + token).empty());
    // the first attempt was never delivered
    auto dir = fs::path(env().dir) / "mail" / env().user / "Maildir";
    for (auto sub : {"new", "cur"})
        for (auto &f : fs::directory_iterator(dir / sub))
            CHECK(read_file(f.path()).find("not sent " + token) == std::string::npos);
}

TEST_CASE("MaxSize refuses a larger message before anything is sent") {
    Handle h;
    smtp_logon(h, postfix_submission());
    REQUIRE(upop_set_from(h, env().addr.c_str()) == UPOP_OK);
    REQUIRE(upop_set_to_list(h, env().addr.c_str()) == UPOP_OK);
    REQUIRE(upop_set_message(h, std::string(5000, 'x').c_str(), "") == UPOP_OK);
    h.trace.clear();
    CHECK(upop_send(h, "MaxSize=1000") == UPOP_E_SIZE);
    for (auto &l : h.trace) CHECK(l.text.rfind("MAIL", 0) == std::string::npos);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
}

TEST_CASE("SendMail logs on and off around the send and uses the SMTP context") {
    std::string token = unique_token("sendmail");
    Handle h;
    REQUIRE(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK);
    REQUIRE(upop_set_security(h, "SMTP=AUTH LOGIN", credentials().c_str()) == UPOP_OK);
    std::string headers = "TO=" + env().addr + "\x1B" "FROM=" + env().addr + "\x1B" "SUBJECT=legacy " + token +
                          "\x1B" "PRIORITY=1";
    int rc = upop_send_mail(h, submission().c_str(), headers.c_str(), "legacy text", "", 0);
    CHECK_MESSAGE(rc == 0, h.error());
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_E_SECURITY); // already logged off
    char props[UPOP_PROPERTIES_MAX], rt[UPOP_RUNTIME_INFO_MAX];
    REQUIRE(upop_get_security(h, 2, "SMTP=", props, sizeof props, rt, sizeof rt) == UPOP_OK);
    CHECK(std::string(rt) == "INUSE=TRUE");
    std::string path = wait_for_delivery(token);
    REQUIRE(!path.empty());
    CHECK(read_file(path).find("X-Priority: 1") != std::string::npos);
    CHECK(upop_send_mail(h, submission().c_str(), "FROM=a@b.test", "x", "", 0) == UPOP_E_MISSING);
    CHECK(upop_send_mail(h, submission().c_str(), "TO=not an address\x1B" "FROM=a@b.test", "x", "", 0) == UPOP_E_PARAM);
}

namespace {
struct Progress {
    std::vector<std::pair<int64_t, int64_t>> calls;
    int64_t cancel_after = -1; // cancel once done passes this
    static int fn(void *user, int64_t done, int64_t total) {
        auto *p = static_cast<Progress *>(user);
        p->calls.emplace_back(done, total);
        return p->cancel_after >= 0 && done > p->cancel_after ? 1 : 0;
    }
};
} // namespace

TEST_CASE("progress: Send and GetRawMail report growing byte counts up to the total; non-zero cancels (-10)") {
    std::string token = unique_token("progress");
    std::string body;
    for (int i = 0; i < 40000; ++i) body += "line " + std::to_string(i) + " of a body big enough to report progress\r\n";
    Handle h;
    smtp_logon(h, postfix_submission());
    Progress p;
    REQUIRE(upop_set_progress(h, &Progress::fn, &p) == UPOP_OK);
    REQUIRE(upop_set_from(h, env().addr.c_str()) == UPOP_OK);
    REQUIRE(upop_set_to_list(h, env().addr.c_str()) == UPOP_OK);
    REQUIRE(upop_set_subject(h, ("progress " + token).c_str()) == UPOP_OK);
    REQUIRE(upop_set_message(h, body.c_str(), "") == UPOP_OK);
    REQUIRE_MESSAGE(upop_send(h, "") == 0, h.error());
    REQUIRE(p.calls.size() > 3);
    for (size_t i = 1; i < p.calls.size(); ++i) CHECK(p.calls[i].first > p.calls[i - 1].first);
    CHECK(p.calls.back().first == p.calls.back().second); // all of it, and the total was known
    CHECK(p.calls.back().second > static_cast<int64_t>(body.size()));

    Progress stop;
    stop.cancel_after = 100000;
    REQUIRE(upop_set_progress(h, &Progress::fn, &stop) == UPOP_OK);
    REQUIRE(upop_set_subject(h, ("cancelled " + token).c_str()) == UPOP_OK);
    CHECK(upop_send(h, "") == UPOP_E_MISC);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_E_SECURITY); // a cancelled DATA closes the connection
    REQUIRE(!wait_for_delivery("progress " + token).empty());

    Handle r;
    std::string pop = "TLS:localhost+" + getenv_or("PORT_POP3S", "24995");
    REQUIRE(upop_connect(r, UPOP_POP, pop.c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK);
    std::vector<char> buf(1 << 20);
    int n = upop_list_mail(r, buf.data(), buf.size());
    REQUIRE(n > 0);
    std::string list = buf.data();
    size_t at = list.find("progress " + token);
    REQUIRE(at != std::string::npos);
    int id = std::atoi(list.c_str() + list.rfind("\x1BID=", at) + 4);
    Progress fetch;
    REQUIRE(upop_set_progress(r, &Progress::fn, &fetch) == UPOP_OK);
    std::vector<char> big(8 << 20);
    REQUIRE(upop_get_raw_mail(r, id, 0, big.data(), big.size()) == UPOP_OK);
    REQUIRE(fetch.calls.size() > 3);
    CHECK(fetch.calls.back().second > 0);
    CHECK(fetch.calls.back().first >= fetch.calls.back().second - 1024); // LIST size vs CRLF counting
    REQUIRE(upop_delete_mail(r, id) == UPOP_OK);
    CHECK(upop_disconnect(r, UPOP_POP) == UPOP_OK);
}
