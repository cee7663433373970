#include "net/stream.hpp"

#include "error.hpp"
#include "net/cancel.hpp"
#include "net/peer_check.hpp"
#include "net/tls_cache.hpp"
#include "net/text.hpp"
#include "upopmail.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace upopmail::net {

// ---------------------------------------------------------------------------- TLS state

// The read-ahead under mbedTLS: bio_recv takes what the socket has (up to kSize) in one recv()
// and hands mbedTLS the bytes it asks for (a record header, then its body) from here, so that
// they do not cost a recv() each. Bytes in it are unread: socket_readable_now() reports them.
struct ReadAhead {
    static constexpr size_t kSize = 64 * 1024;
    std::unique_ptr<unsigned char[]> buf;
    size_t pos = 0, end = 0;
};

struct Stream::Tls {
    std::unique_ptr<EntropySource> own_entropy; // without a TlsCache
    mbedtls_entropy_context *entropy = nullptr; // own_entropy's (without a TlsCache)
    mbedtls_ctr_drbg_context drbg;              // seeded per connection only without a TlsCache
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    std::shared_ptr<const TrustStore> trust; // the CA certificates (shared with the handle's cache)
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;
    int fd = -1;
    int io_errno = 0;                 // errno of the last failed send/recv in the bio
    bool check_name = true;
    std::vector<PeerName> expected;   // names the server certificate must carry
    std::string mismatch;             // set by the verify callback when the name check fails
    bool broken = false;              // a fatal error happened: no close_notify
    ReadAhead ahead;                  // ciphertext received and not yet given to mbedTLS

    Tls()
    {
        mbedtls_ctr_drbg_init(&drbg);
        mbedtls_ssl_config_init(&conf);
        mbedtls_ssl_init(&ssl);
        mbedtls_x509_crt_init(&own_cert);
        mbedtls_pk_init(&own_key);
    }
    ~Tls()
    {
        mbedtls_ssl_free(&ssl);
        mbedtls_ssl_config_free(&conf);
        mbedtls_pk_free(&own_key);
        mbedtls_x509_crt_free(&own_cert);
        mbedtls_ctr_drbg_free(&drbg);
    }
    Tls(const Tls &) = delete;
    Tls &operator=(const Tls &) = delete;
};

