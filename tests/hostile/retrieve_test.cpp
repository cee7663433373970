// retrieve_test.cpp — upop_retrieve (issue 11) against scripted POP3 servers: messages arrive
// un-stuffed, NUL-safe and with CRLF line ends however the bytes are split; RETR is pipelined when
// the server offers PIPELINING (the server reads every command of the window before it answers
// the first, which only a pipelining client survives); a -ERR inside the window skips that message
// only; a callback that stops gets -10 with the session still in step; a dripping server, one that
// never ends its message and one that sends more than kMaxMessageBytes get their statuses with the
// connection closed; upop_cancel from the callback ends the call.
#include "hostile/support.hpp"

#include <map>
#include <thread>

using namespace hostile;

namespace {

/** Greeting, CAPA (with PIPELINING when pipelining), USER, PASS. */
void logon(FakeConn& c, bool pipelining) {
    c.send("+OK fake POP3 ready\r\n");
    c.expect("CAPA");
    c.send(pipelining ? "+OK\r\nUSER\r\nTOP\r\nPIPELINING\r\n.\r\n" : "+OK\r\nUSER\r\nTOP\r\n.\r\n");
    c.expect("USER ");
    c.send("+OK\r\n");
    c.expect("PASS ");
    c.send("+OK logged in\r\n");
}

/** Answers the session's end: QUIT. */
void quit(FakeConn& c) {
    c.expect("QUIT");
    c.send("+OK bye\r\n");
}

/** What the chunk callback saw. */
struct Got {
    std::map<int32_t, std::string> data;   // per message, the chunks joined
    std::vector<int32_t> ended;            // messages in the order their end came
    int32_t stop_at = 0;                   // return 1 at the first chunk of this message
    upop* cancel = nullptr;                // upop_cancel(cancel) at the first chunk of message 1
    bool stopped = false, called_after_stop = false, empty_chunk = false, chunk_after_end = false;
    size_t chunks = 0;
    static int cb(void* user, int32_t nr, const char* data, size_t len, int end) {
        auto* g = static_cast<Got*>(user);
        if (g->stopped) g->called_after_stop = true;
        if (end) {
            if (len != 0) g->empty_chunk = true; // the end call has len 0
            g->ended.push_back(nr);
            return 0;
        }
        if (len == 0) g->empty_chunk = true;
        for (auto e : g->ended)
            if (e == nr) g->chunk_after_end = true;
        ++g->chunks;
        g->data[nr].append(data, len);
        if (g->cancel && nr == 1) upop_cancel(g->cancel);
        if (nr == g->stop_at) {
            g->stopped = true;
            return 1;
        }
        return 0;
    }
};

/** Reads n pipelined commands (each must start with prefix) before answering any. */
std::vector<std::string> read_window(FakeConn& c, size_t n, const std::string& prefix) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n && !c.eof(); ++i) out.push_back(c.expect(prefix));
    return out;
}

const std::string kStuffed = "Subject: dots\r\n\r\n..leading dot\r\n...two dots\r\n..\r\nx\r\n";
const std::string kUnstuffed = "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nx\r\n";

/** A string literal with its NUL bytes. */
template <size_t N> std::string bytes(const char (&lit)[N]) { return std::string(lit, N - 1); }

} // namespace

