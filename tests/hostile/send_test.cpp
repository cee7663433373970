// send_test.cpp — what reaches the wire in DATA: line endings normalised to CRLF, dot-stuffing,
// exactly one end-of-data marker whatever the body contains (SMTP smuggling), no line over 1000
// octets (SPEC §5, RFC 5321 §2.3.8 / §4.5.2 / §4.5.3.1).
#include "hostile/support.hpp"

#include <algorithm>
#include <string>

using namespace hostile;

namespace {

struct Wire {
    int send_rc = 0;
    std::string err;
    std::string raw;                // every byte the server received
    std::vector<std::string> lines; // the server's transcript
    std::string failures;
};

/** Logs on (no drivers), sends one message with body, logs off; returns what the server saw. */
Wire send_body(const std::string& body, std::vector<std::string> caps = {"8BITMIME"}) {
    FakeServer srv([caps](FakeConn& c) {
        accept_all_smtp(c, caps);
    }, 5s);
    Wire w;
    {
        Handle h;
        REQUIRE(h.connect(srv) == 0);
        REQUIRE(upop_set_from(h, "a@example.com") == 0);
        REQUIRE(upop_set_to_list(h, "b@example.com") == 0);
        REQUIRE(upop_set_subject(h, "smuggling test") == 0);
        REQUIRE(upop_set_message(h, body.c_str(), "MIMEType=text/plain") == 0);
        w.send_rc = upop_send(h, "");
        w.err = h.err();
        CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    }
    srv.join();
    w.raw = srv.raw();
    w.lines = srv.lines();
    w.failures = srv.failure_text();
    return w;
}

/** Offsets of bare CR and bare LF in s (empty when every CR/LF is part of a CRLF). */
std::string bare_cr_lf(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) out += "bare CR at " + std::to_string(i) + "; ";
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += "bare LF at " + std::to_string(i) + "; ";
    }
    return out;
}

std::size_t count_of(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

/** The DATA content lines (between the DATA command and the "." line), from the transcript. */
std::vector<std::string> data_lines(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    bool in = false;
    for (auto& l : lines) {
        if (!in) {
            if (l == "DATA") in = true;
            continue;
        }
        if (l == ".") break;
        out.push_back(l);
    }
    return out;
}

/** The common invariants of one sent message. */
void check_wire(const Wire& w) {
    INFO("send -> " << w.send_rc << ": " << w.err << " | server: " << w.failures);
    CHECK(w.send_rc == 0);
    CHECK(bare_cr_lf(w.raw) == "");
    // Split the transcript the way the server saw it: commands, DATA content up to the first
    // "." line, commands after it.
    std::vector<std::string> commands;
    std::size_t dots = 0;
    bool in_data = false, data_done = false;
    for (auto& l : w.lines) {
        if (l == ".") ++dots;
        if (in_data) {
            if (l == ".") {
                in_data = false;
                data_done = true;
            }
            continue;
        }
        commands.push_back(l);
        if (l == "DATA" && !data_done) in_data = true;
    }
    auto n_cmds = [&](const std::string& prefix) {
        return std::count_if(commands.begin(), commands.end(),
                             [&](const std::string& c) { return c.rfind(prefix, 0) == 0; });
    };
    CHECK(n_cmds("MAIL FROM:") == 1);
    CHECK(n_cmds("DATA") == 1);
    CHECK(dots == 1); // the only "." line is the terminator
    CHECK(count_of(w.raw, "\r\n.\r\n") == 1);
    // After the terminator only the logoff follows: no smuggled second transaction.
    auto end = w.raw.find("\r\n.\r\n");
    REQUIRE(end != std::string::npos);
    std::string after = w.raw.substr(end + 5);
    CHECK((after == "QUIT\r\n" || after == "RSET\r\nQUIT\r\n"));
    CHECK(w.failures == "");
}

} // namespace

