#include "proto/pop3.hpp"

#include "error.hpp"
#include "mime/list.hpp"
#include "printable.hpp"
#include "proto/dotstuff.hpp"
#include "proto/multiline.hpp"
#include "upopmail.h"

namespace upopmail::proto {

namespace {
constexpr SaslFraming kPopSasl{2, 1, 255};
}

Pop3Session::Pop3Session(trace::Tracer &tracer, net::Canceller *cancel, int timeout_ms)
    : Session(UPOP_POP, tracer, cancel, timeout_ms, kPopSasl)
{
}

Reply Pop3Session::read_reply()
{
    wire_.begin_reply();
    std::string line = wire_.read_line();
    Reply r;
    if (line.find('\0') != std::string::npos) {
        wire_.close();
        throw Error(kProtocolError, "the server " + wire_.peer() + " sent a NUL byte in a reply; connection closed");
    }
    if (line.rfind("+OK", 0) == 0 && (line.size() == 3 || line[3] == ' ')) {
        r.code = 1;
        r.lines.push_back(line.size() > 4 ? line.substr(4) : "");
    } else if (line.rfind("-ERR", 0) == 0 && (line.size() == 4 || line[4] == ' ')) {
        r.code = 0;
        r.lines.push_back(line.size() > 5 ? line.substr(5) : "");
    } else if (line == "+" || line.rfind("+ ", 0) == 0) {
        r.code = 2;
        r.lines.push_back(line.size() > 2 ? line.substr(2) : "");
    } else {
        wire_.trace_in(line);
        wire_.close();
        throw Error(kProtocolError, "the server " + wire_.peer() + " sent a malformed POP3 reply: \"" +
                                        upopmail::printable(line.substr(0, 80)) + "\"; connection closed");
    }
    // a continuation carries SASL data, shown only as its length
    wire_.trace_in(r.code == 2 ? "+ <" + std::to_string(r.lines[0].size()) + " bytes>" : line);
    last_ = r;
    return r;
}

std::string Pop3Session::describe(const Reply &r) const
{
    static const char *status[] = {"-ERR", "+OK", "+"};
    return std::string(status[r.code]) + " " + upopmail::printable(r.text());
}

void Pop3Session::refresh_capabilities()
{
    caps_.clear();
    Reply r = command("CAPA");
    if (r.code != 1) {
        wire_.trace_event("the server has no CAPA: no extensions");
        return;
    }
    std::vector<std::string> caps;
    size_t bytes = 0;
    read_multiline([&](std::string_view l) {
        wire_.trace_in(l);
        bytes += l.size();
        if (caps.size() >= kMaxReplyLines || bytes > kMaxReplyBytes)
            throw Error(kProtocolError, "the server " + wire_.peer() + " sent an oversized CAPA list");
        caps.emplace_back(l);
    }, kMaxReplyBytes + 1024, false);
    caps_ = std::move(caps);
}

bool Pop3Session::has_mechanism(std::string_view mechanism) const
{
    for (auto &c : caps_) {
        std::string_view l(c);
        if (l.size() < 5 || !mime::iequals(l.substr(0, 5), "SASL ")) continue;
        size_t s = 5;
        while (s < l.size()) {
            size_t e = l.find(' ', s);
            if (e == std::string::npos) e = l.size();
            if (mime::iequals(l.substr(s, e - s), mechanism)) return true;
            s = e + 1;
        }
    }
    return false;
}

void Pop3Session::read_multiline(const std::function<void(std::string_view)> &line, uint64_t max_bytes, bool bulk)
{
    if (bulk) wire_.begin_bulk();
    uint64_t total = 0;
    for (;;) {
        std::string_view l = wire_.read_line_view(kMaxMessageLine); // in place: no string per line
        if (l == ".") return;
        total += l.size() + 2;
        if (total > max_bytes) {
            wire_.close();
            throw Error(UPOP_E_RETRIEVAL, "the server " + wire_.peer() + " sent more than " + std::to_string(max_bytes) +
                                              " bytes in one response; connection closed");
        }
        line(unstuff_line(l));
    }
}

std::optional<UidlListing> Pop3Session::uidl_listing(std::string *refusal)
{
    Reply r = command("UIDL");
    if (r.code != 1) {
        if (refusal) *refusal = r.text();
        return std::nullopt;
    }
    UidlListing out;
    size_t line_nr = 0;
    read_multiline([&](std::string_view l) {
        ++line_nr;
        auto fault = [&](const std::string &what) {
            if (out.faults++ == 0)
                out.problem = "line " + std::to_string(line_nr) + " (" + quote(l.substr(0, 100)) + ") " + what;
        };
        while (!l.empty() && (l.back() == ' ' || l.back() == '\t')) l.remove_suffix(1);
        size_t sp = l.find(' ');
        std::string_view nr = l.substr(0, sp);
        if (nr.empty() || nr.size() > 10 || nr.find_first_not_of("0123456789") != std::string_view::npos)
            return fault("does not start with a message number");
        uint64_t n = 0;
        for (char c : nr) n = n * 10 + static_cast<unsigned>(c - '0');
        if (n < 1 || n > INT32_MAX) return fault("has a message number out of range");
        if (sp == std::string_view::npos || sp + 1 == l.size()) return fault("has no unique-id");
        std::string_view uid = l.substr(sp + 1);
        if (uid.size() > 70) return fault("has a unique-id longer than 70 characters (RFC 1939)");
        for (unsigned char c : uid)
            if (c < 0x21 || c > 0x7E) return fault("has a unique-id with a blank, control or non-ASCII character");
        if (out.by_nr.size() >= 1000000) return fault("is beyond 1000000 entries");
        if (!out.by_nr.emplace(static_cast<int32_t>(n), std::string(uid)).second)
            return fault("repeats message number " + std::to_string(n));
    }, 64ull * 1024 * 1024);
    return out;
}

void Pop3Session::stream_multiline(const std::function<void(std::string_view)> &chunk, uint64_t max_bytes)
{
    wire_.begin_bulk();
    MultilineDecoder d;
    uint64_t out = 0;
    bool over = false;
    try {
        for (;;) {
            std::string_view in = wire_.buffered();
            if (!in.empty()) {
                size_t used = d.feed(in.data(), in.size(), [&](const char *p, size_t n) {
                    if (over || n > max_bytes - out) {
                        over = true; // nothing past the bound is handed out
                        return;
                    }
                    out += n;
                    chunk(std::string_view(p, n));
                });
                wire_.consume(used);
                if (over) {
                    wire_.close();
                    throw Error(UPOP_E_RETRIEVAL, "the server " + wire_.peer() + " sent more than " +
                                                      std::to_string(max_bytes) +
                                                      " bytes in one response; connection closed");
                }
                if (d.done()) return;
                if (d.line_length() > kMaxMessageLine) {
                    wire_.close();
                    throw Error(kProtocolError, "the server " + wire_.peer() + " sent a line longer than " +
                                                    std::to_string(kMaxMessageLine) +
                                                    " bytes in a message; connection closed");
                }
            }
            wire_.read_more();
        }
    } catch (...) {
        wire_.close(); // in the middle of the response: the session cannot stay in step
        throw;
    }
}

} // namespace upopmail::proto
