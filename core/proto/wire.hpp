// The line engine shared by SMTP and POP3 (curl's "pingpong"): one connection, a read buffer,
// bounded line reading with per-read deadlines, whole-command writes, and the trace.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "net/cancel.hpp"
#include "net/stream.hpp"
#include "net/tls_profile.hpp"
#include "trace/trace.hpp"

namespace upopmail::proto {

// Bounds on what a server may send (everything read from the network is bounded).
constexpr size_t kMaxLine = 8192;          // one reply line, CRLF included (RFC 5321 says 512)
constexpr size_t kMaxReplyLines = 512;     // lines of one multi-line SMTP reply / CAPA list
constexpr size_t kMaxReplyBytes = 65536;   // one reply, all lines together

class Wire {
public:
    Wire(int server, trace::Tracer &tracer, net::Canceller *cancel, int timeout_ms);
    ~Wire();

    int server() const { return server_; }
    void connect(const std::string &host, uint16_t port);
    void start_tls(const net::TlsProfile &profile, const std::string &host);
    bool tls_active() const;
    bool is_open() const;
    void close() noexcept;

    // Sends `line` + CRLF in one write. visible < line.size(): the trace shows only that many
    // characters and "<redacted>".
    void send_line(std::string_view line, size_t visible = std::string_view::npos);
    // Sends raw bytes (message data); the trace is the caller's business.
    void send_raw(std::string_view data);
    // Reads one line without its CRLF (a bare LF also ends a line). Throws Error(-9) on a line
    // longer than kMaxLine or on EOF, Error(-4) on time-out or cancellation.
    std::string read_line(size_t max = kMaxLine);
    // Bytes received but not yet consumed: after a STARTTLS/STLS go-ahead, any is an injection.
    bool has_unread() const;
    // Traces a received line (the sessions decide when; multi-line bodies are not traced).
    void trace_in(std::string_view line) { tracer_.line(server_, '<', line); }
    void trace_event(std::string_view text) { tracer_.event(server_, text); }
    trace::Tracer &tracer() { return tracer_; }
    net::Stream &stream() { return *stream_; }
    const net::Stream &stream() const { return *stream_; }
    std::string peer() const { return host_ + "+" + std::to_string(port_); }
    const std::string &host() const { return host_; }
    uint16_t port() const { return port_; }

private:
    net::Deadline deadline() const;
    void fill();

    int server_;
    trace::Tracer &tracer_;
    net::Canceller *cancel_;
    int timeout_ms_;
    std::unique_ptr<net::Stream> stream_;
    std::string buf_;
    size_t pos_ = 0;
    std::string host_;
    uint16_t port_ = 0;
};

} // namespace upopmail::proto
