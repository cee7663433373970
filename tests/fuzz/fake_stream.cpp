// upopmail::net::Stream over fuzz::script() instead of a socket (see fake_net.hpp). Linked in
// place of core/net/stream.cpp; the error sentences mimic the real ones where the line engine
// reacts to them (EOF is UPOP_E_NETWORK and closes the stream).
#include "fake_net.hpp"

#include <algorithm>
#include <cstring>

#include "error.hpp"
#include "net/stream.hpp"
#include "upopmail.h"

namespace fuzz {
Script &script()
{
    static Script s;
    return s;
}
} // namespace fuzz

namespace upopmail::net {

struct Stream::Tls {};

Stream::Stream(Canceller *cancel) : cancel_(cancel) {}
Stream::~Stream() { close(); }
bool Stream::is_open() const { return fd_ >= 0; }
bool Stream::tls_active() const { return tls_up_; }

void Stream::connect(const std::string &host, uint16_t port, Deadline)
{
    close();
    peer_ = host + "+" + std::to_string(port);
    port_ = port;
    fd_ = 1000; // never a real descriptor: close() does not call ::close
}

void Stream::start_tls(const TlsProfile &, const std::string &, Deadline)
{
    if (fd_ < 0) throw Error(UPOP_E_MISC, "TLS needs a connected stream");
    if (tls_up_) throw Error(UPOP_E_MISC, "TLS is already active");
    if (!fuzz::script().tls_handshake_ok) {
        close();
        throw Error(UPOP_E_SECURITY, "TLS handshake with " + peer_ + " failed: (fake)");
    }
    tls_up_ = true;
}

size_t Stream::read_some(char *buf, size_t cap, Deadline)
{
    if (fd_ < 0) throw Error(UPOP_E_NETWORK, "the connection is closed");
    if (cap == 0) return 0;
    auto &s = fuzz::script();
    while (s.seg < s.segments.size() && s.off >= s.segments[s.seg].size()) ++s.seg, s.off = 0;
    if (s.seg >= s.segments.size()) {
        close();
        throw Error(UPOP_E_NETWORK, "connection closed by the server " + peer_);
    }
    const std::string &cur = s.segments[s.seg];
    size_t n = std::min(cap, cur.size() - s.off);
    std::memcpy(buf, cur.data() + s.off, n);
    s.off += n;
    return n;
}

size_t Stream::write_some(const char *data, size_t len, Deadline dl)
{
    write_all(data, len, dl);
    return len;
}

void Stream::write_all(const char *data, size_t len, Deadline)
{
    if (fd_ < 0) throw Error(UPOP_E_NETWORK, "the connection is closed");
    fuzz::script().sent.append(data, len);
}

size_t Stream::tls_pending() const { return 0; }
bool Stream::socket_readable_now() const { return fd_ >= 0 && fuzz::script().unread(); }

void Stream::close() noexcept
{
    fd_ = -1;
    tls_up_ = false;
    tls_.reset();
}

std::string Stream::tls_description() const { return tls_up_ ? "TLSv1.3, FAKE" : ""; }

bool Stream::channel_binding(const std::string &, std::vector<unsigned char> &out) const
{
    out.clear();
    return false;
}

} // namespace upopmail::net
