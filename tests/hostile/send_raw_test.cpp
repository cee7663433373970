// send_raw_test.cpp — the sending additions of 0.2 on the wire of a scripted server: SendRaw's
// envelope taken from a hostile header section (folded To with groups and comments, bare CR
// and LF, NUL, no separator, a huge line, no recipient at all), the Bcc field removed, the
// message otherwise as it was; the envelope sender; DSN parameters and the "DSN not requested"
// sentence; a fresh Message-ID per Send; extra header fields; attachments from memory.
#include "hostile/support.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>

using namespace hostile;

namespace {

struct Sent {
    int rc = 0;
    std::string err;
    std::vector<std::string> lines; // the server's transcript
    std::string raw;                // every byte it received
    std::string failures;
    std::vector<std::string> commands() const {
        std::vector<std::string> out;
        bool in = false;
        for (auto &l : lines) {
            if (in) {
                if (l == ".") in = false;
                continue;
            }
            out.push_back(l);
            if (l == "DATA") in = true;
        }
        return out;
    }
    // the DATA content of transaction n, un-stuffed, CRLF line ends
    std::string data(size_t n = 0) const {
        std::string out;
        bool in = false;
        size_t seen = 0;
        for (auto &l : lines) {
            if (!in) {
                if (l == "DATA" && seen++ == n) in = true;
                continue;
            }
            if (l == ".") break;
            out += (l.rfind("..", 0) == 0 ? l.substr(1) : l) + "\r\n";
        }
        return out;
    }
    bool has_command(const std::string &c) const {
        auto cmds = commands();
        return std::find(cmds.begin(), cmds.end(), c) != cmds.end();
    }
};

const std::vector<std::string> kCaps = {"8BITMIME", "PIPELINING"};

// Logs on to a scripted server offering caps, runs fn(h), which returns the status to keep, logs off.
Sent on_fake(const std::function<int(Handle &)> &fn, std::vector<std::string> caps = kCaps) {
    FakeServer srv([caps](FakeConn &c) {
        accept_all_smtp(c, caps);
    }, 10s);
    Sent s;
    {
        Handle h;
        REQUIRE(h.connect(srv) == 0);
        s.rc = fn(h);
        s.err = h.err();
        upop_disconnect(h, UPOP_SMTP);
    }
    srv.join();
    s.lines = srv.lines();
    s.raw = srv.raw();
    s.failures = srv.failure_text();
    return s;
}

Sent raw(const std::string &msg, const std::string &rcpts = "", const std::string &opts = "",
         std::vector<std::string> caps = kCaps) {
    return on_fake([&](Handle &h) { return upop_send_raw(h, msg.data(), msg.size(), rcpts.c_str(), opts.c_str()); },
                   caps);
}

std::string crlf(const std::string &s) {
    std::string o;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) o += '\r';
        o += s[i];
    }
    return o;
}

bool bare_cr_or_lf(const std::string &s) {
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return true;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
    }
    return false;
}

std::string field(const std::string &data, const std::string &name) {
    auto at = data.find("\r\n" + name + ": ");
    if (at == std::string::npos) return data.rfind(name + ": ", 0) == 0 ? data.substr(name.size() + 2, data.find("\r\n") - name.size() - 2) : "";
    at += 2 + name.size() + 2;
    return data.substr(at, data.find("\r\n", at) - at);
}

} // namespace