TEST_SUITE("hostile_retrieve") {

TEST_CASE("stuffed lines are un-stuffed, NUL bytes pass, a bare LF becomes CRLF, one at a time without PIPELINING") {
    const std::string nul_msg = bytes("Subject: nul\r\n\r\na\0b\r\n\0\r\nbare\nend\r\n");
    const std::string nul_want = bytes("Subject: nul\r\n\r\na\0b\r\n\0\r\nbare\r\nend\r\n");
    FakeServer srv([&](FakeConn& c) {
        logon(c, false);
        c.expect("RETR 2");
        c.send("+OK\r\n" + kStuffed + ".\r\n");
        c.expect("RETR 1"); // one at a time: the next command only after the whole answer
        c.send("+OK\r\n" + nul_msg + ".\r\n");
        quit(c);
    });
    Handle h;
    REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
    Got g;
    const int32_t nrs[] = {2, 1};
    int rc = upop_retrieve(h, nrs, 2, 0, Got::cb, &g);
    CHECK_MESSAGE(rc == 0, h.err());
    CHECK(h.err().empty());
    CHECK(g.data[2] == kUnstuffed);
    CHECK(g.data[1] == nul_want);
    CHECK(g.ended == std::vector<int32_t>{2, 1});
    CHECK_FALSE(g.empty_chunk);
    CHECK_FALSE(g.chunk_after_end);
    CHECK(upop_disconnect(h, UPOP_POP) == 0);
    srv.join();
    CHECK_MESSAGE(srv.failure_text().empty(), srv.failure_text());
    CHECK_FALSE(srv.saw("LIST")); // no sizes needed: no LIST, never LIST n
}

TEST_CASE("a message split across many reads, at every awkward place, arrives intact") {
    // the terminator, the stuffing dot and CR/LF each arrive in a read of their own
    const std::vector<std::string> pieces = {"+OK\r", "\nSubject: split\r\n\r\n", ".", ".", "dot\r", "\n", "a",
                                             "\r", "\n", ".", ".\r\n", "b\n", ".", "\r", "\n"};
    FakeServer srv([&](FakeConn& c) {
        logon(c, true);
        c.expect("RETR 1");
        for (auto& p : pieces) {
            c.send(p);
            std::this_thread::sleep_for(5ms); // the misbehaviour under test: one read per piece
        }
        c.expect("RETR 1");
        c.send("+OK\r\n" + kStuffed + ".\r\n");
        quit(c);
    });
    Handle h;
    REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
    Got g;
    const int32_t one = 1;
    CHECK_MESSAGE(upop_retrieve(h, &one, 1, 0, Got::cb, &g) == 0, h.err());
    CHECK(g.data[1] == "Subject: split\r\n\r\n.dot\r\na\r\n.\r\nb\r\n");
    Got g2;
    CHECK_MESSAGE(upop_retrieve(h, &one, 1, 0, Got::cb, &g2) == 0, h.err()); // still in step
    CHECK(g2.data[1] == kUnstuffed);
    CHECK(upop_disconnect(h, UPOP_POP) == 0);
    srv.join();
    CHECK_MESSAGE(srv.failure_text().empty(), srv.failure_text());
}

TEST_CASE("pipelined: the whole window is sent before the first answer; a -ERR inside it skips that message only") {
    FakeServer srv([&](FakeConn& c) {
        logon(c, true);
        auto cmds = read_window(c, 5, "RETR "); // a client that waits for each answer hangs here
        std::string answers;
        for (auto& cmd : cmds) {
            std::string n = cmd.substr(5);
            answers += n == "3" ? "-ERR no such message\r\n" : "+OK\r\nSubject: " + n + "\r\n\r\nbody " + n + "\r\n.\r\n";
        }
        c.send(answers);
        c.expect("DELE 1"); // the session is in step afterwards
        c.send("+OK deleted\r\n");
        quit(c);
    });
    Handle h;
    REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
    Got g;
    const int32_t nrs[] = {1, 2, 3, 4, 5};
    int rc = upop_retrieve(h, nrs, 5, 0, Got::cb, &g);
    CHECK(rc == UPOP_E_RETRIEVAL);
    CHECK_MESSAGE((contains(h.err(), "RETR 3") && contains(h.err(), "no such message")), h.err());
    CHECK(g.ended == std::vector<int32_t>{1, 2, 4, 5});
    CHECK(g.data[4] == "Subject: 4\r\n\r\nbody 4\r\n");
    CHECK(g.data.count(3) == 0);
    CHECK_MESSAGE(upop_delete_mail(h, 1) == 0, h.err());
    CHECK(upop_disconnect(h, UPOP_POP) == 0);
    srv.join();
    CHECK_MESSAGE(srv.failure_text().empty(), srv.failure_text());
}

TEST_CASE("every message (msg_nrs NULL) with UPOP_RETRIEVE_HEADERS: one LIST, then TOP n 0 pipelined") {
    FakeServer srv([&](FakeConn& c) {
        logon(c, true);
        c.expect("LIST");
        c.send("+OK 2 messages\r\n1 120\r\n3 240\r\n.\r\n"); // 2 was deleted: numbers have gaps
        auto cmds = read_window(c, 2, "TOP ");
        if (cmds != std::vector<std::string>{"TOP 1 0", "TOP 3 0"}) c.fail("not TOP 1 0 and TOP 3 0");
        c.send("+OK\r\nSubject: one\r\n\r\n.\r\n+OK\r\nSubject: three\r\n\r\n.\r\n");
        quit(c);
    });
    Handle h;
    REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
    Got g;
    CHECK_MESSAGE(upop_retrieve(h, nullptr, 0, UPOP_RETRIEVE_HEADERS, Got::cb, &g) == 0, h.err());
    CHECK(g.ended == std::vector<int32_t>{1, 3});
    CHECK(g.data[3] == "Subject: three\r\n\r\n");
    CHECK(upop_disconnect(h, UPOP_POP) == 0);
    srv.join();
    CHECK_MESSAGE(srv.failure_text().empty(), srv.failure_text());
    CHECK(srv.count("LIST") == 1);
}

TEST_CASE("the callback stops: -10, no call after the stop, the window is drained and the session goes on") {
    FakeServer srv([&](FakeConn& c) {
        logon(c, true);
        auto cmds = read_window(c, 4, "RETR ");
        std::string answers;
        for (auto& cmd : cmds) answers += "+OK\r\nSubject: " + cmd.substr(5) + "\r\n\r\n" + std::string(20000, 'z') + "\r\n.\r\n";
        c.send(answers);
        c.expect("DELE 4"); // in step: the four answers were read to their end
        c.send("+OK deleted\r\n");
        quit(c);
    });
    Handle h;
    REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
    Got g;
    g.stop_at = 2;
    const int32_t nrs[] = {1, 2, 3, 4};
    int rc = upop_retrieve(h, nrs, 4, 0, Got::cb, &g);
    CHECK(rc == UPOP_E_MISC);
    CHECK_MESSAGE(contains(h.err(), "stopped by the callback"), h.err());
    CHECK(g.stopped);
    CHECK_FALSE(g.called_after_stop);
    CHECK(g.ended == std::vector<int32_t>{1});
    CHECK_MESSAGE(upop_delete_mail(h, 4) == 0, h.err());
    CHECK(upop_disconnect(h, UPOP_POP) == 0);
    srv.join();
    CHECK_MESSAGE(srv.failure_text().empty(), srv.failure_text());
}

TEST_CASE("a server that drips its message gets -4 within the low-speed rule, connection closed") {
    FakeServer srv([&](FakeConn& c) {
        logon(c, true);
        c.expect("RETR 1");
        c.send("+OK\r\n");
        for (int i = 0; i < 40 && c.send("x"); ++i) std::this_thread::sleep_for(200ms); // 5 bytes/s
        c.wait_for_close(5s);
    }, 30s);
    Handle h(1000);
    REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
    Got g;
    const int32_t one = 1;
    auto start = std::chrono::steady_clock::now();
    int rc = upop_retrieve(h, &one, 1, 0, Got::cb, &g);
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(rc == UPOP_E_TIMEOUT);
    CHECK_MESSAGE(contains(h.err(), "low-speed"), h.err());
    CHECK(took < 4s);
    CHECK(upop_retrieve(h, &one, 1, 0, Got::cb, &g) == UPOP_E_SECURITY); // not logged on any more
    srv.join();
}

TEST_CASE("a server that never ends its message: closing gives -9, stalling gives -4") {
    SUBCASE("the connection closes inside the message") {
        FakeServer srv([&](FakeConn& c) {
            logon(c, true);
            c.expect("RETR 1");
            c.send("+OK\r\nSubject: cut\r\n\r\nthe message goes on\r\n");
            c.close();
        });
        Handle h;
        REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
        Got g;
        const int32_t one = 1;
        CHECK(upop_retrieve(h, &one, 1, 0, Got::cb, &g) == UPOP_E_NETWORK);
        CHECK_MESSAGE(contains(h.err(), "closed"), h.err());
        CHECK(g.ended.empty()); // no end_of_message for a message that did not end
        srv.join();
    }
    SUBCASE("the server stalls inside the message") {
        FakeServer srv([&](FakeConn& c) {
            logon(c, true);
            c.expect("RETR 1");
            c.send("+OK\r\nSubject: stalled\r\n\r\n" + std::string(3000, 'y'));
            c.wait_for_close(10s);
        }, 30s);
        Handle h(1000);
        REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
        Got g;
        const int32_t one = 1;
        CHECK(upop_retrieve(h, &one, 1, 0, Got::cb, &g) == UPOP_E_TIMEOUT);
        CHECK(g.ended.empty());
        srv.join();
    }
}

TEST_CASE("a message of more than kMaxMessageBytes (256 MiB): -11, connection closed, nothing past the bound handed out") {
    const size_t kBound = 256u * 1024 * 1024;
    FakeServer srv([&](FakeConn& c) {
        logon(c, true);
        c.expect("RETR 1");
        c.send("+OK\r\n");
        const std::string block = [] {
            std::string line(1022, 'm');
            line += "\r\n";
            std::string b;
            for (int i = 0; i < 1024; ++i) b += line;
            return b;
        }(); // 1 MiB of 1 KiB lines
        for (size_t sent = 0; sent <= kBound && c.send(block); sent += block.size()) {
        }
        c.wait_for_close(10s);
    }, 120s);
    Handle h(20000);
    REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
    struct Count {
        uint64_t bytes = 0;
        static int cb(void* u, int32_t, const char*, size_t len, int) {
            static_cast<Count*>(u)->bytes += len;
            return 0;
        }
    } n;
    const int32_t one = 1;
    CHECK(upop_retrieve(h, &one, 1, 0, Count::cb, &n) == UPOP_E_RETRIEVAL);
    CHECK_MESSAGE(contains(h.err(), std::to_string(kBound)), h.err());
    CHECK(n.bytes <= kBound);
    CHECK(n.bytes > kBound - 64 * 1024);
    CHECK(upop_retrieve(h, &one, 1, 0, Count::cb, &n) == UPOP_E_SECURITY); // the connection is closed
    srv.join();
}

TEST_CASE("upop_cancel from the callback ends the call with -4") {
    FakeServer srv([&](FakeConn& c) {
        logon(c, true);
        read_window(c, 2, "RETR ");
        c.send("+OK\r\nSubject: 1\r\n\r\nbody\r\n.\r\n");
        c.wait_for_close(10s); // message 2 never comes: only the cancellation ends the call
    }, 30s);
    Handle h(20000);
    REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
    Got g;
    g.cancel = h;
    const int32_t nrs[] = {1, 2};
    auto start = std::chrono::steady_clock::now();
    CHECK(upop_retrieve(h, nrs, 2, 0, Got::cb, &g) == UPOP_E_TIMEOUT);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK(upop_retrieve(h, nrs, 2, 0, Got::cb, &g) == UPOP_E_SECURITY);
    srv.join();
}

TEST_CASE("misuse: NULL fn, NULL msg_nrs with a count, unknown flags, number 0, not logged on") {
    Handle h;
    Got g;
    const int32_t nrs[] = {1};
    CHECK(upop_retrieve(h, nrs, 1, 0, Got::cb, &g) == UPOP_E_SECURITY);
    CHECK_MESSAGE(contains(h.err(), "not logged on"), h.err());
    CHECK(upop_retrieve(h, nrs, 1, 0, nullptr, &g) == UPOP_E_MISC);
    CHECK_MESSAGE(contains(h.err(), "fn is NULL"), h.err());
    CHECK(upop_retrieve(h, nullptr, 3, 0, Got::cb, &g) == UPOP_E_MISC);
    CHECK_MESSAGE(contains(h.err(), "msg_nrs is NULL"), h.err());
    CHECK(upop_retrieve(h, nrs, 1, 2, Got::cb, &g) == UPOP_E_PARAM);
    CHECK(upop_retrieve(nullptr, nrs, 1, 0, Got::cb, &g) == UPOP_E_MISC);
    FakeServer srv([&](FakeConn& c) {
        logon(c, true);
        quit(c);
    });
    REQUIRE_MESSAGE(h.connect_pop(srv) == 0, h.err());
    const int32_t zero[] = {0};
    CHECK(upop_retrieve(h, zero, 1, 0, Got::cb, &g) == UPOP_E_UNSUPPORTED);
    CHECK(upop_disconnect(h, UPOP_POP) == 0);
    srv.join();
    CHECK(g.chunks == 0);
}

} // TEST_SUITE