namespace {

std::string mbed_error(int code)
{
    char buf[256];
    mbedtls_strerror(code, buf, sizeof buf);
    return buf;
}

// mbedtls_x509_crt_verify_info as one line: "a; b".
std::string verify_text(uint32_t flags)
{
    char buf[1024];
    int n = mbedtls_x509_crt_verify_info(buf, sizeof buf, "", flags);
    if (n <= 0) return "unknown certificate problem (flags " + std::to_string(flags) + ")";
    std::string s(buf, static_cast<size_t>(n));
    std::string out;
    size_t start = 0;
    while (start < s.size()) {
        auto nl = s.find('\n', start);
        std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (!line.empty()) out += (out.empty() ? "" : "; ") + line;
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    return out;
}

// Non-blocking bio: the Stream's poll loop does the waiting (with deadline and cancel fd).
int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    auto *t = static_cast<Stream::Tls *>(ctx);
    for (;;) {
        ssize_t n = ::send(t->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) return static_cast<int>(n);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return MBEDTLS_ERR_SSL_WANT_WRITE;
        t->io_errno = errno;
        return (errno == EPIPE || errno == ECONNRESET) ? MBEDTLS_ERR_NET_CONN_RESET
                                                       : MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    auto *t = static_cast<Stream::Tls *>(ctx);
    ReadAhead &ra = t->ahead;
    if (ra.pos == ra.end) {
        unsigned char *into = buf; // a request as large as the read-ahead goes straight to buf
        size_t cap = len;
        if (len < ReadAhead::kSize) {
            if (!ra.buf) ra.buf = std::make_unique_for_overwrite<unsigned char[]>(ReadAhead::kSize);
            into = ra.buf.get();
            cap = ReadAhead::kSize;
        }
        for (;;) {
            ssize_t n = ::recv(t->fd, into, cap, MSG_DONTWAIT);
            if (n > 0 && into == buf) return static_cast<int>(n);
            if (n > 0) {
                ra.pos = 0;
                ra.end = static_cast<size_t>(n);
                break;
            }
            if (n == 0) return 0; // EOF
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return MBEDTLS_ERR_SSL_WANT_READ;
            t->io_errno = errno;
            return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
        }
    }
    size_t k = std::min(len, ra.end - ra.pos);
    std::memcpy(buf, ra.buf.get() + ra.pos, k);
    ra.pos += k;
    return static_cast<int>(k);
}

// Called by mbedTLS for each certificate of the chain; at depth 0 (the server's own
// certificate) the name check of mbedTLS (DNS only, against the SNI name) is replaced by ours.
int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    if (depth != 0) return 0;
    auto *t = static_cast<Stream::Tls *>(ctx);
    try {
        *flags &= ~static_cast<uint32_t>(MBEDTLS_X509_BADCERT_CN_MISMATCH);
        if (t->check_name && !certificate_matches(*crt, t->expected)) {
            *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
            t->mismatch = "expected " + describe_names(t->expected) + ", the certificate is for " +
                          certificate_names(*crt);
        }
    } catch (...) {
        *flags |= MBEDTLS_X509_BADCERT_OTHER;
    }
    return 0;
}

// getaddrinfo on a helper thread, so that the deadline and the Canceller bound it too.
struct Resolution {
    int efd = -1;      // readable when done
    std::atomic<bool> done{false};
    int rc = 0;
    int sys_errno = 0;
    addrinfo *res = nullptr;
    ~Resolution()
    {
        if (res) ::freeaddrinfo(res);
        if (efd >= 0) ::close(efd);
    }
};

struct AddrList {
    addrinfo *head = nullptr;
    std::shared_ptr<Resolution> owner; // keeps head alive when it came from the thread
    addrinfo *more = nullptr;          // a second list, tried after head's
    ~AddrList()
    {
        if (!owner && head) ::freeaddrinfo(head);
        if (more) ::freeaddrinfo(more);
    }
};

// RFC 6761 §6.3: "localhost" and the names under ".localhost" (also with a final dot) are the
// loopback addresses, known without asking a resolver.
bool is_localhost_name(std::string_view h)
{
    if (!h.empty() && h.back() == '.') h.remove_suffix(1);
    auto ends_with = [&](std::string_view tail) {
        if (h.size() < tail.size()) return false;
        for (size_t i = 0; i < tail.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(h[h.size() - tail.size() + i])) != tail[i]) return false;
        return true;
    };
    return ends_with("localhost") && (h.size() == 9 || h[h.size() - 10] == '.');
}

} // namespace

// ---------------------------------------------------------------------------- Stream

Stream::Stream(Canceller *cancel) : cancel_(cancel) {}

Stream::~Stream() { close(); }

bool Stream::is_open() const { return fd_ >= 0; }

bool Stream::tls_active() const { return tls_ && tls_up_; }

Stream::Wait Stream::wait(int fd, short events, Deadline dl) const
{
    // About to wait for the server: acknowledge what it sends at once. A server that writes its
    // pipelined replies one by one (Postfix after "BDAT n LAST") holds the second behind Nagle's
    // algorithm until the first is acknowledged, and a delayed ACK costs 40 ms per message.
    // Linux leaves quick-ACK mode on its own, so it is asked for before every wait.
    if (events & POLLIN) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    for (;;) {
        if (cancel_ && cancel_->cancelled()) return Wait::Cancelled;
        auto now = Clock::now();
        if (now >= dl) return Wait::Timeout;
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(dl - now).count();
        int timeout = ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
        pollfd p[2] = {{fd, events, 0}, {cancel_ ? cancel_->fd() : -1, POLLIN, 0}};
        int r = ::poll(p, cancel_ ? 2 : 1, timeout);
        if (r < 0) {
            if (errno == EINTR) continue;
            return Wait::Ready; // let the following I/O call report the problem
        }
        if (r == 0) continue; // the loop re-checks the deadline
        if (cancel_ && p[1].revents) return Wait::Cancelled;
        if (p[0].revents) return Wait::Ready;
    }
}

