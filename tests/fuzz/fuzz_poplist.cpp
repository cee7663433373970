// The POP3 listing readers behind the public C API: ListMail (STAT, LIST, UIDL, TOP n 0 with the
// header reading, pipelined TOP batches), GetRawMail (LIST n, RETR) and GetMail (RETR + decoding),
// over the in-memory transport of fake_net.hpp (fuzz_reply covers the replies themselves).
//
// The harness logs on with a fixed prologue (greeting, CAPA, USER/PASS accepted); the fuzzer
// writes everything the server says after that. Input: byte 0 = operation (low 2 bits: 0 ListMail,
// 1 GetRawMail 1, 2 GetRawMail 1 with MailSize 100, 3 GetMail 1 without an attachment folder;
// bit 3 instead: upop_retrieve of messages 1, 2, 1, with UPOP_RETRIEVE_HEADERS when bit 4 is set,
// the callback stopping at the end of the second message when bit 5 is set; else bit 6:
// upop_find_uidl of uid-1 and uid-2, upop_reset, uid-1 again, then upop_noop) and CAPA (bit 2:
// "+OK" with UIDL TOP PIPELINING, else "-ERR"); then the segmentation control of fuzz::split;
// the rest is the server's bytes.
// Invariants (a violation aborts): ListMail's count equals its NMB= items, numbered 1..count;
// output parts are NUL-terminated within their buffers; the outcome (status, outputs, error
// sentence) is the same when the bytes arrive in one segment (for upop_retrieve: the messages
// handed out, joined, whatever the chunks; never an empty chunk, never data after a message's end
// nor after the callback stopped).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "fake_net.hpp"
#include "upopmail.h"

