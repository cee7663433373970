// integrity_test.cpp — a status tells what happened on the wire (issue 10): a failure inside
// DATA never leaves the session there, a cancel after the final dot waits for the verdict,
// GetSMTPResponse shows this Send's reply, logoff reports an unconfirmed QUIT, destroy logs off
// POP, ListMail works without TOP.
#include "hostile/support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <string>

using namespace hostile;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

/** A private directory, removed at the end of the scope. */
struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/upop-integrity.XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void write_file(const fs::path& p, size_t size) {
    std::ofstream f(p, std::ios::binary);
    std::mt19937 rng(42);
    std::string block(65536, '\0');
    for (size_t done = 0; done < size; done += block.size()) {
        for (auto& ch : block) ch = static_cast<char>(rng());
        f.write(block.data(), static_cast<std::streamsize>(std::min(block.size(), size - done)));
    }
}

void compose(Handle& h) {
    REQUIRE(upop_set_from(h, "a@example.org") == 0);
    REQUIRE(upop_set_to_list(h, "b@example.org") == 0);
    REQUIRE(upop_set_message(h, "hello", "") == 0);
}

/** A command as this client writes it: "MAIL FROM:<...>", "RCPT TO:<...>" anywhere in the line (a
 *  command written after a half-sent base64 line is glued to its end), or "DATA", "RSET", ... */
bool is_command(const std::string& line) {
    for (std::string cmd : {"MAIL FROM:<", "RCPT TO:<"})
        if (line.find(cmd) != std::string::npos) return true;
    for (std::string cmd : {"DATA", "RSET", "QUIT", "NOOP"})
        if (line == cmd) return true;
    return line.rfind("EHLO ", 0) == 0;
}

std::string smtp_response(Handle& h, int32_t& code) {
    char buf[UPOP_REPLY_MAX];
    code = -1;
    REQUIRE(upop_get_smtp_response(h, &code, buf, sizeof buf) == 0);
    return buf;
}

} // namespace

