// Sending with CHUNKING (RFC 3030) through real Dovecot submission and real Postfix, both of which
// offer it: MAIL, RCPT and "BDAT n LAST" with the message in one write; 2,000 small messages and
// one message of about 100 MB arrive intact in the mailbox; a refused recipient makes the server
// discard the data; and DATA (with dot-stuffing) is still used when CHUNKING is not offered.
#include "mailtest.hpp"
#include "relay.hpp"

#include <algorithm>
#include <map>

using namespace mailtest;

namespace {

struct Server {
    std::string name;
    std::string conn;
};
std::vector<Server> servers() { return {{"Dovecot", submission()}, {"Postfix", postfix_submission()}}; }

// The lines of a test body that DATA would have to stuff, and BDAT must carry as they are.
std::string body_of(const std::string &token, int i) {
    std::string b = "message " + std::to_string(i) + " of " + token + "\r\n.leading dot\r\n.\r\n..two dots\r\n";
    for (int l = 0; l < 60; ++l) b += "line " + std::to_string(l) + " of message " + std::to_string(i) + " " +
                                      std::string(40, static_cast<char>('a' + (i + l) % 26)) + "\r\n";
    return b;
}

// Text with CRLF made LF (the maildir stores LF line ends).
std::string lf(std::string s) {
    std::string o;
    for (char c : s)
        if (c != '\r') o += c;
    return o;
}

// The delivered messages are removed again, so that later tests scanning the maildir stay fast.
void remove_all(const std::vector<fs::path> &paths) {
    for (auto &p : paths) {
        std::error_code ec;
        fs::remove(p, ec);
    }
}

// Lines of the servers' logs that report a crash ("Panic", "Fatal", a killed process).
std::vector<std::string> server_crashes() {
    std::vector<std::string> found;
    for (const char *log : {"dovecot-main.log", "postfix.log"}) {
        std::ifstream in(fs::path(env().dir) / "log" / log);
        for (std::string line; std::getline(in, line);)
            if (line.find("Panic:") != std::string::npos || line.find("Fatal:") != std::string::npos ||
                line.find("panic:") != std::string::npos || line.find("killed by signal") != std::string::npos)
                found.push_back(line);
    }
    return found;
}

// The client's writes until its first read, from the trace: commands and the events between.
std::vector<std::string> first_flight(const Handle &h) {
    std::vector<std::string> seq;
    for (auto &l : h.trace) {
        if (l.direction == '<') break;
        if (l.direction == '>' || l.direction == '*') seq.push_back(l.text);
    }
    return seq;
}

} // namespace

TEST_CASE("CHUNKING: MAIL, RCPT and BDAT LAST with the message leave in one write (Dovecot and Postfix)") {
    for (auto &srv : servers()) {
        CAPTURE(srv.name);
        std::string token = unique_token("bdat1");
        Handle h;
        smtp_logon(h, srv.conn);
        std::string body = body_of(token, 0);
        h.trace.clear();
        REQUIRE_MESSAGE(send_message(h, "one trip " + token, body) == 0, h.error());
        auto seq = first_flight(h);
        REQUIRE(seq.size() >= 5);
        CHECK(seq[0].rfind("MAIL FROM:", 0) == 0);
        CHECK(seq[1].rfind("RCPT TO:", 0) == 0);
        CHECK(seq[2].find("pipelined 2 commands with the first BDAT chunk in one write") != std::string::npos);
        // then, before any reply: "BDAT <n> LAST" and the data
        auto bdat = std::find_if(seq.begin(), seq.end(), [](const std::string &l) { return l.rfind("BDAT ", 0) == 0; });
        REQUIRE(bdat != seq.end());
        CHECK(bdat->find(" LAST") != std::string::npos);
        CHECK(h.trace_text().find("> DATA") == std::string::npos);
        CHECK(h.reply_code() == 250);
        CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
        auto got = wait_for_deliveries(token, 1, 20);
        REQUIRE(got.size() == 1);
        std::string raw = read_file(got[0]);
        // the lone dot, the leading dots: carried as they are, nothing stuffed or lost
        CHECK(raw.find(lf(body)) != std::string::npos);
        remove_all(got);
    }
}