namespace {

// Collects an output of `first`, then of `more` while they return -16 (UPOP_E_MORE).
template <class F, class G> int collect(F first, G more, std::string &out)
{
    char buf[1024];
    std::memset(buf, 'X', sizeof buf);
    int rc = first(buf, sizeof buf);
    for (int parts = 0;; ++parts) {
        if (rc >= 0 || rc == UPOP_E_MORE) {
            FUZZ_REQUIRE(std::memchr(buf, 0, sizeof buf) != nullptr);
            out += buf;
        }
        if (rc != UPOP_E_MORE || parts > 100000) return rc;
        std::memset(buf, 'X', sizeof buf);
        rc = more(buf, sizeof buf);
    }
}

std::string run(int op, bool capa, std::vector<std::string> segments, int flags = 0)
{
    std::vector<std::string> script;
    script.push_back("+OK POP3 fuzz ready <1896.697170952@pop.example>\r\n");
    script.push_back(capa ? "+OK\r\nUSER\r\nUIDL\r\nTOP\r\nPIPELINING\r\n.\r\n" : "-ERR no CAPA\r\n");
    script.push_back("+OK user\r\n+OK logged on\r\n");
    for (auto &s : segments) script.push_back(std::move(s));
    fuzz::script().reset(std::move(script));

    upop *h = nullptr;
    FUZZ_REQUIRE(upop_create(&h) == 0);
    FUZZ_REQUIRE(upop_set_option(h, "allow_plaintext", "true") == 0);
    std::string log;
    int rc = upop_connect(h, UPOP_POP, "pop.example+110", "user", "password");
    if (rc != 0) std::fprintf(stderr, "logon: %d %s\n", rc, upop_last_error(h));
    FUZZ_REQUIRE(rc == 0); // the prologue always logs on
    std::string out;
    switch (op) {
    case 0: {
        rc = collect([&](char *b, size_t c) { return upop_list_mail(h, b, c); },
                     [&](char *b, size_t c) { return upop_list_mail_x(h, b, c); }, out);
        if (rc >= 0) {
            int n = 0;
            for (size_t p = out.find("NMB="); p != std::string::npos; p = out.find("NMB=", p + 1)) {
                if (p != 0 && out[p - 1] != '\x1B') continue; // inside a value
                ++n;
                FUZZ_REQUIRE(out.compare(p + 4, std::to_string(n).size(), std::to_string(n)) == 0);
            }
            if (n != rc) std::fprintf(stderr, "ListMail returned %d with %d entries: %s\n", rc, n, out.c_str());
            FUZZ_REQUIRE(n == rc);
        }
        break;
    }
    case 1:
    case 2:
        rc = collect([&](char *b, size_t c) { return upop_get_raw_mail(h, 1, op == 2 ? 100 : 0, b, c); },
                     [&](char *b, size_t c) { return upop_get_raw_mail_x(h, b, c); }, out);
        break;
    case 4: { // upop_retrieve
        struct Got {
            std::string out;
            int32_t open = 0; // the message being handed out
            int ends = 0;
            bool stop;
            bool stopped = false;
            static int cb(void *u, int32_t nr, const char *d, size_t n, int end) {
                auto *g = static_cast<Got *>(u);
                FUZZ_REQUIRE(!g->stopped);           // nothing after a stop
                FUZZ_REQUIRE(end ? n == 0 : n > 0);  // chunks are never empty; the end call is
                FUZZ_REQUIRE(g->open == 0 || g->open == nr); // messages do not interleave
                if (g->open == 0) g->out += "[" + std::to_string(nr) + ":";
                g->open = nr;
                g->out.append(d, n);
                if (!end) return 0;
                g->out += "]";
                g->open = 0;
                if (++g->ends == 2 && g->stop) return g->stopped = true, 1;
                return 0;
            }
        } got{{}, 0, 0, (flags & 32) != 0};
        const int32_t nrs[] = {1, 2, 1};
        rc = upop_retrieve(h, nrs, 3, (flags & 16) ? UPOP_RETRIEVE_HEADERS : 0, &Got::cb, &got);
        out = got.out;
        break;
    }
    case 5: { // upop_find_uidl twice (the second from the kept listing), upop_reset, again (asked anew)
        for (const char *u : std::initializer_list<const char *>{"uid-1", "uid-2", nullptr, "uid-1"}) {
            int32_t nr = -1;
            int r = u ? upop_find_uidl(h, u, &nr) : upop_reset(h, UPOP_POP);
            if (u) FUZZ_REQUIRE(r == 0 ? nr >= 1 : nr == 0);
            out += std::to_string(r) + ":" + std::to_string(nr) + " " + upop_last_error(h) + "\n";
        }
        rc = upop_noop(h, UPOP_POP);
        break;
    }
    case 3: {
        char hb[512], tb[512], ab[512];
        rc = upop_get_mail(h, 1, "", 0, hb, sizeof hb, tb, sizeof tb, ab, sizeof ab);
        for (int parts = 0;; ++parts) {
            if (rc >= 0 || rc == UPOP_E_MORE) {
                for (char *b : {hb, tb, ab}) FUZZ_REQUIRE(std::memchr(b, 0, 512) != nullptr);
                out += std::string(hb) + "|" + tb + "|" + ab + "\n";
            }
            if (rc != UPOP_E_MORE || parts > 100000) break;
            rc = upop_get_mail_x(h, hb, sizeof hb, tb, sizeof tb, ab, sizeof ab);
        }
        break;
    }
    }
    log = std::to_string(rc) + " " + upop_last_error(h) + "\n" + out;
    upop_destroy(h);
    return log;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int op = (data[0] & 8) ? 4 : (data[0] & 64) ? 5 : data[0] & 3;
    bool capa = data[0] & 4;
    int flags = data[0];
    std::vector<std::string> segments;
    size_t start = 1 + fuzz::split(data + 1, size - 1, std::string(), segments);
    std::string bytes(reinterpret_cast<const char *>(data) + start, size - start);
    segments.clear();
    fuzz::split(data + 1, size - 1, bytes, segments);
    std::string cut = run(op, capa, segments, flags);
    std::string whole = run(op, capa, {bytes}, flags);
    FUZZ_REQUIRE(cut == whole);
    return 0;
}
