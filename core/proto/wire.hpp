// The line engine shared by SMTP and POP3 (curl's "pingpong"): one connection, a read buffer,
// bounded line reading, whole-command writes, the trace, and the time rules of every transfer:
//  - a reply (begin_reply(): the greeting, each command reply including multi-line ones such as
//    EHLO and CAPA) must arrive whole within timeout_ms, however the server paces its bytes;
//  - a bulk transfer (begin_bulk(): RETR/TOP/LIST/UIDL listings, the DATA content) follows the
//    low-speed rule of curl's --speed-limit/--speed-time: fewer than low_speed_bytes bytes in
//    any window of timeout_ms ends it (the windows are consecutive, from begin_bulk()).
// Connecting, the TLS handshake and each command write have their own timeout_ms deadline.
// A broken rule throws Error(UPOP_E_TIMEOUT) and closes the connection.
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

    // The low-speed limit of bulk transfers in bytes per timeout_ms window (at least 1).
    void set_low_speed_bytes(uint64_t n) { low_speed_ = n ? n : 1; }
    // While a NoCancel lives, the Canceller does not interrupt this wire (deadlines still do); a
    // cancellation that arrived meanwhile is consumed when it ends (and traced). For the reply to
    // the end-of-data dot, which decides whether a message was delivered.
    class NoCancel {
    public:
        explicit NoCancel(Wire &w);
        ~NoCancel();
        NoCancel(const NoCancel &) = delete;
        NoCancel &operator=(const NoCancel &) = delete;

    private:
        Wire &w_;
        net::Canceller *saved_;
    };

    // Starts the whole-reply deadline: the reads until the next begin_* share it.
    void begin_reply();
    // Starts a bulk transfer: reads and send_raw writes until the next begin_* follow the
    // low-speed rule.
    void begin_bulk();

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
    // The same, parsed in place: the view points into the read buffer and is valid until the next
    // read on this wire (no string per line on the hot paths).
    std::string_view read_line_view(size_t max = kMaxLine);
    // The bytes received and not consumed yet (valid until the next read), and consuming them.
    std::string_view buffered() const { return {buf_.get() + pos_, end_ - pos_}; }
    void consume(size_t n) { pos_ += n <= end_ - pos_ ? n : end_ - pos_; }
    // Waits for more bytes (under the current time rule) and appends them to buffered(); throws
    // and closes the connection as read_line does.
    void read_more();
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
    enum class Pace { Unarmed, Reply, Bulk };
    net::Deadline deadline() const;   // now + timeout_ms
    net::Deadline io_deadline() const; // the deadline of the next read or bulk write
    void progressed(size_t n);         // counts bulk bytes; throws when a window was too slow
    [[noreturn]] void too_slow();
    template <class F> size_t timed(F &&io);
    void fill();

    int server_;
    trace::Tracer &tracer_;
    net::Canceller *cancel_;
    int timeout_ms_;
    uint64_t low_speed_ = 1024;
    Pace pace_ = Pace::Unarmed;
    net::Deadline reply_deadline_{};
    net::Clock::time_point window_start_{};
    uint64_t window_bytes_ = 0;
    std::unique_ptr<net::Stream> stream_;
    // The read buffer: bytes [pos_, end_) of buf_ (cap_ bytes) are received and not consumed.
    std::unique_ptr<char[]> buf_;
    size_t cap_ = 0, pos_ = 0, end_ = 0;
    std::string host_;
    uint16_t port_ = 0;
};

} // namespace upopmail::proto
