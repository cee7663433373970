// chunking_test.cpp — Send with CHUNKING (RFC 3030) against servers that misbehave or refuse:
// a refused chunk stops the sending and RSET ends the transaction; a refused recipient makes
// the server discard the data and the session goes on; a connection lost inside a chunk
// delivers nothing; no verdict after the last chunk says the message may have been delivered;
// without PIPELINING every command waits for its reply.
#include "hostile/support.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

using namespace hostile;
namespace fs = std::filesystem;

namespace {

/** A file of pseudo-random bytes, removed at the end of the scope. */
struct TempFile {
    fs::path path;
    explicit TempFile(size_t size) {
        char tmpl[] = "/tmp/upop-chunking.XXXXXX";
        int fd = mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream f(path, std::ios::binary);
        std::mt19937 rng(7);
        std::string block(65536, '\0');
        for (size_t done = 0; done < size; done += block.size()) {
            for (auto& ch : block) ch = static_cast<char>(rng());
            f.write(block.data(), static_cast<std::streamsize>(std::min(block.size(), size - done)));
        }
    }
    ~TempFile() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

void compose(Handle& h, const std::string& text = "hello") {
    REQUIRE(upop_set_from(h, "a@example.org") == 0);
    REQUIRE(upop_set_to_list(h, "b@example.org") == 0);
    REQUIRE(upop_set_message(h, text.c_str(), "") == 0);
}

/** "BDAT <n>[ LAST]" -> n and whether it is the last chunk; fails the script otherwise. */
size_t bdat_size(FakeConn& c, const std::string& line, bool& last) {
    if (line.rfind("BDAT ", 0) != 0) {
        c.fail("expected BDAT, got \"" + line + "\"");
        last = true;
        return 0;
    }
    last = line.find(" LAST") != std::string::npos;
    return std::stoul(line.substr(5));
}

/** Reads BDAT chunks, answering each with reply(index), until the LAST one or a non-BDAT
 *  line (returned in *other). Returns the number of chunks. */
template <class Reply>
int read_chunks(FakeConn& c, Reply reply, std::string* other = nullptr, std::string* data = nullptr) {
    for (int n = 0;;) {
        std::string line = c.read_line();
        if (c.eof()) return n;
        if (line.rfind("BDAT ", 0) != 0) {
            if (other) *other = line;
            return n;
        }
        bool last = false;
        size_t size = bdat_size(c, line, last);
        std::string got = c.read_bytes(size);
        if (data) *data += got;
        if (got.size() != size) return n;
        c.send(reply(n++));
        if (last) return n;
    }
}

} // namespace

TEST_SUITE("hostile: CHUNKING") {

TEST_CASE("a small message goes as MAIL, RCPT and BDAT n LAST in one write; its data is not stuffed") {
    std::string data;
    FakeServer srv([&](FakeConn& c) {
        greet(c, {"PIPELINING", "CHUNKING"});
        c.expect("MAIL FROM:<a@example.org>");
        c.expect("RCPT TO:<b@example.org>");
        // all three arrived before any reply was sent
        c.send("250 ok\r\n250 ok\r\n");
        read_chunks(c, [](int) { return std::string("250 2.0.0 queued\r\n"); }, nullptr, &data);
        c.expect("QUIT");
        c.send("221 bye\r\n");
    });
    Handle h;
    REQUIRE(h.connect(srv) == 0);
    compose(h, "first\r\n.\r\n.leading dot\r\nlast");
    CHECK(upop_send(h, "") == 0);
    CHECK(h.reply_code() == 250);
    CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    srv.join();
    CHECK(contains(data, "\r\nfirst\r\n.\r\n.leading dot\r\nlast\r\n"));
    CHECK(srv.count("DATA") == 0);
    CHECK_MESSAGE(srv.failures().empty(), srv.failure_text());
}

TEST_CASE("a refused chunk stops the sending, RSET ends the transaction, Send reports the refusal; the session "
          "goes on") {
    TempFile big(30u << 20); // about 40 MiB encoded: 40 chunks of 1 MiB
    int chunks = -1;
    std::string after;
    FakeServer srv([&](FakeConn& c) {
        greet(c, {"PIPELINING", "CHUNKING"});
        c.expect("MAIL FROM");
        c.expect("RCPT TO");
        c.send("250 ok\r\n250 ok\r\n");
        // the first chunk is refused; the ones the client sent before it noticed are consumed
        chunks = read_chunks(c, [](int n) {
            return std::string(n == 0 ? "554 5.3.4 message content refused\r\n" : "503 5.5.1 no transaction\r\n");
        }, &after);
        if (after != "RSET") c.fail("expected RSET after the refused chunk, got \"" + after + "\"");
        c.send("250 reset\r\n");
        // the next Send on the same session
        c.expect("MAIL FROM");
        c.expect("RCPT TO");
        c.send("250 ok\r\n250 ok\r\n");
        read_chunks(c, [](int) { return std::string("250 queued\r\n"); });
        c.expect("QUIT");
        c.send("221 bye\r\n");
    }, 30s);
    {
        Handle h(10000);
        REQUIRE(h.connect(srv) == 0);
        compose(h);
        REQUIRE(upop_add_attachment_from_file(h, big.path.c_str(), "") == 0);
        CHECK(upop_send(h, "") == UPOP_E_MISC);
        CHECK(contains(h.err(), "554"));
        CHECK(h.reply_code() == 554); // the refusal, not the RSET after it
        REQUIRE(upop_clear_mail(h) == 0);
        compose(h, "next");
        CHECK(upop_send(h, "") == 0);
        CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    }
    srv.join();
    INFO("chunks sent before the client stopped: " << chunks);
    CHECK(chunks >= 1);
    CHECK(chunks < 40); // it stopped instead of sending all 40 MiB
    CHECK_MESSAGE(srv.failures().empty(), srv.failure_text());
}

TEST_CASE("a refused recipient: the server discards the chunk, Send returns -2 and says nothing was sent; the "
          "message's lines never act as commands") {
    FakeServer srv([&](FakeConn& c) {
        greet(c, {"PIPELINING", "CHUNKING"});
        c.expect("MAIL FROM");
        c.expect("RCPT TO");
        c.send("250 ok\r\n550 5.1.1 no such user\r\n");
        if (read_chunks(c, [](int) { return std::string("554 5.5.1 no valid recipients\r\n"); }) != 1)
            c.fail("expected the message in one chunk");
        c.expect("RSET");
        c.send("250 reset\r\n");
        c.expect("QUIT");
        c.send("221 bye\r\n");
    });
    Handle h;
    REQUIRE(h.connect(srv) == 0);
    compose(h, "RSET\r\nMAIL FROM:<evil@example.org>\r\nQUIT");
    CHECK(upop_send(h, "") == UPOP_E_PARAM);
    CHECK(contains(h.err(), "nothing was sent"));
    CHECK(h.reply_code() == 550);
    CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    srv.join();
    CHECK_MESSAGE(srv.failures().empty(), srv.failure_text());
}

TEST_CASE("the connection lost inside a chunk: nothing was delivered, the session is closed") {
    TempFile big(4u << 20);
    FakeServer srv([&](FakeConn& c) {
        greet(c, {"PIPELINING", "CHUNKING"});
        c.expect("MAIL FROM");
        c.expect("RCPT TO");
        c.send("250 ok\r\n250 ok\r\n");
        c.expect("BDAT 1048576");
        c.read_bytes(1000);
        c.close();
    });
    Handle h;
    REQUIRE(h.connect(srv) == 0);
    compose(h);
    REQUIRE(upop_add_attachment_from_file(h, big.path.c_str(), "") == 0);
    CHECK(upop_send(h, "") == UPOP_E_NETWORK);
    CHECK(contains(h.err(), "nothing was delivered"));
    CHECK(upop_send(h, "") == UPOP_E_NOT_LOGGED_ON);
    srv.join();
}

TEST_CASE("no reply to BDAT LAST within timeout_ms: -4 and a sentence that says the message may have been "
          "delivered") {
    FakeServer srv([&](FakeConn& c) {
        greet(c, {"PIPELINING", "CHUNKING"});
        c.expect("MAIL FROM");
        c.expect("RCPT TO");
        c.send("250 ok\r\n250 ok\r\n");
        bool last = false;
        size_t n = bdat_size(c, c.read_line(), last);
        c.read_bytes(n);
        c.wait_for_close(10s); // no verdict
    });
    Handle h(500);
    REQUIRE(h.connect(srv) == 0);
    compose(h);
    CHECK(upop_send(h, "") == UPOP_E_TIMEOUT);
    CHECK(contains(h.err(), "MAY HAVE BEEN DELIVERED"));
    srv.join();
}

TEST_CASE("CHUNKING without PIPELINING: MAIL, RCPT and each chunk wait for their replies") {
    TempFile big(2u << 20); // three chunks
    int chunks = 0;
    FakeServer srv([&](FakeConn& c) {
        greet(c, {"CHUNKING"});
        c.expect("MAIL FROM");
        c.send("250 ok\r\n");
        c.expect("RCPT TO");
        c.send("250 ok\r\n");
        chunks = read_chunks(c, [](int) { return std::string("250 ok\r\n"); });
        c.expect("QUIT");
        c.send("221 bye\r\n");
    }, 20s);
    Trace trace;
    {
        Handle h;
        REQUIRE(upop_set_trace(h, &Trace::cb, &trace) == 0);
        REQUIRE(h.connect(srv) == 0);
        compose(h);
        REQUIRE(upop_add_attachment_from_file(h, big.path.c_str(), "") == 0);
        CHECK(upop_send(h, "") == 0);
        CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    }
    srv.join();
    CHECK(chunks == 3);
    CHECK_MESSAGE(srv.failures().empty(), srv.failure_text());
    // in the trace, every command is followed by its reply before the next command
    char expect = '<';
    for (auto& l : trace.copy()) {
        if (l.rfind("> MAIL", 0) == 0 || l.rfind("> RCPT", 0) == 0 || l.rfind("> BDAT", 0) == 0) {
            CHECK_MESSAGE(expect == '<', "a command before the previous reply: " << l);
            expect = '>';
        } else if (l.rfind("< 250", 0) == 0) {
            expect = '<';
        }
    }
}

} // TEST_SUITE
