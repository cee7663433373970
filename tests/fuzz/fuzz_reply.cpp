// The SMTP and POP3 reply readers fed through the line engine (proto/wire, smtp, pop3, session)
// over the in-memory transport of fake_net.hpp, with the server's bytes cut into segments at
// fuzzer-chosen places so that every partial-line state is reached.
//
// Input: byte 0 picks the mode (low 3 bits) and options (the other bits); then the segmentation
// control of fuzz::split (1 + up to 7 bytes); the rest is what the server sends.
//   0 SMTP replies, read one after another     3 POP3 greeting + CAPA, capability queries
//   1 POP3 status replies and multi-line ones   4 SMTP AUTH challenges (334, base64)
//   2 SMTP greeting + EHLO (HELO fallback),     5 POP3 AUTH challenges ("+ ", base64)
//     capability and mechanism queries
// Invariants (a violation aborts): each reply and line within the bounds of proto/wire.hpp; the
// outcome (every reply, every capability answer, the error that ended the run) is the same when
// the bytes arrive in one segment; an SMTP reply written back out reads back the same.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"
#include "fuzz_check.hpp"
#include "fake_net.hpp"
#include "proto/pop3.hpp"
#include "proto/smtp.hpp"
#include "upopmail.h"

using namespace upopmail;