void Stream::abort_connection() noexcept
{
    tls_.reset();
    tls_up_ = false;
    tls_unverified_.clear();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void Stream::fail(int status, const std::string &sentence)
{
    abort_connection();
    throw Error(status, sentence);
}

void Stream::fail_wait(Wait w, const std::string &what)
{
    fail(UPOP_E_TIMEOUT, what + (w == Wait::Cancelled ? " cancelled" : " timed out"));
}

void Stream::connect(const std::string &host, uint16_t port, Deadline dl)
{
    close();
    peer_ = host_port(host, port);
    port_ = port;
    tls_warning_.clear();
    const std::string what = "connecting to " + peer_;
    if (cancel_ && cancel_->cancelled()) fail_wait(Wait::Cancelled, what);
    if (host.empty() || port == 0) fail(UPOP_E_NETWORK, "cannot connect to " + peer_ + ": no host or port");

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    const std::string service = std::to_string(port);
    AddrList addrs;
    if (is_ip_literal(host)) {
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
        int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &addrs.head);
        if (rc != 0)
            fail(UPOP_E_NETWORK, "cannot connect to " + peer_ + ": " +
                                     (rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc)));
    } else if (is_localhost_name(host)) {
        // The loopback addresses, IPv4 first (where local servers listen most often), without
        // a resolver or its helper thread (as curl does).
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
        int rc = ::getaddrinfo("127.0.0.1", service.c_str(), &hints, &addrs.head);
        if (rc != 0)
            fail(UPOP_E_NETWORK, "cannot connect to " + peer_ + ": " +
                                     (rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc)));
        if (::getaddrinfo("::1", service.c_str(), &hints, &addrs.more) != 0) addrs.more = nullptr;
    } else {
        hints.ai_flags = AI_NUMERICSERV;
        auto st = std::make_shared<Resolution>();
        st->efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (st->efd < 0)
            fail(UPOP_E_NETWORK, "cannot connect to " + peer_ + ": " + std::strerror(errno));
        try {
            std::thread([st, host, service, hints] {
                addrinfo *res = nullptr;
                int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
                st->sys_errno = errno;
                st->res = res;
                st->rc = rc;
                st->done.store(true, std::memory_order_release);
                uint64_t one = 1;
                ssize_t w = ::write(st->efd, &one, sizeof one);
                (void)w;
            }).detach();
        } catch (const std::system_error &) {
            // No thread available: resolve here, without deadline.
            st->rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &st->res);
            st->sys_errno = errno;
            st->done.store(true, std::memory_order_release);
            uint64_t one = 1;
            ssize_t w = ::write(st->efd, &one, sizeof one);
            (void)w;
        }
        Wait w = wait(st->efd, POLLIN, dl);
        if (w != Wait::Ready) fail_wait(w, "resolving " + host + " (" + what + ")");
        if (!st->done.load(std::memory_order_acquire))
            fail(UPOP_E_NETWORK, "cannot connect to " + peer_ + ": name resolution failed");
        if (st->rc != 0)
            fail(UPOP_E_NETWORK, "cannot connect to " + peer_ + ": " +
                                     (st->rc == EAI_SYSTEM ? std::strerror(st->sys_errno)
                                                           : ::gai_strerror(st->rc)));
        addrs.head = st->res;
        addrs.owner = st;
    }

    std::vector<const addrinfo *> order;
    for (auto *list : {addrs.head, addrs.more})
        for (const addrinfo *a = list; a; a = a->ai_next) order.push_back(a);
    const size_t count = order.size();
    int last_errno = 0;
    bool timed_out = false;
    for (size_t index = 0; index < count; ++index) {
        const addrinfo *a = order[index];
        // Share the remaining time among the remaining addresses, so that one black-holed
        // address (typically IPv6 without a route) does not use up the whole deadline.
        auto now = Clock::now();
        if (now >= dl) {
            timed_out = true;
            break;
        }
        Deadline attempt_dl = index + 1 == count ? dl : now + (dl - now) / static_cast<long>(count - index);
        int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
        int err = r == 0 ? 0 : errno;
        if (r != 0 && (err == EINPROGRESS || err == EINTR)) {
            Wait w = wait(fd, POLLOUT, attempt_dl);
            if (w == Wait::Cancelled) {
                ::close(fd);
                fail_wait(w, what);
            }
            if (w == Wait::Timeout) {
                ::close(fd);
                timed_out = true;
                continue;
            }
            socklen_t len = sizeof err;
            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        }
        if (err != 0) {
            ::close(fd);
            last_errno = err;
            continue;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fd_ = fd;
        return;
    }
    if (timed_out && (last_errno == 0 || Clock::now() >= dl)) fail_wait(Wait::Timeout, what);
    fail(UPOP_E_NETWORK, "cannot connect to " + peer_ + ": " +
                             (last_errno ? std::strerror(last_errno) : "no address"));
}

