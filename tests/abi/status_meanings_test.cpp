// status_meanings_test.cpp — one meaning per status code where the original does not fix it
// (the table at the status enum of api/upopmail.h): a value the caller gave that is refused is
// -2 (a malformed address, CR/LF in a header field, an unknown option or a value out of range),
// -12 is only "From or every recipient missing", -10 is misuse (NULL handle, bad server type,
// unusable buffer, nothing pending), and a Send with refused recipients says so.
#include "support.hpp"

using namespace abi;

TEST_SUITE("abi: status meanings") {

TEST_CASE("a value the caller gave that is refused is -2, with a sentence") {
    Handle h;
    struct Case {
        std::string what;
        int status;
    };
    const Case cases[] = {
        {"subject with CR/LF", upop_set_subject(h, "hello\r\nBcc: victim@example.test")},
        {"To list with LF", upop_set_to_list(h, "a@example.test\nBcc: victim@example.test")},
        {"Cc list malformed", upop_set_cc_list(h, "not an address")},
        {"Bcc list malformed", upop_set_bcc_list(h, "x@")},
        {"From with CR", upop_set_from(h, "a@example.test\r")},
        {"Reply-To with an unclosed <", upop_set_reply_to(h, "Name <a@example.test")},
        {"message id with LF", upop_set_message_id(h, "<a@b>\nX: y")},
        {"priority 6", upop_set_priority(h, 6)},
        {"priority -1", upop_set_priority(h, -1)},
        {"SetMessage MIME type", upop_set_message(h, "x", "MIMEType=text/rtf")},
        {"SetMessage option", upop_set_message(h, "x", "Colour=blue")},
        {"attachment path with CR/LF", upop_add_attachment_from_file(h, "/tmp/x\r\nContent-Type: text/html", "")},
        {"attachment option", upop_add_attachment_from_file(h, "/etc/hostname", "Colour=blue")},
        {"inline ContentID", upop_add_inline_from_file(h, "/etc/hostname", "ContentID=has space")},
        {"Send MaxSize", upop_send(h, "MaxSize=lots")},
        {"Send IgnoreRcptError", upop_send(h, "IgnoreRcptError=perhaps")},
        {"Send option", upop_send(h, "Colour=blue")},
        {"SendMail MailSize < 0", upop_send_mail(h, "", "TO=a@b.test" UPOP_SEP_STR "FROM=c@d.test", "x", "", -1)},
        {"SendMail PRIORITY", upop_send_mail(h, "", "TO=a@b.test" UPOP_SEP_STR "FROM=c@d.test" UPOP_SEP_STR "PRIORITY=9", "x", "", 0)},
        {"SendMail label", upop_send_mail(h, "", "TO=a@b.test" UPOP_SEP_STR "FROM=c@d.test" UPOP_SEP_STR "Colour=blue", "x", "", 0)},
        {"SendMail SUBJECT with LF", upop_send_mail(h, "", "TO=a@b.test" UPOP_SEP_STR "FROM=c@d.test" UPOP_SEP_STR "SUBJECT=a\nb", "x", "", 0)},
        {"SendMail TO malformed", upop_send_mail(h, "", "TO=nobody" UPOP_SEP_STR "FROM=c@d.test", "x", "", 0)},
        {"option name", upop_set_option(h, "colour", "blue")},
        {"driver folder relative", upop_registry_add_path("drivers")},
        {"driver folder missing", upop_registry_add_path("/nonexistent/upopmail-drivers")},
    };
    for (auto &c : cases) {
        CAPTURE(c.what);
        CHECK(c.status == UPOP_E_PARAM);
    }
}

TEST_CASE("-12 is only From or every recipient missing") {
    Handle h;
    CHECK(upop_send_mail(h, "", "FROM=c@d.test", "x", "", 0) == UPOP_E_MISSING);
    CHECK(upop_send_mail(h, "", "TO=a@b.test", "x", "", 0) == UPOP_E_MISSING);
}

TEST_CASE("misuse is -10: NULL handle, a server type that is not UPOP_SMTP or UPOP_POP") {
    Handle h;
    CHECK(upop_connect(h, 3, "localhost", "", "") == UPOP_E_MISC);
    CHECK(upop_disconnect(h, 0) == UPOP_E_MISC);
    CHECK(upop_send(nullptr, "") == UPOP_E_MISC);
}

TEST_CASE("Send with refused recipients and IgnoreRcptError: the count, and a sentence that says so") {
    upop_fake::FakeServer srv([](upop_fake::FakeConn &c) {
        c.send("220 fake ESMTP\r\n");
        for (;;) {
            std::string l = c.read_line();
            if (c.eof()) return;
            std::string u = l.substr(0, 4);
            for (auto &ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            if (u == "EHLO") c.send("250-fake\r\n250 8BITMIME\r\n");
            else if (u == "RCPT") c.send(contains(l, "bad@") ? "550 5.1.1 no such user\r\n" : "250 ok\r\n");
            else if (u == "DATA") {
                c.send("354 go on\r\n");
                c.read_data();
                c.send("250 queued\r\n");
            } else if (u == "QUIT") {
                c.send("221 bye\r\n");
                return;
            } else c.send("250 ok\r\n");
        }
    });
    Handle h;
    REQUIRE_MESSAGE(upop_connect(h, UPOP_SMTP, srv.conn().c_str(), "", "") == UPOP_OK, h.err());
    REQUIRE(upop_set_from(h, "a@example.test") == UPOP_OK);
    REQUIRE(upop_set_to_list(h, "good@example.test;bad@example.test") == UPOP_OK);
    REQUIRE(upop_set_message(h, "hello", "") == UPOP_OK);
    CHECK(upop_send(h, "IgnoreRcptError=True") == 1);
    CHECK_MESSAGE(contains(h.err(), "refused"), h.err());
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    srv.join();
}

} // TEST_SUITE