TEST_SUITE("hostile: session integrity") {

TEST_CASE("an attachment that fails after the 354 aborts DATA without the final dot; no command ever travels "
          "inside DATA and the next Send returns -8 at once") {
    // The client blocks on a full socket while the server holds the data; meanwhile the test
    // truncates the big attachment (caught by the size/mtime check while streaming) or deletes a
    // second one (caught when it is opened).
    for (std::string how : {"truncated while sending", "second attachment deleted while sending"}) {
        CAPTURE(how);
        TempDir dir;
        const fs::path big = dir.path / "big.bin", second = dir.path / "second.txt";
        write_file(big, 16u << 20);
        write_file(second, 1000);
        std::promise<void> in_data, released;
        auto release = released.get_future().share();
        std::vector<std::string> data;
        bool saw_dot = false;
        FakeServer srv([&](FakeConn& c) {
            greet(c, {});
            accept_envelope(c);
            c.read_line(); // the first header line: the client is in DATA
            in_data.set_value();
            release.wait_for(20s);
            data = c.read_data();
            saw_dot = !c.eof();
            // anything after the data (a vulnerable client's next transaction) is recorded
            if (!c.eof()) c.wait_for_close(5s);
        }, 20s);
        {
            Handle h(3000);
            REQUIRE(h.connect(srv) == 0);
            compose(h);
            REQUIRE(upop_add_attachment_from_file(h, big.c_str(), "") == 0);
            REQUIRE(upop_add_attachment_from_file(h, second.c_str(), "") == 0);
            auto sent = std::async(std::launch::async, [&] { return upop_send(h, ""); });
            REQUIRE(in_data.get_future().wait_for(10s) == std::future_status::ready);
            if (how.rfind("truncated", 0) == 0) {
                REQUIRE(::truncate(big.c_str(), 1000) == 0);
            } else {
                REQUIRE(fs::remove(second));
            }
            released.set_value();
            REQUIRE(sent.wait_for(15s) == std::future_status::ready);
            int rc = sent.get();
            std::string err = h.err();
            INFO("last_error: " << err);
            CHECK(rc == UPOP_E_FILE);
            CHECK(contains(err, "nothing was delivered"));

            auto start = Clock::now();
            int again = upop_send(h, "");
            CHECK(Clock::now() - start < 1s);
            CHECK(again == UPOP_E_NOT_LOGGED_ON);
            CHECK(is_sentence(h.err()));
        }
        srv.join();
        CHECK_FALSE(saw_dot);
        CHECK(srv.count("MAIL FROM") == 1);
        for (auto& l : data) {
            if (is_command(l)) FAIL_CHECK("a command travelled inside DATA: " << l);
        }
    }
}

TEST_CASE("an attachment truncated between AddAttachment and Send is refused with -13 before anything is sent; "
          "the session stays usable") {
    TempDir dir;
    const fs::path f = dir.path / "report.pdf";
    write_file(f, 300000);
    FakeServer srv([](FakeConn& c) {
        greet(c, {});
        serve_smtp(c, SmtpOpts{});
    });
    {
        Handle h;
        REQUIRE(h.connect(srv) == 0);
        compose(h);
        REQUIRE(upop_add_attachment_from_file(h, f.c_str(), "") == 0);
        REQUIRE(::truncate(f.c_str(), 1000) == 0);
        CHECK(upop_send(h, "") == UPOP_E_FILE);
        CHECK(contains(h.err(), "changed after it was added"));
        // the same message without the changed file goes through on the same session
        REQUIRE(upop_clear_mail(h) == 0);
        compose(h);
        CHECK_MESSAGE(upop_send(h, "") == 0, h.err());
        CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    }
    srv.join();
    CHECK(srv.count("MAIL FROM") == 1);
    CHECK(srv.failure_text() == "");
}

TEST_CASE("upop_cancel after the final dot waits for the server's verdict: 250 means Send returns 0") {
    std::promise<void> dot_seen, cancelled;
    auto go = cancelled.get_future().share();
    FakeServer srv([&](FakeConn& c) {
        greet(c, {});
        accept_envelope(c);
        c.read_data();
        dot_seen.set_value();
        go.wait_for(10s);
        c.send("250 2.0.0 queued as 42\r\n");
        c.expect("QUIT");
        c.send("221 bye\r\n");
    });
    Trace trace;
    {
        Handle h(5000);
        REQUIRE(upop_set_trace(h, &Trace::cb, &trace) == 0);
        REQUIRE(h.connect(srv) == 0);
        compose(h);
        auto sent = std::async(std::launch::async, [&] { return upop_send(h.h, ""); });
        REQUIRE(dot_seen.get_future().wait_for(10s) == std::future_status::ready);
        CHECK(upop_cancel(h) == 0);
        cancelled.set_value();
        REQUIRE(sent.wait_for(10s) == std::future_status::ready);
        int rc = sent.get();
        CHECK_MESSAGE(rc == 0, h.err());
        int32_t code = 0;
        CHECK(smtp_response(h, code) == "2.0.0 queued as 42");
        CHECK(code == 250);
        // the cancellation was consumed: logoff is not hit by it
        CHECK_MESSAGE(upop_disconnect(h, UPOP_SMTP) == 0, h.err());
    }
    srv.join();
    CHECK(srv.failure_text() == "");
    bool noted = false;
    for (auto& l : trace.copy()) noted = noted || contains(l, "cancellation came while the server's verdict");
    CHECK(noted);
}

TEST_CASE("no reply to the final dot within timeout_ms: -4 and a sentence that says the message may have been "
          "delivered") {
    FakeServer srv([](FakeConn& c) {
        greet(c, {});
        accept_envelope(c);
        c.read_data();
        c.wait_for_close(5s);
    }, 6s);
    {
        Handle h(500);
        REQUIRE(h.connect(srv) == 0);
        compose(h);
        CHECK(upop_send(h, "") == UPOP_E_TIMEOUT);
        CHECK(contains(h.err(), "MAY HAVE BEEN DELIVERED"));
        CHECK(upop_send(h, "") == UPOP_E_NOT_LOGGED_ON);
    }
    srv.join();
    CHECK(srv.failure_text() == "");
}

TEST_CASE("GetSMTPResponse after a failed Send is this Send's last reply (or none), without control bytes") {
    SUBCASE("the server refuses MAIL with 451") {
        FakeServer srv([](FakeConn& c) {
            c.send("220 fake.example \x1b[31mESMTP\x1b[0m\r\n");
            c.expect("EHLO");
            c.send("250-fake.example \x1b[2J\x07hello\r\n250 SIZE 1000000\r\n");
            c.expect("MAIL FROM");
            c.send("451 4.3.0 \x1b[5mtry\x1b[0m later\r\n");
            c.expect("RSET");
            c.send("250 flushed\r\n");
            c.expect("QUIT");
            c.send("221 bye\r\n");
        });
        {
            Handle h;
            REQUIRE(h.connect(srv) == 0);
            int32_t code = 0;
            std::string text = smtp_response(h, code);
            CHECK(code == 250);
            CHECK(text == "fake.example [2Jhello\nSIZE 1000000");
            compose(h);
            CHECK(upop_send(h, "") == UPOP_E_PARAM);
            text = smtp_response(h, code);
            CHECK(code == 451);
            CHECK(text == "4.3.0 [5mtry[0m later");
            CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
        }
        srv.join();
        CHECK(srv.failure_text() == "");
    }
    SUBCASE("the connection drops before any reply to MAIL: no reply") {
        FakeServer srv([](FakeConn& c) {
            greet(c, {});
            c.expect("MAIL FROM");
            c.close();
        });
        {
            Handle h;
            REQUIRE(h.connect(srv) == 0);
            compose(h);
            CHECK(upop_send(h, "") == UPOP_E_NETWORK);
            int32_t code = -1;
            CHECK(smtp_response(h, code) == "");
            CHECK(code == 0);
        }
        srv.join();
    }
}

TEST_CASE("LogoffMail returns -9 when QUIT is not confirmed: the deletions were not committed") {
    struct Case {
        const char* name;
        std::string answer; // "" closes without an answer
    };
    for (const Case& k : {Case{"no answer, connection closed", ""}, Case{"-ERR", "-ERR some deleted messages not removed\r\n"}}) {
        std::string name = k.name;
        CAPTURE(name);
        FakeServer srv([&](FakeConn& c) {
            pop_logon(c);
            c.expect("DELE 1");
            c.send("+OK marked\r\n");
            c.expect("QUIT");
            if (!k.answer.empty()) c.send(k.answer);
            c.close();
        });
        {
            Handle h;
            REQUIRE(h.connect_pop(srv) == 0);
            REQUIRE(upop_delete_mail(h, 1) == 0);
            CHECK(upop_disconnect(h, UPOP_POP) == UPOP_E_NETWORK);
            CHECK(contains(h.err(), "deletions"));
            CHECK(upop_disconnect(h, UPOP_POP) == UPOP_E_NOT_LOGGED_ON);
        }
        srv.join();
        CHECK(srv.failure_text() == "");
    }
    SUBCASE("SMTP: QUIT unanswered") {
        FakeServer srv([](FakeConn& c) {
            greet(c, {});
            c.expect("QUIT");
            c.close();
        });
        {
            Handle h;
            REQUIRE(h.connect(srv) == 0);
            CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_E_NETWORK);
            CHECK(is_sentence(h.err()));
        }
        srv.join();
    }
}