void Stream::start_tls(const TlsProfile &profile, const std::string &host_in, Deadline dl)
{
    // Tolerate "[::1]": the address inside is the identity.
    const std::string host = host_in.size() > 2 && host_in.front() == '[' && host_in.back() == ']'
                                 ? host_in.substr(1, host_in.size() - 2)
                                 : host_in;
    if (fd_ < 0) throw Error(UPOP_E_MISC, "cannot start TLS: not connected");
    if (tls_) throw Error(UPOP_E_MISC, "cannot start TLS on " + peer_ + ": TLS is already active");
    const std::string label = host_port(host, port_);
    const std::string what = "TLS handshake with " + label;
    const std::string failed = what + " failed: ";
    const std::string prof = "TLS profile " + quote(profile.name) + ": ";
    tls_warning_.clear();
    tls_unverified_.clear();
    if (cancel_ && cancel_->cancelled()) fail_wait(Wait::Cancelled, what);

    tls_ = std::make_unique<Tls>();
    Tls &t = *tls_;
    t.fd = fd_;
    int r = 0;
    mbedtls_ctr_drbg_context *rng = nullptr;
    if (tls_cache_) {
        rng = tls_cache_->random(&r); // the handle's generator, seeded once
    } else {
        t.own_entropy = std::make_unique<EntropySource>();
        t.entropy = t.own_entropy->get();
        static const unsigned char pers[] = "upopmail tls client";
        r = mbedtls_ctr_drbg_seed(&t.drbg, mbedtls_entropy_func, t.entropy, pers, sizeof pers - 1);
        rng = &t.drbg;
    }
    if (r != 0 || !rng) fail(UPOP_E_SECURITY, failed + "cannot seed the random generator: " + mbed_error(r));
    r = mbedtls_ssl_config_defaults(&t.conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT);
    if (r != 0) fail(UPOP_E_SECURITY, failed + mbed_error(r));
    mbedtls_ssl_conf_rng(&t.conf, mbedtls_ctr_drbg_random, rng);

    int minor;
    switch (profile.min_tls_version) {
    case 10: minor = MBEDTLS_SSL_MINOR_VERSION_1; break;
    case 11: minor = MBEDTLS_SSL_MINOR_VERSION_2; break;
    case 12: minor = MBEDTLS_SSL_MINOR_VERSION_3; break;
    default:
        fail(UPOP_E_SECURITY, prof + "min_tls_version " + std::to_string(profile.min_tls_version / 10) +
                                  "." + std::to_string(profile.min_tls_version % 10) +
                                  " is not available (this TLS library supports up to TLS 1.2)");
    }
    mbedtls_ssl_conf_min_version(&t.conf, MBEDTLS_SSL_MAJOR_VERSION_3, minor);
    mbedtls_ssl_conf_max_version(&t.conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    // ECDHE groups, fastest first (mbedTLS's default order starts with P-521, about 3x the cost
    // of P-256 per handshake); P-521 stays offered for servers that insist on it.
    static const mbedtls_ecp_group_id kCurves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
                                                   MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_SECP521R1,
                                                   MBEDTLS_ECP_DP_NONE};
    mbedtls_ssl_conf_curves(&t.conf, kCurves);

    if (profile.verify_server) {
        try {
            t.trust = tls_cache_ ? tls_cache_->trust(profile, tls_cache_server_) : load_trust_store(profile);
        } catch (const Error &e) {
            fail(e.status(), e.what());
        }
        mbedtls_ssl_conf_ca_chain(&t.conf, t.trust->chain(), nullptr);
        mbedtls_ssl_conf_authmode(&t.conf, profile.ignore_errors ? MBEDTLS_SSL_VERIFY_OPTIONAL
                                                                 : MBEDTLS_SSL_VERIFY_REQUIRED);
        t.check_name = profile.check_name;
        t.expected = expected_names(profile, host);
        mbedtls_ssl_conf_verify(&t.conf, verify_cb, &t);
    } else {
        mbedtls_ssl_conf_authmode(&t.conf, MBEDTLS_SSL_VERIFY_NONE);
    }

    if (!profile.client_certificate.empty()) {
        r = mbedtls_x509_crt_parse_file(&t.own_cert, profile.client_certificate.c_str());
        if (r != 0)
            fail(UPOP_E_SECURITY, prof + "cannot load client_certificate " +
                                      quote(profile.client_certificate) + ": " + mbed_error(r));
        r = mbedtls_pk_parse_keyfile(&t.own_key, profile.client_key.c_str(),
                                     profile.client_key_password.empty() ? nullptr
                                                                         : profile.client_key_password.c_str());
        if (r != 0)
            fail(UPOP_E_SECURITY, prof + "cannot load client_key " + quote(profile.client_key) + ": " +
                                      mbed_error(r));
        r = mbedtls_ssl_conf_own_cert(&t.conf, &t.own_cert, &t.own_key);
        if (r != 0) fail(UPOP_E_SECURITY, prof + "client certificate: " + mbed_error(r));
    }

    r = mbedtls_ssl_setup(&t.ssl, &t.conf);
    if (r != 0) fail(UPOP_E_SECURITY, failed + mbed_error(r));
    if (!is_ip_literal(host)) {
        // SNI (RFC 6066: no IP addresses, no trailing dot); the name check itself is ours.
        std::string sni = !host.empty() && host.back() == '.' ? host.substr(0, host.size() - 1) : host;
        r = mbedtls_ssl_set_hostname(&t.ssl, sni.c_str());
        if (r != 0) fail(UPOP_E_SECURITY, failed + "host name " + quote(host) + ": " + mbed_error(r));
    }
    mbedtls_ssl_set_bio(&t.ssl, &t, bio_send, bio_recv, nullptr);

    for (;;) {
        r = mbedtls_ssl_handshake(&t.ssl);
        if (r == 0) break;
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
            Wait w = wait(fd_, r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, dl);
            if (w != Wait::Ready) fail_wait(w, what);
            continue;
        }
        std::string msg = failed + mbed_error(r);
        if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
            uint32_t flags = mbedtls_ssl_get_verify_result(&t.ssl);
            msg += ": " + verify_text(flags);
            if (!t.mismatch.empty()) msg += " (" + t.mismatch + ")";
        } else if (r == MBEDTLS_ERR_NET_CONN_RESET || r == MBEDTLS_ERR_NET_SEND_FAILED ||
                   r == MBEDTLS_ERR_NET_RECV_FAILED) {
            msg += " (" + std::string(std::strerror(t.io_errno)) + ")";
        } else if (r == MBEDTLS_ERR_SSL_CONN_EOF) {
            msg = failed + "the server closed the connection during the handshake";
        }
        fail(UPOP_E_SECURITY, msg);
    }
    tls_up_ = true;
    if (!profile.verify_server) tls_unverified_ = "verify_server is off";
    // RFC 4954 §14: a certificate that is not checked against the host name authenticates
    // nobody in particular
    else if (!profile.check_name) tls_unverified_ = "verify_server_name is off";
    if (profile.verify_server && profile.ignore_errors) {
        uint32_t flags = mbedtls_ssl_get_verify_result(&t.ssl);
        if (flags != 0) {
            tls_warning_ = "certificate problems of " + label + " ignored (verify_server=ignore): " +
                           verify_text(flags) + (t.mismatch.empty() ? "" : " (" + t.mismatch + ")");
            tls_unverified_ = "verify_server=ignore let its problems pass";
        }
    }
}