TEST_SUITE("hostile: DATA on the wire") {

TEST_CASE("bare LF and bare CR in the body become CRLF on the wire") {
    Wire w = send_body("line one\nline two\rline three\r\n\nafter an empty line\n");
    check_wire(w);
    auto d = data_lines(w.lines);
    for (std::string want : {"line one", "line two", "line three", "after an empty line"})
        CHECK_MESSAGE(std::find(d.begin(), d.end(), want) != d.end(), "missing body line: " << want);
}

TEST_CASE("lines starting with '.' are doubled, and a lone '.' line does not end the data") {
    Wire w = send_body("first\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n");
    check_wire(w);
    auto d = data_lines(w.lines);
    auto has = [&](const std::string& l) { return std::find(d.begin(), d.end(), l) != d.end(); };
    CHECK(has("first"));
    CHECK(has("..leading dot"));
    CHECK(has("...two dots"));
    CHECK(has(".."));
    CHECK(has("last line"));
    CHECK_FALSE(has(".leading dot"));
}

TEST_CASE("SMTP smuggling: no end-of-data variant in the body ends the DATA early") {
    // Each variant is followed by a would-be second transaction.
    const std::string evil = "MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n";
    for (std::string variant : {"\n.\n", "\r.\r", "\r\n.\r", "\n.\r\n", "\r\n.\n", "\n.\r", "\r.\n", "\r.\r\n",
                                "\r\n.\r\r\n", "\n\n.\n\n"}) {
        std::string shown;
        for (char ch : variant) shown += ch == '\r' ? "\\r" : ch == '\n' ? "\\n" : std::string(1, ch);
        CAPTURE(shown);
        Wire w = send_body("Hello" + variant + evil + "Smuggled body\r\n", {"8BITMIME", "PIPELINING"});
        check_wire(w);
        // The text after the variant is still inside the one message.
        auto d = data_lines(w.lines);
        bool smuggled_inside = false;
        for (auto& l : d)
            if (l.find("Smuggled body") != std::string::npos) smuggled_inside = true;
        CHECK(smuggled_inside);
    }
}

TEST_CASE("a body ending in a lone dot without line end is stuffed and terminated properly") {
    Wire w = send_body("ends with a dot line\r\n.");
    check_wire(w);
    auto d = data_lines(w.lines);
    CHECK(std::find(d.begin(), d.end(), "..") != d.end());
}

TEST_CASE("no wire line is longer than 1000 octets, even for a 5000-character body line") {
    Wire w = send_body("short\r\n" + std::string(5000, 'x') + "\r\nend\r\n");
    check_wire(w);
    std::size_t longest = 0;
    for (auto& l : w.lines) longest = std::max(longest, l.size() + 2);
    CHECK(longest <= 1000);
}

TEST_CASE("a server that accepts DATA after refusing every recipient never gets the body") {
    // With PIPELINING the client sends MAIL, RCPT and DATA in one batch; a broken server then
    // says 354 although no recipient was accepted. The body must not follow.
    FakeServer srv([](FakeConn& c) {
        greet(c, {"PIPELINING", "8BITMIME"});
        c.expect("MAIL FROM:");
        c.send("250 2.1.0 OK\r\n");
        c.expect("RCPT TO:");
        c.send("550 5.1.1 No such user\r\n");
        std::string l = c.read_line();
        if (l == "DATA") c.send("354 go on\r\n");
        serve_smtp(c, SmtpOpts{{"PIPELINING", "8BITMIME"}, {}, "", "", true});
    }, 5s);
    Handle h;
    REQUIRE(h.connect(srv) == 0);
    REQUIRE(upop_set_from(h, "a@example.com") == 0);
    REQUIRE(upop_set_to_list(h, "nobody@example.com") == 0);
    REQUIRE(upop_set_message(h, "SECRET BODY TEXT\r\n", "") == 0);
    int rc = upop_send(h, "");
    std::string err = h.err();
    h.close();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc == UPOP_E_PARAM);
    CHECK(is_sentence(err));
    CHECK_FALSE(srv.received("SECRET BODY TEXT"));
}

TEST_CASE("DATA answered with 250 instead of 354: the body is not sent as commands") {
    FakeServer srv([](FakeConn& c) {
        greet(c, {"8BITMIME"});
        c.expect("MAIL FROM:");
        c.send("250 2.1.0 OK\r\n");
        c.expect("RCPT TO:");
        c.send("250 2.1.5 OK\r\n");
        c.expect("DATA");
        c.send("250 2.0.0 OK\r\n");
        serve_smtp(c, SmtpOpts{{"8BITMIME"}, {}, "", "", true});
    }, 5s);
    Handle h;
    REQUIRE(h.connect(srv) == 0);
    REQUIRE(upop_set_from(h, "a@example.com") == 0);
    REQUIRE(upop_set_to_list(h, "b@example.com") == 0);
    REQUIRE(upop_set_message(h, "SECRET BODY TEXT\r\nMAIL FROM:<evil@example.com>\r\n", "") == 0);
    int rc = upop_send(h, "");
    std::string err = h.err();
    h.close();
    srv.join();
    INFO("last_error: " << err << " | server: " << srv.failure_text());
    CHECK(rc < 0);
    CHECK(is_sentence(err));
    CHECK_FALSE(srv.received("SECRET BODY TEXT"));
    CHECK(srv.count("MAIL FROM:") == 1);
}

} // TEST_SUITE