TEST_CASE("upop_destroy while logged on to POP sends QUIT (the deletions are committed)") {
    FakeServer srv([](FakeConn& c) {
        pop_logon(c);
        c.expect("DELE 1");
        c.send("+OK marked\r\n");
        c.expect("QUIT");
        c.send("+OK bye\r\n");
    });
    {
        Handle h;
        REQUIRE(h.connect_pop(srv) == 0);
        REQUIRE(upop_delete_mail(h, 1) == 0);
    } // destroyed here, without upop_disconnect
    srv.join();
    CHECK(srv.saw("QUIT"));
    CHECK(srv.failure_text() == "");
}

TEST_CASE("ListMail on a server without TOP lists every message, with empty header fields") {
    for (bool capa : {true, false}) {
        CAPTURE(capa);
        FakeServer srv([&](FakeConn& c) {
            pop_logon(c, capa); // CAPA: USER only (no TOP); or no CAPA at all
            c.expect("STAT");
            c.send("+OK 2 300\r\n");
            c.expect("LIST");
            c.send("+OK\r\n1 100\r\n2 200\r\n.\r\n");
            c.expect("UIDL");
            c.send("+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n");
            for (;;) { // without CAPA the client may try TOP: refuse it
                std::string l = c.read_line();
                if (c.eof()) return;
                if (lower(l).rfind("top", 0) == 0) {
                    c.send("-ERR unknown command\r\n");
                    continue;
                }
                if (lower(l) == "quit") c.send("+OK bye\r\n");
                return;
            }
        });
        {
            Handle h;
            REQUIRE(h.connect_pop(srv) == 0);
            char buf[4096];
            int n = upop_list_mail(h, buf, sizeof buf);
            INFO("list: " << buf << " | " << h.err());
            CHECK(n == 2);
            CHECK(contains(buf, "ID=1"));
            CHECK(contains(buf, "ID=2" UPOP_SEP_STR "FROM=" UPOP_SEP_STR "SUBJECT="));
            CHECK(contains(buf, "SIZE=200" UPOP_SEP_STR "UIDL=bbb"));
            CHECK(upop_disconnect(h, UPOP_POP) == 0);
        }
        srv.join();
        if (capa) CHECK_FALSE(srv.saw("TOP"));
        CHECK(srv.failure_text() == "");
    }
}

}