namespace {

const char *const kKeywords[] = {"STARTTLS", "AUTH", "SIZE", "8BITMIME", "PIPELINING", "CHUNKING", "SMTPUTF8",
                                 "DSN", "ENHANCEDSTATUSCODES", "STLS", "SASL", "USER", "UIDL", "TOP",
                                 "RESP-CODES", "LOGIN-DELAY", "EXPIRE", "IMPLEMENTATION", "APOP", ""};
const char *const kMechanisms[] = {"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "SCRAM-SHA-1", "NTLM",
                                   "XOAUTH2", "OAUTHBEARER", "GSSAPI", "PLAIN-CLIENTTOKEN", "PLAI", ""};

// Everything a run observed, compared between segmentations.
struct Outcome {
    std::string log;
    void reply(const proto::Reply &r)
    {
        FUZZ_REQUIRE(r.lines.size() <= proto::kMaxReplyLines);
        size_t bytes = 0;
        for (auto &l : r.lines) {
            FUZZ_REQUIRE(l.size() < proto::kMaxLine);
            bytes += l.size();
        }
        FUZZ_REQUIRE(bytes <= proto::kMaxReplyBytes);
        log += "R" + std::to_string(r.code) + "[";
        for (auto &l : r.lines) log += l + "\x1f";
        log += "]";
    }
    void fact(const std::string &s) { log += s + ";"; }
};

const net::TlsProfile &profile()
{
    static const net::TlsProfile p;
    return p;
}

// An SMTP reply as a server would write it.
std::string serialize(const proto::Reply &r)
{
    std::string out, code = std::to_string(r.code);
    while (code.size() < 3) code.insert(0, "0");
    for (size_t i = 0; i < r.lines.size(); ++i) out += code + (i + 1 < r.lines.size() ? "-" : " ") + r.lines[i] + "\r\n";
    return out;
}

void smtp_reparse(const proto::Reply &r)
{
    trace::Tracer tracer;
    auto saved = fuzz::script();
    fuzz::script().reset({serialize(r)});
    proto::SmtpSession s(tracer, nullptr, 1000, "fuzz.example");
    s.wire().connect("mx.example", 25);
    proto::Reply back = s.read_reply();
    FUZZ_REQUIRE(back.code == r.code && back.lines == r.lines);
    fuzz::script() = saved;
}

void run(int mode, unsigned opts, std::vector<std::string> segments, Outcome &out)
{
    fuzz::script().reset(std::move(segments));
    trace::Tracer tracer;
    try {
        switch (mode) {
        case 0: {
            proto::SmtpSession s(tracer, nullptr, 1000, "fuzz.example");
            s.wire().connect("mx.example", 25);
            for (int i = 0; i < 64; ++i) {
                proto::Reply r = s.read_reply();
                out.reply(r);
                smtp_reparse(r);
            }
            break;
        }
        case 1: {
            proto::Pop3Session s(tracer, nullptr, 1000);
            s.wire().connect("pop.example", 110);
            for (int i = 0; i < 64; ++i) {
                proto::Reply r = s.read_reply();
                out.reply(r);
                if (r.code == 1 && (opts >> (i % 5)) & 1) {
                    size_t lines = 0;
                    s.read_multiline([&](std::string_view l) {
                        FUZZ_REQUIRE(l.size() < proto::kMaxMessageLine);
                        if (lines++ < 64) out.fact(std::string(l));
                    }, (opts & 16) ? 4096 : proto::kMaxMessageBytes);
                    out.fact("end" + std::to_string(lines));
                }
            }
            break;
        }
        case 2:
        case 3: {
            std::optional<proto::SmtpSession> smtp;
            std::optional<proto::Pop3Session> pop;
            proto::Session *s;
            net::Endpoint ep;
            ep.host = "mail.example";
            if (mode == 2) {
                s = &smtp.emplace(tracer, nullptr, 1000, "fuzz.example");
                ep.port = 25;
            } else {
                s = &pop.emplace(tracer, nullptr, 1000);
                ep.port = 110;
            }
            s->open(ep, profile());
            out.fact("greeting " + s->greeting());
            for (auto &c : s->capabilities()) out.fact("cap " + c);
            FUZZ_REQUIRE(s->capabilities().size() <= proto::kMaxReplyLines);
            for (auto k : kKeywords) out.fact(std::string(k) + (s->has_capability(k) ? "+" : "-"));
            for (auto m : kMechanisms) {
                bool has = s->has_mechanism(m);
                out.fact(std::string(m) + (has ? "+" : "-"));
                if (has) FUZZ_REQUIRE(s->has_capability(mode == 2 ? "AUTH" : "SASL") || (mode == 2 && *m == 0));
            }
            if (smtp) out.fact("size " + std::to_string(smtp->max_size()) + (smtp->esmtp() ? " esmtp" : " helo"));
            if (pop) out.fact(pop->pipelining() ? "pipelining" : "no pipelining");
            break;
        }
        case 4:
        case 5: {
            std::optional<proto::SmtpSession> smtp;
            std::optional<proto::Pop3Session> pop;
            proto::Session *s;
            if (mode == 4) s = &smtp.emplace(tracer, nullptr, 1000, "fuzz.example");
            else s = &pop.emplace(tracer, nullptr, 1000);
            s->wire().connect("mail.example", mode == 4 ? 587 : 110);
            std::optional<std::string> ir;
            if (opts & 1) ir = std::string(opts & 2 ? 400 : 10, 'i'); // long ones go after a first challenge
            proto::SaslResult r = s->sasl_start("FUZZ", ir);
            for (int i = 0; i < 16; ++i) {
                out.reply(r.reply);
                out.fact((r.done ? "done " : "challenge ") + std::to_string(r.ok) + " " + r.data);
                if (r.done) break;
                if ((opts >> 2) & 1 && i == 1) {
                    s->sasl_cancel();
                    out.fact("cancelled");
                    break;
                }
                r = s->sasl_step("response");
            }
            break;
        }
        }
    } catch (const Error &e) {
        out.fact("error " + std::to_string(e.status()) + " " + e.what());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int mode = data[0] % 8;
    unsigned opts = data[0] >> 3;
    if (mode > 5) return 0;
    std::vector<std::string> segments;
    size_t used = fuzz::split(data + 1, size - 1, std::string(), segments); // consume the control only
    size_t start = 1 + used;
    std::string bytes(reinterpret_cast<const char *>(data) + start, size - start);
    segments.clear();
    fuzz::split(data + 1, size - 1, bytes, segments);

    Outcome cut, whole;
    run(mode, opts, segments, cut);
    run(mode, opts, {bytes}, whole);
    FUZZ_REQUIRE(cut.log == whole.log);
    return 0;
}
