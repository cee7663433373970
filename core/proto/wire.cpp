#include "proto/wire.hpp"

#include <algorithm>
#include <cstring>

#include "error.hpp"
#include "secret.hpp"
#include "upopmail.h"

namespace upopmail::proto {

Wire::Wire(int server, trace::Tracer &tracer, net::Canceller *cancel, int timeout_ms)
    : server_(server), tracer_(tracer), cancel_(cancel), timeout_ms_(timeout_ms),
      stream_(std::make_unique<net::Stream>(cancel))
{
}

Wire::~Wire() { close(); }

net::Deadline Wire::deadline() const
{
    return net::Clock::now() + std::chrono::milliseconds(timeout_ms_);
}

net::Deadline Wire::io_deadline() const
{
    switch (pace_) {
    case Pace::Reply: return reply_deadline_;
    case Pace::Bulk: {
        // the current window ends the transfer unless it has its bytes; then the next one does
        auto end = window_start_ + std::chrono::milliseconds(timeout_ms_);
        return window_bytes_ >= low_speed_ ? end + std::chrono::milliseconds(timeout_ms_) : end;
    }
    case Pace::Unarmed: break;
    }
    return deadline();
}

Wire::NoCancel::NoCancel(Wire &w) : w_(w), saved_(w.cancel_)
{
    w_.cancel_ = nullptr;
    w_.stream_->swap_canceller(nullptr);
}

Wire::NoCancel::~NoCancel()
{
    w_.cancel_ = saved_;
    w_.stream_->swap_canceller(saved_);
    if (saved_ && saved_->cancelled()) {
        saved_->reset();
        w_.tracer_.event(w_.server_, "a cancellation came while the server's verdict on the message was awaited: "
                                     "it was not allowed to abandon it");
    }
}

void Wire::begin_reply()
{
    pace_ = Pace::Reply;
    reply_deadline_ = deadline();
}

void Wire::begin_bulk()
{
    pace_ = Pace::Bulk;
    window_start_ = net::Clock::now();
    window_bytes_ = 0;
}

void Wire::too_slow()
{
    close();
    throw Error(UPOP_E_TIMEOUT, "the transfer with " + peer() + " moved fewer than " + std::to_string(low_speed_) +
                                    " bytes in " + std::to_string(timeout_ms_) +
                                    " ms (the low-speed limit: options timeout_ms and low_speed_bytes); "
                                    "connection closed");
}

void Wire::progressed(size_t n)
{
    if (pace_ != Pace::Bulk) return;
    const auto window = std::chrono::milliseconds(timeout_ms_);
    const auto now = net::Clock::now();
    // close every window that ended before these bytes came
    while (now >= window_start_ + window) {
        if (window_bytes_ < low_speed_) too_slow();
        window_start_ += window;
        window_bytes_ = 0;
    }
    window_bytes_ += n;
}

// Runs one stream read or write under the current rule; the stream's own time-out sentence says
// only "timed out", so say which rule ended the transfer.
template <class F> size_t Wire::timed(F &&io)
{
    try {
        return io(io_deadline());
    } catch (const Error &e) {
        if (e.status() != UPOP_E_TIMEOUT || (cancel_ && cancel_->cancelled()) || pace_ == Pace::Unarmed) throw;
        if (pace_ == Pace::Bulk) too_slow();
        close();
        throw Error(UPOP_E_TIMEOUT, "the server " + peer() + " did not send its whole reply within " +
                                        std::to_string(timeout_ms_) + " ms (option timeout_ms); connection closed");
    }
}

void Wire::connect(const std::string &host, uint16_t port)
{
    host_ = host;
    port_ = port;
    tracer_.event(server_, "connecting to " + peer());
    stream_->connect(host, port, deadline());
    tracer_.event(server_, "connected to " + peer());
}

void Wire::start_tls(const net::TlsProfile &profile, const std::string &host)
{
    pos_ = end_ = 0;
    stream_->start_tls(profile, host, deadline());
    tracer_.event(server_, "TLS established: " + stream_->tls_description());
    if (!stream_->tls_warning().empty())
        tracer_.event(server_, "certificate problems ignored (verify_server=ignore): " + stream_->tls_warning());
}

bool Wire::tls_active() const { return stream_->tls_active(); }
bool Wire::is_open() const { return stream_->is_open(); }

void Wire::close() noexcept
{
    if (stream_ && stream_->is_open()) {
        stream_->close();
        tracer_.event(server_, "connection closed");
    }
    pos_ = end_ = 0;
}

void Wire::send_line(std::string_view line, size_t visible)
{
    tracer_.sent_redacted(server_, line, visible);
    // The line may carry a credential (PASS, AUTH): its copy is made once, at its full size,
    // and wiped.
    std::string buf;
    buf.reserve(line.size() + 2);
    buf.append(line).append("\r\n");
    upopmail::Secret out(std::move(buf));
    stream_->write_all(out.reveal().data(), out.reveal().size(), deadline());
}

void Wire::send_raw(std::string_view data)
{
    if (pace_ != Pace::Bulk) {
        stream_->write_all(data.data(), data.size(), deadline());
        return;
    }
    while (!data.empty()) {
        size_t n = timed([&](net::Deadline dl) { return stream_->write_some(data.data(), data.size(), dl); });
        progressed(n);
        data.remove_prefix(n);
    }
}

namespace {
// Each read asks for up to this much (a TLS record is at most 16 KiB of plaintext); the buffer
// starts at this size and shrinks back to it when it was grown for a long line and is empty.
constexpr size_t kReadSize = 64 * 1024;
} // namespace

void Wire::fill()
{
    if (pos_ == end_) {
        pos_ = end_ = 0;
        if (cap_ > 4 * kReadSize) {
            buf_.reset();
            cap_ = 0;
        }
    }
    if (cap_ - end_ < kReadSize / 4) {
        size_t unread = end_ - pos_;
        if (pos_ > 0) { // move the unread bytes to the front
            std::memmove(buf_.get(), buf_.get() + pos_, unread);
            pos_ = 0;
            end_ = unread;
        }
        if (cap_ - end_ < kReadSize / 4) { // a long line: grow
            size_t cap = std::max(kReadSize, cap_ * 2);
            auto grown = std::make_unique_for_overwrite<char[]>(cap);
            if (unread) std::memcpy(grown.get(), buf_.get(), unread);
            buf_ = std::move(grown);
            cap_ = cap;
        }
    }
    size_t n = timed([&](net::Deadline dl) { return stream_->read_some(buf_.get() + end_, cap_ - end_, dl); });
    end_ += n;
    progressed(n);
}

void Wire::read_more()
{
    try {
        fill();
    } catch (...) {
        close();
        throw;
    }
}

std::string Wire::read_line(size_t max) { return std::string(read_line_view(max)); }

std::string_view Wire::read_line_view(size_t max)
{
    size_t scanned = 0; // bytes after pos_ known to hold no LF
    for (;;) {
        const char *start = buf_.get() + pos_;
        const char *lf = end_ - pos_ > scanned
                             ? static_cast<const char *>(std::memchr(start + scanned, '\n', end_ - pos_ - scanned))
                             : nullptr;
        if (lf) {
            size_t len = static_cast<size_t>(lf - start);
            if (len + 1 > max) break;
            pos_ += len + 1;
            if (len > 0 && start[len - 1] == '\r') --len;
            return {start, len};
        }
        scanned = end_ - pos_;
        if (scanned > max) break;
        read_more(); // may move the unread bytes to the front
    }
    close();
    throw Error(kProtocolError, "the server " + peer() + " sent a line longer than " +
                                    std::to_string(max) + " bytes; connection closed");
}

bool Wire::has_unread() const
{
    return pos_ < end_ || stream_->tls_pending() > 0 || stream_->socket_readable_now();
}

} // namespace upopmail::proto
