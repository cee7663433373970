#include "proto/session.hpp"

#include "error.hpp"
#include "mime/base64.hpp"
#include "mime/list.hpp"
#include "secret.hpp"
#include "upopmail.h"

namespace upopmail::proto {

std::string Reply::text() const
{
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i) out += '\n';
        out += lines[i];
    }
    return out;
}

Session::Session(int server, trace::Tracer &tracer, net::Canceller *cancel, int timeout_ms,
                 SaslFraming framing)
    : wire_(server, tracer, cancel, timeout_ms), framing_(framing)
{
}

void Session::open(const net::Endpoint &ep, const net::TlsProfile &profile)
{
    wire_.connect(ep.host, ep.port);
    if (ep.tls) wire_.start_tls(profile, ep.host);
    Reply greeting = read_reply();
    greeting_ = greeting.text();
    if (!greeting_ok(greeting))
        throw Error(UPOP_E_SECURITY, "the server " + wire_.peer() + " refused the session: " + describe(greeting));
    refresh_capabilities();
}

Reply Session::command(std::string_view line, size_t visible)
{
    wire_.send_line(line, visible);
    return read_reply();
}

std::string Session::quit() noexcept
{
    std::string why;
    try {
        if (!wire_.is_open()) {
            why = "the connection was already closed";
        } else {
            Reply r = command("QUIT");
            if (!confirms_quit(r)) why = "it answered " + describe(r);
        }
    } catch (const std::exception &e) {
        why = e.what();
    } catch (...) {
        why = "an unknown failure";
    }
    wire_.close();
    return why;
}

bool Session::has_capability(std::string_view keyword) const
{
    for (auto &c : caps_) {
        auto word = std::string_view(c).substr(0, c.find_first_of(" =\t"));
        if (mime::iequals(word, keyword)) return true;
    }
    return false;
}

std::string Session::credential_exposure() const
{
    if (!wire_.tls_active()) return "to " + wire_.peer() + " without TLS";
    const std::string &why = wire_.stream().tls_unverified();
    if (why.empty()) return "";
    return "to " + wire_.peer() + " over TLS, but the server's certificate was not verified (" + why + ")";
}

void Session::start_tls(const net::TlsProfile &profile)
{
    if (wire_.tls_active())
        throw Error(UPOP_E_SECURITY, "TLS is already active on the connection to " + wire_.peer());
    if (wire_.has_unread()) {
        wire_.trace_event("bytes received after the TLS go-ahead: response injection");
        wire_.close();
        throw Error(UPOP_E_SECURITY, "the server " + wire_.peer() +
                                         " sent data after its TLS go-ahead reply, before the TLS "
                                         "handshake (response injection); connection closed");
    }
    caps_.clear();
    try {
        wire_.start_tls(profile, wire_.host());
    } catch (...) {
        wire_.close();
        throw;
    }
}

SaslResult Session::sasl_interpret(Reply r)
{
    SaslResult res;
    if (r.code == framing_.challenge_code) {
        std::string b64 = r.lines.empty() ? std::string() : std::string(mime::trim(r.lines.front()));
        auto decoded = mime::base64_decode(b64);
        if (!decoded) {
            sasl_cancel();
            throw Error(UPOP_E_SECURITY, "the server " + wire_.peer() +
                                             " sent a SASL challenge that is not valid base64; "
                                             "authentication cancelled");
        }
        res.data = std::move(*decoded);
    } else {
        res.done = true;
        res.ok = r.code == framing_.success_code;
    }
    res.reply = std::move(r);
    return res;
}

SaslResult Session::sasl_start(std::string_view mechanism, const std::optional<std::string> &ir)
{
    std::string cmd = "AUTH " + std::string(mechanism);
    const size_t visible = cmd.size() + 1;
    if (ir) {
        // The initial response and its base64 are credentials: their copies are wiped.
        upopmail::Secret enc(ir->empty() ? std::string("=") : mime::base64_encode(*ir));
        if (cmd.size() + 1 + enc.reveal().size() + 2 <= framing_.max_ir_line) {
            return sasl_interpret(command(upopmail::Secret(cmd + " " + enc.reveal()).reveal(), visible));
        }
        // Too long for the command line: send it as the answer to the first (empty) challenge.
        SaslResult first = sasl_interpret(command(cmd));
        if (first.done) return first;
        return sasl_step(*ir);
    }
    return sasl_interpret(command(cmd));
}

SaslResult Session::sasl_step(std::string_view data)
{
    return sasl_interpret(command(upopmail::Secret(mime::base64_encode(data)).reveal(), 0));
}

void Session::sasl_cancel()
{
    try {
        command("*");
    } catch (...) {
    }
}

} // namespace upopmail::proto