TEST_CASE("CHUNKING: 2,000 messages on one session each through Dovecot and Postfix arrive intact") {
    const int kCount = 2000;
    for (auto &srv : servers()) {
        CAPTURE(srv.name);
        std::string token = unique_token("bdat2000");
        {
            Handle h;
            smtp_logon(h, srv.conn);
            REQUIRE(upop_set_trace(h, nullptr, nullptr) == UPOP_OK); // 2,000 sends: no trace kept
            for (int i = 0; i < kCount; ++i) {
                REQUIRE(upop_set_from(h, env().addr.c_str()) == UPOP_OK);
                REQUIRE(upop_set_to_list(h, env().addr.c_str()) == UPOP_OK);
                REQUIRE(upop_set_subject(h, ("bulk " + std::to_string(i) + " " + token).c_str()) == UPOP_OK);
                REQUIRE(upop_set_message(h, body_of(token, i).c_str(), "") == UPOP_OK);
                int rc = upop_send(h, "");
                REQUIRE_MESSAGE(rc == 0, "message " << i << ": " << h.error());
            }
            CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
        }
        auto got = wait_for_deliveries(token, kCount, 180);
        CHECK(got.size() == static_cast<size_t>(kCount));
        // every message exactly once, its body intact
        std::vector<int> count(kCount, 0);
        for (auto &p : got) {
            std::string raw = read_file(p);
            size_t at = raw.find("Subject: bulk ");
            REQUIRE(at != std::string::npos);
            int i = std::atoi(raw.c_str() + at + 14);
            REQUIRE(i >= 0);
            REQUIRE(i < kCount);
            ++count[i];
            CHECK_MESSAGE(raw.find(lf(body_of(token, i))) != std::string::npos, "message " << i << " in " << p);
        }
        for (int i = 0; i < kCount; ++i) CHECK_MESSAGE(count[i] == 1, "message " << i);
        remove_all(got);
    }
    // Dovecot 2.3.19's submission service panics on a transaction pipelined behind the end of
    // DATA; a client that waits for each BDAT LAST verdict never does that. Neither server
    // logged a crash.
    auto crashes = server_crashes();
    CHECK_MESSAGE(crashes.empty(), (crashes.empty() ? std::string() : crashes.front()));
}

TEST_CASE("CHUNKING: a message of about 100 MB arrives intact through Dovecot and Postfix") {
    // 75 MiB of pseudo-random bytes: about 104 MB once base64-encoded
    fs::path file = fs::path(temp_dir()) / "bdat-large.bin";
    {
        std::mt19937_64 rng(20261207);
        std::ofstream out(file, std::ios::binary);
        std::vector<uint64_t> block(8192);
        for (int b = 0; b < 75 * 16; ++b) {
            for (auto &v : block) v = rng();
            out.write(reinterpret_cast<const char *>(block.data()), static_cast<std::streamsize>(block.size() * 8));
        }
        REQUIRE(out.good());
    }
    for (auto &srv : servers()) {
        CAPTURE(srv.name);
        std::string token = unique_token("bdat100m");
        {
            Handle h;
            smtp_logon(h, srv.conn);
            REQUIRE(upop_set_option(h, "timeout_ms", "120000") == UPOP_OK);
            REQUIRE(upop_set_from(h, env().addr.c_str()) == UPOP_OK);
            REQUIRE(upop_set_to_list(h, env().addr.c_str()) == UPOP_OK);
            REQUIRE(upop_set_subject(h, ("large " + token).c_str()) == UPOP_OK);
            REQUIRE(upop_set_message(h, "a large attachment follows", "") == UPOP_OK);
            REQUIRE_MESSAGE(upop_add_attachment_from_file(h, file.c_str(), "") == UPOP_OK, h.error());
            REQUIRE_MESSAGE(upop_send(h, "") == 0, h.error());
            std::string trace = h.trace_text();
            CHECK(trace.find("> BDAT 1048576\n") != std::string::npos); // whole chunks of 1 MiB
            CHECK(trace.find(" LAST\n") != std::string::npos);
            CHECK(trace.find("> DATA") == std::string::npos);
            CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
        }
        auto got = wait_for_deliveries(token, 1, 120);
        REQUIRE(got.size() == 1);
        CHECK(fs::file_size(got[0]) > 100000000);
        // Python's email package decodes the attachment; its bytes must be the file's
        std::string cmd = "python3 -c 'import email, email.policy, sys\n"
                          "m = email.message_from_binary_file(open(sys.argv[1], \"rb\"), policy=email.policy.default)\n"
                          "a = [p for p in m.iter_attachments()]\n"
                          "sys.exit(0 if len(a) == 1 and a[0].get_content() == open(sys.argv[2], \"rb\").read() else 1)' " +
                          got[0].string() + " " + file.string();
        CHECK(std::system(cmd.c_str()) == 0);
        remove_all(got);
    }
    fs::remove(file);
}