TEST_SUITE("hostile: SendRaw and the sending additions") {

TEST_CASE("SendRaw: recipients from a folded To with a group and comments, Cc and Bcc; Bcc removed; the rest as it was") {
    const std::string msg =
        "From: \"Sender, S.\" (the boss) <boss@example.com>\n"
        "To: Team: a@example.com (Alice),\n"
        " \"B, b\" <b@example.com>;, c@example.com\n"
        "Cc: undisclosed-recipients:;, <@route.example:d@example.com>\n"
        "Bcc: hidden@example.com,\n"
        "\tother.hidden@example.com\n"
        "Subject: raw\n"
        "\n"
        "Body line\n.leading dot\nBcc: not a header\n";
    Sent s = raw(msg);
    INFO("rc " << s.rc << ": " << s.err << " | " << s.failures);
    REQUIRE(s.rc == 0);
    CHECK(s.err == "");
    auto cmds = s.commands();
    CHECK(s.has_command("MAIL FROM:<boss@example.com> BODY=8BITMIME"));
    for (const char *r : {"a@example.com", "b@example.com", "c@example.com", "d@example.com", "hidden@example.com",
                          "other.hidden@example.com"})
        CHECK_MESSAGE(s.has_command(std::string("RCPT TO:<") + r + ">"), r);
    CHECK(std::count_if(cmds.begin(), cmds.end(), [](auto &c) { return c.rfind("RCPT", 0) == 0; }) == 6);
    std::string data = s.data();
    // the Bcc field (and its continuation) is gone; everything else is the message, CRLF
    std::string want = crlf(msg);
    auto b = want.find("Bcc: hidden");
    want.erase(b, want.find("Subject:") - b);
    CHECK(data == want);
    CHECK(data.find("hidden") == std::string::npos);
    // no Date or Message-ID was added
    CHECK(data.find("Date:") == std::string::npos);
    CHECK(data.find("Message-ID:") == std::string::npos);
    CHECK_FALSE(bare_cr_or_lf(s.raw));
}

TEST_CASE("SendRaw: explicit recipients send the message unchanged; Sender beats From; the envelope sender beats both") {
    const std::string msg = "From: a@example.com\r\nSender: s@example.com\r\nTo: t@example.com\r\nBcc: kept@example.com\r\n\r\nhi\r\n";
    Sent s = raw(msg, "x@example.com;y@example.com");
    REQUIRE_MESSAGE(s.rc == 0, s.err);
    CHECK(s.has_command("MAIL FROM:<s@example.com> BODY=8BITMIME"));
    CHECK(s.has_command("RCPT TO:<x@example.com>"));
    CHECK(s.has_command("RCPT TO:<y@example.com>"));
    CHECK_FALSE(s.has_command("RCPT TO:<t@example.com>"));
    CHECK(s.data() == msg); // as it is, its Bcc field too

    for (const char *env : {"<>", "Bounce Handler <bounces@example.net>"}) {
        CAPTURE(env);
        Sent e = on_fake([&](Handle &h) {
            REQUIRE(upop_set_envelope_from(h, env) == 0);
            return upop_send_raw(h, msg.data(), msg.size(), "", "");
        });
        REQUIRE_MESSAGE(e.rc == 0, e.err);
        CHECK(e.has_command(std::string("MAIL FROM:") + (env[0] == '<' ? "<>" : "<bounces@example.net>") +
                            " BODY=8BITMIME"));
    }
}

TEST_CASE("SendRaw: no recipient, no sender, NUL, a header section without end: clear statuses, nothing sent") {
    struct Case {
        const char *what;
        std::string msg, rcpts;
        int rc;
        const char *says;
    } cases[] = {
        {"no recipient at all", "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n", "", UPOP_E_MISSING, "no recipient"},
        {"only an empty group", "From: a@example.com\r\nTo: undisclosed-recipients:;\r\n\r\nbody\r\n", "", UPOP_E_MISSING,
         "no recipient"},
        {"no From or Sender", "To: b@example.com\r\n\r\nbody\r\n", "", UPOP_E_MISSING, "no Sender or From"},
        {"no header at all", "just a body line\r\nand another\r\n", "b@example.com", UPOP_E_MISSING, "no Sender or From"},
        {"a NUL in the header", std::string("From: a@example.com\r\nTo: b@exam\0ple.com\r\n\r\nbody\r\n", 45), "",
         UPOP_E_PARAM, "NUL byte (line 2)"},
        {"an unclosed comment", "From: a@example.com\r\nTo: b@example.com (oops\r\n\r\nbody\r\n", "", UPOP_E_PARAM,
         "To field of the message"},
        {"a malformed address", "From: a@example.com\r\nTo: not an address\r\n\r\nbody\r\n", "", UPOP_E_PARAM,
         "not a valid e-mail address"},
        {"a 300 KB header line", "From: a@example.com\r\nX-Long: " + std::string(300000, 'x') + "\r\nTo: b@example.com\r\n\r\nb\r\n",
         "", UPOP_E_SIZE, "does not end within its first 262144 bytes"},
        {"a bad explicit recipient", "From: a@example.com\r\n\r\nbody\r\n", "nope", UPOP_E_PARAM, "not a valid e-mail address"},
    };
    for (auto &c : cases) {
        CAPTURE(c.what);
        Sent s = raw(c.msg, c.rcpts);
        CHECK(s.rc == c.rc);
        CHECK_MESSAGE(s.err.find(c.says) != std::string::npos, s.err);
        CHECK(is_sentence(s.err));
        auto cmds = s.commands();
        CHECK(std::none_of(cmds.begin(), cmds.end(), [](auto &l) { return l.rfind("MAIL", 0) == 0; }));
    }
}

TEST_CASE("SendRaw: a message without header/body separator, and a huge header with the envelope given, go as they are") {
    Sent s = raw("From: a@example.com\nTo: b@example.com\nSubject: no body, no empty line");
    REQUIRE_MESSAGE(s.rc == 0, s.err);
    CHECK(s.has_command("RCPT TO:<b@example.com>"));
    CHECK(s.data() == "From: a@example.com\r\nTo: b@example.com\r\nSubject: no body, no empty line\r\n");

    // nothing is needed from the header: it is streamed as it is, however long its lines
    std::string big = "X-Long: " + std::string(400000, 'y') + "\r\nFrom: a@example.com\r\n\r\nbody\r\n";
    Sent b = on_fake([&](Handle &h) {
        REQUIRE(upop_set_envelope_from(h, "a@example.com") == 0);
        return upop_send_raw(h, big.data(), big.size(), "b@example.com", "");
    });
    REQUIRE_MESSAGE(b.rc == 0, b.err);
    CHECK(b.raw.find("X-Long: " + std::string(400000, 'y') + "\r\n") != std::string::npos); // the caller's line, whole
    CHECK(b.data().find("\r\nFrom: a@example.com\r\n\r\nbody\r\n") != std::string::npos);
}

TEST_CASE("SendRaw: bare CR and LF in the header are line ends; a Bcc behind a bare CR is still removed") {
    const std::string msg = "From: a@example.com\rTo: b@example.com\nSubject: x\rBcc: secret@example.com\r\n\nbody\rmore\n";
    Sent s = raw(msg);
    REQUIRE_MESSAGE(s.rc == 0, s.err);
    CHECK(s.has_command("RCPT TO:<secret@example.com>"));
    CHECK(s.data() == "From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\n\r\nbody\r\nmore\r\n");
    CHECK_FALSE(bare_cr_or_lf(s.raw));
}

TEST_CASE("SendRaw from a file: streamed as it is; a missing file is -13") {
    char tmpl[] = "/tmp/upop-raw-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    std::string msg = "From: a@example.com\nTo: b@example.com\nSubject: file\n\n";
    for (int i = 0; i < 20000; ++i) msg += "line " + std::to_string(i) + (i % 7 ? "\n" : "\n.dot\n");
    REQUIRE(write(fd, msg.data(), msg.size()) == static_cast<ssize_t>(msg.size()));
    close(fd);
    Sent s = on_fake([&](Handle &h) { return upop_send_raw_file(h, tmpl, "", "MaxSize=10000000"); });
    REQUIRE_MESSAGE(s.rc == 0, s.err);
    CHECK(s.data() == crlf(msg));
    Sent small = on_fake([&](Handle &h) { return upop_send_raw_file(h, tmpl, "", "MaxSize=1000"); });
    CHECK(small.rc == UPOP_E_SIZE);
    CHECK(small.err.find("MaxSize") != std::string::npos);
    std::remove(tmpl);
    Sent gone = on_fake([&](Handle &h) { return upop_send_raw_file(h, tmpl, "", ""); });
    CHECK(gone.rc == UPOP_E_FILE);
    CHECK(gone.err.find(tmpl) != std::string::npos);
}

TEST_CASE("DSN: NOTIFY, RET and ENVID (xtext) go out when the server offers DSN; without it the send says so") {
    const std::string msg = "From: a@example.com\r\nTo: b@example.com\r\n\r\nbody\r\n";
    const std::string opts = "Notify=success, failure" UPOP_SEP_STR "Ret=hdrs" UPOP_SEP_STR "EnvId=id+1=x y;z";
    Sent s = raw(msg, "", opts, {"8BITMIME", "PIPELINING", "DSN"});
    REQUIRE_MESSAGE(s.rc == 0, s.err);
    CHECK(s.err == "");
    CHECK(s.has_command("MAIL FROM:<a@example.com> BODY=8BITMIME RET=HDRS ENVID=id+2B1+3Dx+20y;z"));
    CHECK(s.has_command("RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE"));

    Sent n = raw(msg, "", opts);
    REQUIRE(n.rc == 0);
    CHECK(n.err.find("DSN not requested") != std::string::npos);
    CHECK(n.has_command("MAIL FROM:<a@example.com> BODY=8BITMIME"));
    CHECK(n.has_command("RCPT TO:<b@example.com>"));

    // Send too, with a refused recipient: the count stays the status, both facts in the sentence
    Sent r = on_fake([&](Handle &h) {
        REQUIRE(upop_set_from(h, "a@example.com") == 0);
        REQUIRE(upop_set_to_list(h, "b@example.com") == 0);
        REQUIRE(upop_set_message(h, "x", "") == 0);
        return upop_send(h, "Notify=NEVER" UPOP_SEP_STR "IgnoreRcptError=True");
    });
    REQUIRE(r.rc == 0);
    CHECK(r.err.find("DSN not requested") != std::string::npos);

    for (const char *bad : {"Notify=NEVER,SUCCESS", "Notify=SOMETIMES", "Notify=", "Notify=SUCCESS,SUCCESS", "Ret=ALL",
                            "EnvId=", "Bogus=1"}) {
        CAPTURE(bad);
        Sent b = raw(msg, "", bad, {"8BITMIME", "PIPELINING", "DSN"});
        CHECK(b.rc == UPOP_E_PARAM);
        CHECK(is_sentence(b.err));
        CHECK_FALSE(b.has_command("MAIL FROM:<a@example.com> BODY=8BITMIME"));
    }
}

TEST_CASE("Message-ID: a fresh one for every Send of one composition; an explicit one stays until ClearMail") {
    std::string ids[4];
    Sent s = on_fake([&](Handle &h) {
        REQUIRE(upop_set_from(h, "a@sender.example") == 0);
        REQUIRE(upop_set_to_list(h, "b@example.com") == 0);
        REQUIRE(upop_set_message(h, "x", "") == 0);
        REQUIRE(upop_send(h, "") == 0);
        REQUIRE(upop_send(h, "") == 0);
        REQUIRE(upop_set_message_id(h, "<mine@example.org>") == 0);
        REQUIRE(upop_send(h, "") == 0);
        REQUIRE(upop_clear_mail(h) == 0);
        REQUIRE(upop_set_from(h, "a@sender.example") == 0);
        REQUIRE(upop_set_to_list(h, "b@example.com") == 0);
        return upop_send(h, "");
    });
    REQUIRE_MESSAGE(s.rc == 0, s.err);
    for (int i = 0; i < 4; ++i) ids[i] = field(s.data(i), "Message-ID");
    CHECK(ids[0].size() > 20);
    CHECK(ids[0].find("@sender.example>") != std::string::npos);
    CHECK(ids[0] != ids[1]);
    CHECK(ids[2] == "<mine@example.org>");
    CHECK(ids[3] != "<mine@example.org>");
    CHECK(ids[3].find("@sender.example>") != std::string::npos);
}

TEST_CASE("upop_add_header: extra fields written (non-ASCII encoded), the composer's refused by name, ClearMail clears") {
    Sent s = on_fake([&](Handle &h) {
        REQUIRE(upop_set_from(h, "a@example.com") == 0);
        REQUIRE(upop_set_to_list(h, "b@example.com") == 0);
        REQUIRE(upop_add_header(h, "In-Reply-To", "<parent@example.com>") == 0);
        REQUIRE(upop_add_header(h, "X-Note", "gr\xC3\xBC\xC3\x9F dich") == 0);
        struct {
            const char *name, *value;
            int rc;
            const char *says;
        } refused[] = {{"Subject", "x", UPOP_E_PARAM, "Subject is set with upop_set_subject"},
                       {"from", "x", UPOP_E_PARAM, "upop_set_from"},
                       {"Content-Type", "text/plain", UPOP_E_PARAM, "upop_set_message"},
                       {"Message-ID", "<a@b>", UPOP_E_PARAM, "upop_set_message_id"},
                       {"Bad Name", "x", UPOP_E_PARAM, "not a valid header field name"},
                       {"X-Colon:", "x", UPOP_E_PARAM, "not a valid header field name"},
                       {"", "x", UPOP_E_PARAM, "field name"},
                       {"X-Inject", "a\r\nBcc: evil@example.com", UPOP_E_PARAM, "line break"},
                       {"X-Inject", "a\nb", UPOP_E_PARAM, "line break"}};
        for (auto &r : refused) {
            CAPTURE(r.name);
            CHECK(upop_add_header(h, r.name, r.value) == r.rc);
            CHECK_MESSAGE(h.err().find(r.says) != std::string::npos, h.err());
        }
        REQUIRE(upop_send(h, "") == 0);
        REQUIRE(upop_clear_mail(h) == 0);
        REQUIRE(upop_set_from(h, "a@example.com") == 0);
        REQUIRE(upop_set_to_list(h, "b@example.com") == 0);
        return upop_send(h, "");
    });
    REQUIRE_MESSAGE(s.rc == 0, s.err);
    CHECK(field(s.data(0), "In-Reply-To") == "<parent@example.com>");
    CHECK(field(s.data(0), "X-Note") == "=?UTF-8?B?Z3LDvMOfIGRpY2g=?=");
    CHECK(s.data(0).find("evil") == std::string::npos);
    CHECK(field(s.data(1), "In-Reply-To") == "");
}

TEST_CASE("attachments from memory: copied at the call, RFC 2231 name, ContentID makes them inline") {
    std::string bytes(3000, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
    Sent s = on_fake([&](Handle &h) {
        REQUIRE(upop_set_from(h, "a@example.com") == 0);
        REQUIRE(upop_set_to_list(h, "b@example.com") == 0);
        REQUIRE(upop_set_message(h, "<p><img src=\"cid:logo1\"></p>", "MIMEType=text/html") == 0);
        std::string copy = bytes;
        REQUIRE(upop_add_attachment_from_memory(h, copy.data(), copy.size(), "r\xC3\xA9sum\xC3\xA9.bin", "") == 0);
        copy.assign(copy.size(), 'X'); // the library holds its own copy
        REQUIRE(upop_add_attachment_from_memory(h, "GIF89a", 6, "logo.gif", "ContentID=logo1") == 0);
        CHECK(upop_add_attachment_from_memory(h, nullptr, 5, "x.bin", "") == UPOP_E_MISC);
        CHECK(upop_add_attachment_from_memory(h, "x", 1, "", "") == UPOP_E_PARAM);
        CHECK(upop_add_attachment_from_memory(h, "x", 1, "a\r\nb", "") == UPOP_E_PARAM);
        CHECK(upop_add_attachment_from_memory(h, "x", 1, "x.bin", "Bogus=1") == UPOP_E_PARAM);
        CHECK(upop_add_attachment_from_memory(h, nullptr, 0, "empty.txt", "MIMEType=text/plain") == 0);
        return upop_send(h, "");
    });
    REQUIRE_MESSAGE(s.rc == 0, s.err);
    std::string d = s.data();
    CHECK(d.find("filename*=UTF-8''r%C3%A9sum%C3%A9.bin") != std::string::npos);
    CHECK(d.find("Content-Type: multipart/related") != std::string::npos);
    CHECK(d.find("Content-ID: <logo1>") != std::string::npos);
    CHECK(d.find("Content-Type: image/gif") != std::string::npos);
    CHECK(d.find("R0lGODlh") != std::string::npos); // "GIF89a" in base64
    CHECK(d.find("filename=\"empty.txt\"") != std::string::npos);
    // the first attachment's bytes, base64 in 76-character lines: the first line
    static const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    for (size_t i = 0; i + 2 < 57; i += 3) {
        unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
        for (int k = 18; k >= 0; k -= 6) b64 += tab[(v >> k) & 63];
    }
    CHECK(d.find("\r\n" + b64 + "\r\n") != std::string::npos);
}

} // TEST_SUITE