size_t Stream::read_some(char *buf, size_t cap, Deadline dl)
{
    // (the sentence of a failure is made only when it fails: no allocation per read)
    if (cap == 0) return 0;
    if (fd_ < 0) throw Error(UPOP_E_NETWORK, "the connection is closed");
    if (cancel_ && cancel_->cancelled()) fail_wait(Wait::Cancelled, "reading from " + peer_);
    if (tls_) {
        if (cap > INT_MAX) cap = INT_MAX;
        // Nothing decrypted and nothing received ahead: wait for the socket first instead of a
        // recv() that would fail with EAGAIN (a reply is seldom there the moment it is awaited;
        // one system call less per command).
        if (tls_->ahead.pos == tls_->ahead.end && mbedtls_ssl_get_bytes_avail(&tls_->ssl) == 0) {
            Wait w = wait(fd_, POLLIN, dl);
            if (w != Wait::Ready) fail_wait(w, "reading from " + peer_);
        }
        for (;;) {
            int r = mbedtls_ssl_read(&tls_->ssl, reinterpret_cast<unsigned char *>(buf), cap);
            if (r > 0) return static_cast<size_t>(r);
            if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF)
                fail(UPOP_E_NETWORK, "connection closed by the server");
            if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
                Wait w = wait(fd_, r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, dl);
                if (w != Wait::Ready) fail_wait(w, "reading from " + peer_);
                continue;
            }
            if (r == MBEDTLS_ERR_NET_CONN_RESET || r == MBEDTLS_ERR_NET_RECV_FAILED ||
                r == MBEDTLS_ERR_NET_SEND_FAILED)
                fail(UPOP_E_NETWORK, "cannot read from " + peer_ + ": " + std::strerror(tls_->io_errno));
            fail(UPOP_E_NETWORK, "cannot read from " + peer_ + ": " + mbed_error(r));
        }
    }
    for (;;) {
        ssize_t n = ::recv(fd_, buf, cap, MSG_DONTWAIT);
        if (n > 0) return static_cast<size_t>(n);
        if (n == 0) fail(UPOP_E_NETWORK, "connection closed by the server");
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            fail(UPOP_E_NETWORK, "cannot read from " + peer_ + ": " + std::strerror(errno));
        Wait w = wait(fd_, POLLIN, dl);
        if (w != Wait::Ready) fail_wait(w, "reading from " + peer_);
    }
}