TEST_CASE("CHUNKING: a refused single recipient makes the server discard the data; the session goes on") {
    for (auto &srv : servers()) {
        CAPTURE(srv.name);
        std::string token = unique_token("bdatref");
        Handle h;
        smtp_logon(h, srv.conn);
        REQUIRE(upop_set_from(h, env().addr.c_str()) == UPOP_OK);
        REQUIRE(upop_set_to_list(h, "nobody-here@example.test") == UPOP_OK);
        REQUIRE(upop_set_subject(h, ("refused " + token).c_str()) == UPOP_OK);
        // message content that would be commands if the server did not consume the chunk
        REQUIRE(upop_set_message(h, ("RSET\r\nMAIL FROM:<" + env().addr + ">\r\nQUIT\r\n").c_str(), "") == UPOP_OK);
        h.trace.clear();
        CHECK(upop_send(h, "") == UPOP_E_PARAM);
        CHECK(h.error().find("nothing was sent") != std::string::npos);
        CHECK(h.reply_code() >= 500);
        CHECK(h.trace_text().find(" LAST") != std::string::npos); // it went in the one write
        // the same session sends the next message
        REQUIRE_MESSAGE(send_message(h, "after refused " + token, "fine") == 0, h.error());
        CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
        auto got = wait_for_deliveries(token, 1, 20);
        REQUIRE(got.size() == 1);
        CHECK(read_file(got[0]).find("after refused " + token) != std::string::npos);
        remove_all(got);
    }
}

TEST_CASE("Without CHUNKING, DATA is used: MAIL, RCPT and DATA in one write, the body dot-stuffed") {
    // A relay in front of Dovecot's submission port that renames the CHUNKING keyword of the
    // EHLO reply: the real server, a client that must not use BDAT.
    int hidden = 0;
    Relay relay(env().port_submission, nullptr, [&hidden](std::string &got) {
        for (size_t at; (at = got.find("CHUNKING")) != std::string::npos; ++hidden) got.replace(at, 8, "XHIDDENX");
        return true;
    });
    std::string token = unique_token("data");
    Handle h;
    REQUIRE(upop_set_security(h, "SMTP=AUTH PLAIN", credentials(env().pass, "\"allow_plaintext\": \"true\"").c_str()) ==
            UPOP_OK);
    REQUIRE_MESSAGE(upop_connect(h, UPOP_SMTP, relay.conn().c_str(), "", "") == UPOP_OK, h.error());
    std::string body = body_of(token, 7);
    h.trace.clear();
    REQUIRE_MESSAGE(send_message(h, "data path " + token, body) == 0, h.error());
    auto seq = first_flight(h);
    REQUIRE(seq.size() >= 4);
    CHECK(seq[0].rfind("MAIL FROM:", 0) == 0);
    CHECK(seq[1].rfind("RCPT TO:", 0) == 0);
    CHECK(seq[2] == "DATA");
    CHECK(seq[3].find("pipelined 3 commands in one write") != std::string::npos);
    CHECK(h.trace_text().find("BDAT") == std::string::npos);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    CHECK(hidden >= 1);
    auto got = wait_for_deliveries(token, 1, 20);
    REQUIRE(got.size() == 1);
    CHECK(read_file(got[0]).find(lf(body)) != std::string::npos); // un-stuffed by the server
    remove_all(got);
}
