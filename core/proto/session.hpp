// What both protocol sessions (SMTP, POP3) offer to the security context: capabilities, a
// command/reply exchange, the TLS upgrade with its injection check, and SASL with the framing
// hidden (one SASL engine parameterised by a small table of per-protocol facts, as curl's sasl.c).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/endpoint.hpp"
#include "net/tls_profile.hpp"
#include "proto/wire.hpp"

namespace upopmail::proto {

struct Reply {
    // SMTP: the 3-digit code. POP3: 1 "+OK", 0 "-ERR", 2 "+ " (continuation).
    int code = 0;
    std::vector<std::string> lines; // text of each line without the code
    std::string text() const;       // lines joined by '\n'
};

struct SaslFraming {
    int challenge_code; // SMTP 334, POP3 2
    int success_code;   // SMTP 235, POP3 1
    size_t max_ir_line; // longest "AUTH mech ir" line with CRLF: SMTP 512, POP3 255
};

struct SaslResult {
    bool done = false; // the server ended the exchange
    bool ok = false;   // with done: success
    std::string data;  // challenge, decoded
    Reply reply;
};

class Session {
public:
    Session(int server, trace::Tracer &tracer, net::Canceller *cancel, int timeout_ms, SaslFraming framing);
    virtual ~Session() = default;

    int server() const { return wire_.server(); }
    Wire &wire() { return wire_; }

    // Connects (implicit TLS when ep.tls), reads the greeting and the capabilities.
    virtual void open(const net::Endpoint &ep, const net::TlsProfile &profile);
    // Is this the protocol's go-ahead greeting? How is a reply shown in a sentence?
    virtual bool greeting_ok(const Reply &r) const = 0;
    virtual std::string describe(const Reply &r) const = 0;
    // Queries the capabilities again (EHLO / CAPA).
    virtual void refresh_capabilities() = 0;
    // Reads one complete reply.
    virtual Reply read_reply() = 0;
    // Is this the protocol's confirmation of QUIT (SMTP 221, POP3 +OK)?
    virtual bool confirms_quit(const Reply &r) const = 0;
    // Ends the session politely (QUIT, its reply bounded by timeout_ms) and closes. Returns ""
    // when the server confirmed QUIT (for POP3: the deletions are committed), else why not, for
    // a sentence ("the connection is closed", "it answered -ERR ...", "... timed out").
    std::string quit() noexcept;

    Reply command(std::string_view line, size_t visible = std::string_view::npos);

    const std::vector<std::string> &capabilities() const { return caps_; }
    bool has_capability(std::string_view keyword) const;
    virtual bool has_mechanism(std::string_view mechanism) const = 0;

    // The TLS upgrade after a STARTTLS/STLS go-ahead: refuses (-8) when any byte beyond that
    // reply was already received, and forgets everything learned before TLS.
    void start_tls(const net::TlsProfile &profile);
    bool tls_active() const { return wire_.tls_active(); }
    // "" when credentials may be sent: TLS is active and the server's certificate was verified.
    // Otherwise the reason for a sentence, "to <peer> without TLS" or "to <peer> over TLS,
    // but the server's certificate was not verified (verify_server is off)".
    std::string credential_exposure() const;

    SaslResult sasl_start(std::string_view mechanism, const std::optional<std::string> &ir);
    SaslResult sasl_step(std::string_view data);
    void sasl_cancel();

    const Reply &last_reply() const { return last_; }
    // Forgets the last reply (code 0): a new exchange starts whose replies are the ones reported.
    void forget_last_reply() { last_ = Reply{}; }
    // The greeting's text (without the code).
    const std::string &greeting() const { return greeting_; }

protected:
    SaslResult sasl_interpret(Reply r);

    Wire wire_;
    SaslFraming framing_;
    std::vector<std::string> caps_;
    Reply last_;
    std::string greeting_;
};

} // namespace upopmail::proto
