// The SMTP client session (RFC 5321): greeting, EHLO with HELO fallback, reply parsing, the mail
// transaction with PIPELINING, DATA through the DotStuffer, QUIT.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proto/session.hpp"

namespace upopmail::proto {

// Pull source of message bytes (CRLF or not: DATA normalises); read() returns 0 at the end.
class BodySource {
public:
    virtual ~BodySource() = default;
    virtual size_t read(char *buf, size_t cap) = 0;
    virtual uint64_t size_hint() const { return 0; } // 0: unknown
};

struct Envelope {
    std::string from;               // bare address
    std::vector<std::string> rcpts; // bare addresses
    uint64_t size = 0;              // SIZE= parameter when the server offers SIZE (0: none)
    bool smtputf8 = false;
    bool eightbit = false;
    // DSN (RFC 3461), sent when the server offers DSN: NOTIFY= on every RCPT, RET= and ENVID=
    // (xtext-encoded here) on MAIL; "" leaves a parameter out.
    std::string notify, ret, envid;
};

// RFC 3461 4: xtext, every byte outside '!'..'~' and '+' and '=' as "+XX".
std::string xtext(std::string_view s);

struct EnvelopeResult {
    Reply mail;
    std::vector<Reply> rcpts;
    std::optional<Reply> data; // set when DATA went in the same batch
};

class SmtpSession : public Session {
public:
    SmtpSession(trace::Tracer &tracer, net::Canceller *cancel, int timeout_ms, std::string ehlo_domain);

    bool greeting_ok(const Reply &r) const override { return r.code == 220; }
    std::string describe(const Reply &r) const override;
    void refresh_capabilities() override;
    Reply read_reply() override;
    bool confirms_quit(const Reply &r) const override { return r.code == 221; }
    bool has_mechanism(std::string_view mechanism) const override;

    bool esmtp() const { return esmtp_; }
    // The SIZE limit the server announced (0: none or unknown).
    uint64_t max_size() const;

    // MAIL FROM and every RCPT TO in one write when the server offers PIPELINING (and DATA too
    // when with_data), else one by one. Replies are read in order.
    EnvelopeResult envelope(const Envelope &env, bool with_data);
    // The server offers CHUNKING (RFC 3030: BDAT) and the session speaks ESMTP.
    bool chunking() const { return esmtp_ && has_capability("CHUNKING"); }
    bool pipelining() const { return esmtp_ && has_capability("PIPELINING"); }
    Reply data_command() { return command("DATA"); }
    // Streams the body (dot-stuffed, line endings normalised), the terminator, reads the reply.
    // progress(done_bytes) returning false cancels. Any failure before the final dot (the
    // source, the network, the low-speed rule, the progress callback) closes the connection
    // without the dot, so nothing is delivered and no later command can travel as message
    // content; the Error keeps its status and says so. After the dot a cancellation no longer
    // interrupts (the reply is awaited up to timeout_ms); a failure then says the message may
    // have been delivered.
    Reply send_body(BodySource &src, const std::function<bool(uint64_t)> &progress);
    // Sends the body with BDAT (RFC 3030): line endings normalised, nothing stuffed, in chunks
    // of up to kBdatChunk bytes, the last one "BDAT <n> LAST"; returns the reply to the last
    // chunk (or to the first refused one). With PIPELINING the chunks do not wait for their
    // replies (a refusal read meanwhile stops the sending, then RSET ends the transaction).
    // With env (needs PIPELINING), MAIL FROM and the RCPT TOs go in the same write as the first
    // chunk, their replies land in *env_res, and a small message costs one round trip; when
    // they are refused the server consumes and discards the chunks (RFC 3030 §2), so nothing
    // is delivered and the caller resets the transaction. Failures before the last chunk is
    // written, and after it, are handled as in send_body.
    Reply send_bdat(BodySource &src, const std::function<bool(uint64_t)> &progress, const Envelope *env = nullptr,
                    EnvelopeResult *env_res = nullptr);
    Reply reset() { return command("RSET"); }
    static constexpr size_t kBdatChunk = 1024 * 1024;

private:
    std::vector<std::string> envelope_commands(const Envelope &env) const;
    Reply final_reply(const std::function<Reply()> &read);
    [[noreturn]] void abandon_data(int status, const std::string &why);
    std::string ehlo_domain_;
    bool esmtp_ = true;
    // The buffers of the message data, kept for the session: a fresh 64 KiB block and output
    // strings per message made glibc give the heap back and fault it in again each time (half
    // of the time of 500 sends of 64 KiB).
    struct IoBuffers {
        std::vector<char> source;
        std::string chunk, out;
        std::vector<char> &block()
        {
            if (source.empty()) source.resize(64 * 1024);
            return source;
        }
    } io_;
};

} // namespace upopmail::proto
