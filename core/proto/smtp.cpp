#include "proto/smtp.hpp"

#include <algorithm>
#include <cctype>

#include "error.hpp"
#include "mime/list.hpp"
#include "proto/dotstuff.hpp"
#include "upopmail.h"

namespace upopmail::proto {

namespace {
constexpr SaslFraming kSmtpSasl{334, 235, 512};

bool is_code(std::string_view l)
{
    return l.size() >= 3 && std::isdigit((unsigned char)l[0]) && std::isdigit((unsigned char)l[1]) &&
           std::isdigit((unsigned char)l[2]) && (l.size() == 3 || l[3] == ' ' || l[3] == '-');
}
} // namespace

SmtpSession::SmtpSession(trace::Tracer &tracer, net::Canceller *cancel, int timeout_ms, std::string ehlo_domain)
    : Session(UPOP_SMTP, tracer, cancel, timeout_ms, kSmtpSasl), ehlo_domain_(std::move(ehlo_domain))
{
}

Reply SmtpSession::read_reply()
{
    Reply r;
    size_t bytes = 0;
    wire_.begin_reply();
    for (;;) {
        std::string line = wire_.read_line();
        wire_.trace_in(line);
        if (!is_code(line) || line.find('\0') != std::string::npos) {
            wire_.close();
            throw Error(kProtocolError, "the server " + wire_.peer() + " sent a malformed SMTP reply line: \"" +
                                            upopmail::printable(line.substr(0, 80)) + "\"; connection closed");
        }
        int code = std::stoi(line.substr(0, 3));
        if (r.lines.empty()) {
            r.code = code;
        } else if (code != r.code) {
            wire_.close();
            throw Error(kProtocolError, "the server " + wire_.peer() +
                                            " changed the reply code inside a multi-line reply; connection closed");
        }
        bytes += line.size();
        r.lines.push_back(line.size() > 4 ? line.substr(4) : std::string());
        if (r.lines.size() > kMaxReplyLines || bytes > kMaxReplyBytes) {
            wire_.close();
            throw Error(kProtocolError, "the server " + wire_.peer() + " sent a reply of more than " +
                                            std::to_string(kMaxReplyLines) + " lines or " +
                                            std::to_string(kMaxReplyBytes) + " bytes; connection closed");
        }
        if (line.size() == 3 || line[3] == ' ') break;
    }
    last_ = r;
    return r;
}

std::string SmtpSession::describe(const Reply &r) const
{
    return std::to_string(r.code) + " " + upopmail::printable(r.text());
}

void SmtpSession::refresh_capabilities()
{
    caps_.clear();
    Reply r = command("EHLO " + ehlo_domain_);
    if (r.code == 250) {
        esmtp_ = true;
        caps_.assign(r.lines.begin() + 1, r.lines.end());
        return;
    }
    if (r.code >= 500 && r.code < 600) {
        Reply h = command("HELO " + ehlo_domain_);
        if (h.code == 250) {
            esmtp_ = false;
            wire_.trace_event("the server does not speak ESMTP (HELO accepted): no extensions");
            return;
        }
        r = h;
    }
    throw Error(UPOP_E_SECURITY, "the server " + wire_.peer() + " refused EHLO and HELO: " +
                                     std::to_string(r.code) + " " + upopmail::printable(r.text()));
}

bool SmtpSession::has_mechanism(std::string_view mechanism) const
{
    for (auto &c : caps_) {
        std::string_view l(c);
        if (l.size() < 5 || !mime::iequals(l.substr(0, 4), "AUTH") || (l[4] != ' ' && l[4] != '=')) continue;
        for (auto &m : mime::split_list(l.substr(5), false)) {
            size_t s = 0;
            while (s < m.size()) {
                size_t e = m.find(' ', s);
                if (e == std::string::npos) e = m.size();
                if (mime::iequals(std::string_view(m).substr(s, e - s), mechanism)) return true;
                s = e + 1;
            }
        }
    }
    return false;
}

uint64_t SmtpSession::max_size() const
{
    for (auto &c : caps_) {
        if (c.size() > 5 && mime::iequals(std::string_view(c).substr(0, 5), "SIZE ")) {
            try {
                return std::stoull(c.substr(5));
            } catch (...) {
                return 0;
            }
        }
    }
    return 0;
}

std::string xtext(std::string_view s)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (c >= '!' && c <= '~' && c != '+' && c != '=') {
            out += static_cast<char>(c);
        } else {
            out += '+';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::vector<std::string> SmtpSession::envelope_commands(const Envelope &env) const
{
    std::string mail = "MAIL FROM:<" + env.from + ">";
    if (env.size && has_capability("SIZE")) mail += " SIZE=" + std::to_string(env.size);
    if (env.eightbit && has_capability("8BITMIME")) mail += " BODY=8BITMIME";
    if (env.smtputf8 && has_capability("SMTPUTF8")) mail += " SMTPUTF8";
    const bool dsn = has_capability("DSN");
    if (dsn && !env.ret.empty()) mail += " RET=" + env.ret;
    if (dsn && !env.envid.empty()) mail += " ENVID=" + xtext(env.envid);
    std::vector<std::string> cmds{mail};
    for (auto &r : env.rcpts)
        cmds.push_back("RCPT TO:<" + r + ">" + (dsn && !env.notify.empty() ? " NOTIFY=" + env.notify : ""));
    return cmds;
}

EnvelopeResult SmtpSession::envelope(const Envelope &env, bool with_data)
{
    std::vector<std::string> cmds = envelope_commands(env);
    if (with_data) cmds.push_back("DATA");

    EnvelopeResult res;
    if (pipelining()) {
        std::string batch;
        for (auto &c : cmds) {
            wire_.tracer().line(UPOP_SMTP, '>', c);
            batch += c;
            batch += "\r\n";
        }
        wire_.trace_event("pipelined " + std::to_string(cmds.size()) + " commands in one write");
        wire_.send_raw(batch);
        res.mail = read_reply();
        for (size_t i = 0; i < env.rcpts.size(); ++i) res.rcpts.push_back(read_reply());
        if (with_data) res.data = read_reply();
        return res;
    }
    res.mail = command(cmds[0]);
    if (res.mail.code != 250) return res;
    for (size_t i = 0; i < env.rcpts.size(); ++i) res.rcpts.push_back(command(cmds[i + 1]));
    if (with_data) {
        bool any = false;
        for (auto &r : res.rcpts) any = any || (r.code == 250 || r.code == 251);
        if (any) res.data = command("DATA");
    }
    return res;
}

Reply SmtpSession::send_body(BodySource &src, const std::function<bool(uint64_t)> &progress)
{
    DotStuffer stuffer;
    std::string &out = io_.out;
    std::vector<char> &buf = io_.block();
    uint64_t done = 0;
    wire_.trace_event("sending message data");
    wire_.begin_bulk();
    try {
        // One block is read ahead, so that the terminator goes in the same write (and TLS
        // record) as the end of the message.
        size_t n = src.read(buf.data(), buf.size());
        for (;;) {
            out.clear();
            stuffer.feed(std::string_view(buf.data(), n), out);
            done += n;
            n = n ? src.read(buf.data(), buf.size()) : 0;
            if (n == 0) stuffer.finish(out);
            wire_.send_raw(out);
            if (progress && !progress(done))
                throw Error(UPOP_E_MISC, "sending was cancelled by the progress callback");
            if (n == 0) break;
        }
    } catch (const Error &e) {
        // Inside DATA every byte is message content: the only way out without delivering a
        // message is to drop the connection before the final dot.
        abandon_data(e.status(), e.what());
    } catch (const std::exception &e) {
        abandon_data(UPOP_E_MISC, e.what());
    }
    wire_.tracer().line(UPOP_SMTP, '>', "<" + std::to_string(done) + " bytes of message data>");
    wire_.tracer().line(UPOP_SMTP, '>', ".");
    return final_reply([this] { return read_reply(); });
}

// From the end of the message data on the server decides: the reply says whether the message
// was delivered, so a cancellation does not abandon it (RFC 5321 §4.5.3.2: the client waits for
// the final reply).
Reply SmtpSession::final_reply(const std::function<Reply()> &read)
{
    Wire::NoCancel keep(wire_);
    try {
        return read();
    } catch (const Error &e) {
        wire_.close();
        throw Error(e.status(), std::string(e.what()) +
                                    ". The end of the message data was sent, so the message MAY HAVE BEEN "
                                    "DELIVERED: check before sending it again");
    }
}

Reply SmtpSession::send_bdat(BodySource &src, const std::function<bool(uint64_t)> &progress, const Envelope *env,
                             EnvelopeResult *env_res)
{
    // The replies still owed by the server, in order: MAIL, RCPTs, then one per chunk.
    enum class Owed { Mail, Rcpt, Chunk };
    std::vector<Owed> owed;
    size_t next_owed = 0;
    std::string head; // commands that go in the same write as the next chunk
    if (env) {
        for (auto &c : envelope_commands(*env)) {
            wire_.tracer().line(UPOP_SMTP, '>', c);
            head += c;
            head += "\r\n";
            owed.push_back(owed.empty() ? Owed::Mail : Owed::Rcpt);
        }
        wire_.trace_event("pipelined " + std::to_string(owed.size()) +
                          " commands with the first BDAT chunk in one write");
    }
    std::optional<Reply> refused; // the first chunk reply that was not 250
    Reply last_chunk;
    auto take = [&](const Reply &r) {
        Owed what = owed[next_owed++];
        if (what == Owed::Mail) env_res->mail = r;
        else if (what == Owed::Rcpt) env_res->rcpts.push_back(r);
        else {
            last_chunk = r;
            if (r.code != 250 && !refused) refused = r;
        }
    };
    auto envelope_refused = [&] {
        if (!env || next_owed == 0) return false;
        if (env_res->mail.code != 250) return true;
        return env_res->rcpts.size() == env->rcpts.size() &&
               std::none_of(env_res->rcpts.begin(), env_res->rcpts.end(),
                            [](const Reply &r) { return r.code == 250 || r.code == 251; });
    };

    DotStuffer encoder(false);
    std::string &chunk = io_.chunk, &out = io_.out;
    std::vector<char> &buf = io_.block();
    uint64_t done = 0, sent = 0;
    bool last = false;
    wire_.trace_event("sending message data in BDAT chunks");
    wire_.begin_bulk();
    try {
        size_t n = src.read(buf.data(), buf.size());
        while (!last) {
            // fill a chunk; one block is read ahead so that the last chunk says LAST
            chunk.clear();
            while (n > 0 && chunk.size() < kBdatChunk) {
                encoder.feed(std::string_view(buf.data(), n), chunk);
                done += n;
                n = src.read(buf.data(), buf.size());
                if (progress && !progress(done))
                    throw Error(UPOP_E_MISC, "sending was cancelled by the progress callback");
            }
            last = n == 0;
            if (last) encoder.end_lines(chunk);
            std::string cmd = "BDAT " + std::to_string(chunk.size()) + (last ? " LAST" : "");
            wire_.tracer().line(UPOP_SMTP, '>', cmd);
            wire_.tracer().line(UPOP_SMTP, '>', "<" + std::to_string(chunk.size()) + " bytes of message data>");
            out.assign(head).append(cmd).append("\r\n", 2).append(chunk);
            head.clear();
            owed.push_back(Owed::Chunk);
            wire_.send_raw(out);
            sent += chunk.size();
            if (last) break;
            if (!pipelining()) {
                // every chunk waits for its reply
                take(read_reply());
                wire_.begin_bulk();
            } else {
                // replies that have arrived meanwhile; a refused envelope or chunk stops the sending
                bool read_some = false;
                while (next_owed < owed.size() && wire_.has_unread()) {
                    take(read_reply());
                    read_some = true;
                }
                if (read_some) wire_.begin_bulk();
            }
            if (refused || envelope_refused()) break;
        }
    } catch (const Error &e) {
        // A chunk cut short leaves the server counting bytes: only closing ends it safely.
        abandon_data(e.status(), e.what());
    } catch (const std::exception &e) {
        abandon_data(UPOP_E_MISC, e.what());
    }
    if (!last) {
        // Stopped early: the transaction failed. Collect what is owed; a refused chunk leaves the
        // transaction open, so RSET ends it (a refused envelope is the caller's to reset).
        wire_.trace_event("BDAT stopped after " + std::to_string(sent) + " bytes: the server refused the transaction");
        while (next_owed < owed.size()) take(read_reply());
        if (!refused) return env_res->mail.code != 250 ? env_res->mail : env_res->rcpts.back();
        Reply rset = reset();
        if (rset.code != 250) wire_.trace_event("the server refused RSET after the refused BDAT chunk");
        return *refused;
    }
    Reply verdict = final_reply([&] {
        while (next_owed < owed.size()) take(read_reply());
        return refused ? *refused : last_chunk;
    });
    // a chunk refused after an accepted envelope: make sure the transaction is over
    if (refused && !envelope_refused() && reset().code != 250)
        wire_.trace_event("the server refused RSET after the refused BDAT chunk");
    return verdict;
}

void SmtpSession::abandon_data(int status, const std::string &why)
{
    bool was_open = wire_.is_open();
    wire_.close();
    wire_.trace_event("message data abandoned before the final dot: connection closed");
    throw Error(status, why + (was_open ? "; the message data was abandoned before its end and the connection "
                                          "closed, so nothing was delivered"
                                        : "; nothing was delivered"));
}

} // namespace upopmail::proto