size_t Stream::write_some(const char *data, size_t len, Deadline dl)
{
    const std::string what = "sending to " + peer_;
    if (fd_ < 0) throw Error(UPOP_E_NETWORK, "the connection is closed");
    if (cancel_ && cancel_->cancelled()) fail_wait(Wait::Cancelled, what);
    if (len == 0) return 0;
    for (;;) {
        if (tls_) {
            int r = mbedtls_ssl_write(&tls_->ssl, reinterpret_cast<const unsigned char *>(data), len);
            if (r > 0) return static_cast<size_t>(r);
            if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
                Wait w = wait(fd_, r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, dl);
                if (w != Wait::Ready) fail_wait(w, what);
                continue;
            }
            if (r == MBEDTLS_ERR_NET_CONN_RESET || r == MBEDTLS_ERR_NET_SEND_FAILED ||
                r == MBEDTLS_ERR_NET_RECV_FAILED)
                fail(UPOP_E_NETWORK, "cannot send to " + peer_ + ": " + std::strerror(tls_->io_errno));
            fail(UPOP_E_NETWORK, "cannot send to " + peer_ + ": " + mbed_error(r));
        }
        ssize_t n = ::send(fd_, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) return static_cast<size_t>(n);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            fail(UPOP_E_NETWORK, "cannot send to " + peer_ + ": " + std::strerror(errno));
        Wait w = wait(fd_, POLLOUT, dl);
        if (w != Wait::Ready) fail_wait(w, what);
    }
}

void Stream::write_all(const char *data, size_t len, Deadline dl)
{
    if (fd_ < 0) throw Error(UPOP_E_NETWORK, "the connection is closed");
    if (len == 0 && cancel_ && cancel_->cancelled()) fail_wait(Wait::Cancelled, "sending to " + peer_);
    while (len > 0) {
        size_t n = write_some(data, len, dl);
        data += n;
        len -= n;
    }
}

size_t Stream::tls_pending() const
{
    return tls_ && tls_up_ ? mbedtls_ssl_get_bytes_avail(&tls_->ssl) : 0;
}

bool Stream::socket_readable_now() const
{
    if (fd_ < 0) return false;
    if (tls_ && tls_->ahead.pos < tls_->ahead.end) return true; // received, still in the read-ahead
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

void Stream::close() noexcept
{
    if (tls_ && tls_up_ && fd_ >= 0 && !(cancel_ && cancel_->cancelled())) {
        Deadline dl = Clock::now() + std::chrono::seconds(1);
        for (;;) {
            int r = mbedtls_ssl_close_notify(&tls_->ssl);
            if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
                if (wait(fd_, r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, dl) == Wait::Ready) continue;
            }
            break;
        }
    }
    abort_connection();
}

std::string Stream::tls_description() const
{
    if (!tls_active()) return "";
    const char *v = mbedtls_ssl_get_version(&tls_->ssl);
    const char *c = mbedtls_ssl_get_ciphersuite(&tls_->ssl);
    return std::string(v ? v : "?") + ", " + (c ? c : "?");
}

bool Stream::channel_binding(const std::string &type, std::vector<unsigned char> &out) const
{
    out.clear();
    if (!tls_active()) return false;
    if (type == "tls-server-end-point") {
        const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&tls_->ssl);
        if (!crt || !crt->raw.p) return false;
        mbedtls_md_type_t md = crt->sig_md;
        if (md == MBEDTLS_MD_NONE) return false;
        if (md == MBEDTLS_MD_MD5 || md == MBEDTLS_MD_SHA1) md = MBEDTLS_MD_SHA256;
        const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
        if (!info) return false;
        out.resize(mbedtls_md_get_size(info));
        if (mbedtls_md(info, crt->raw.p, crt->raw.len, out.data()) != 0) {
            out.clear();
            return false;
        }
        return true;
    }
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    if (type == "tls-unique") {
        // Full handshake (this client never resumes): the first Finished is the client's.
        size_t n = tls_->ssl.verify_data_len;
        if (n == 0 || n > sizeof tls_->ssl.own_verify_data) return false;
        const auto *p = reinterpret_cast<const unsigned char *>(tls_->ssl.own_verify_data);
        out.assign(p, p + n);
        return true;
    }
#endif
    return false;
}

} // namespace upopmail::net
