// fake_server.cpp — the scripted loopback server (plain TCP and mbedTLS server side).
#include "fake/fake_server.hpp"

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace upop_fake {

using Clock = std::chrono::steady_clock;

namespace {

bool starts_with_ci(const std::string& s, const std::string& prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(s[i])) !=
            std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    }
    return true;
}

/** Printable form of bytes for failure messages. */
std::string printable(const std::string& s, std::size_t max = 200) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        unsigned char ch = static_cast<unsigned char>(s[i]);
        if (ch == '\r') out += "\\r";
        else if (ch == '\n') out += "\\n";
        else if (ch < 0x20 || ch >= 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[ch >> 4];
            out += hex[ch & 15];
        } else out += static_cast<char>(ch);
    }
    if (s.size() > max) out += "...";
    return out;
}

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return 0;
    if (left > 1000000) return 1000000;
    return static_cast<int>(left);
}

/** Waits until fd is readable: 1 readable (or hung up), 0 deadline passed, -1 stop requested. */
int wait_readable(int fd, int stop_fd, Clock::time_point deadline) {
    for (;;) {
        pollfd p[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
        int n = ::poll(p, stop_fd >= 0 ? 2 : 1, remaining_ms(deadline));
        if (n < 0) {
            if (errno == EINTR) continue;
            return 1; // let the read report the error
        }
        if (n == 0) return 0;
        if (stop_fd >= 0 && (p[1].revents & POLLIN)) return -1;
        return 1;
    }
}

std::string mbed_error(int rc) {
    char buf[256];
    mbedtls_strerror(rc, buf, sizeof buf);
    return std::string(buf) + " (-0x" + [&] {
        char hex[16];
        std::snprintf(hex, sizeof hex, "%04x", static_cast<unsigned>(-rc));
        return std::string(hex);
    }() + ")";
}

} // namespace

// ------------------------------------------------------------------------------------ TLS state

struct FakeConn::Tls {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    mbedtls_ssl_context ssl;
    int fd = -1;
    int stop_fd = -1;
    Clock::time_point deadline;
    bool active = false;

    Tls() {
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
        mbedtls_ssl_config_init(&conf);
        mbedtls_x509_crt_init(&crt);
        mbedtls_pk_init(&key);
        mbedtls_ssl_init(&ssl);
    }
    ~Tls() {
        mbedtls_ssl_free(&ssl);
        mbedtls_pk_free(&key);
        mbedtls_x509_crt_free(&crt);
        mbedtls_ssl_config_free(&conf);
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
    }

    static int bio_send(void* ctx, const unsigned char* buf, size_t len) {
        auto* t = static_cast<Tls*>(ctx);
        ssize_t n = ::send(t->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) return static_cast<int>(n);
        if (errno == EINTR) return MBEDTLS_ERR_SSL_WANT_WRITE;
        if (errno == EPIPE || errno == ECONNRESET) return MBEDTLS_ERR_NET_CONN_RESET;
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
    // The timeout argument is ignored: the deadline of the current FakeConn operation applies.
    static int bio_recv_timeout(void* ctx, unsigned char* buf, size_t len, uint32_t) {
        auto* t = static_cast<Tls*>(ctx);
        int w = wait_readable(t->fd, t->stop_fd, t->deadline);
        if (w == 0) return MBEDTLS_ERR_SSL_TIMEOUT;
        if (w < 0) return MBEDTLS_ERR_NET_RECV_FAILED;
        ssize_t n = ::recv(t->fd, buf, len, 0);
        if (n >= 0) return static_cast<int>(n); // 0: EOF
        if (errno == EINTR) return MBEDTLS_ERR_SSL_WANT_READ;
        if (errno == ECONNRESET) return MBEDTLS_ERR_NET_CONN_RESET;
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }

    /** Sets up and runs the server handshake; "" on success, else the reason. */
    std::string handshake(const std::string& cert_file, const std::string& key_file) {
        static const char pers[] = "upop_fake_server";
        int rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                       reinterpret_cast<const unsigned char*>(pers), sizeof pers - 1);
        if (rc != 0) return "seeding the RNG: " + mbed_error(rc);
        rc = mbedtls_x509_crt_parse_file(&crt, cert_file.c_str());
        if (rc != 0) return "loading " + cert_file + ": " + mbed_error(rc);
        rc = mbedtls_pk_parse_keyfile(&key, key_file.c_str(), nullptr);
        if (rc != 0) return "loading " + key_file + ": " + mbed_error(rc);
        rc = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT);
        if (rc != 0) return "TLS configuration: " + mbed_error(rc);
        mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
        mbedtls_ssl_conf_read_timeout(&conf, 1000); // non-zero so that bio_recv_timeout is used
        rc = mbedtls_ssl_conf_own_cert(&conf, &crt, &key);
        if (rc != 0) return "TLS own certificate: " + mbed_error(rc);
        rc = mbedtls_ssl_setup(&ssl, &conf);
        if (rc != 0) return "TLS setup: " + mbed_error(rc);
        mbedtls_ssl_set_bio(&ssl, this, bio_send, nullptr, bio_recv_timeout);
        for (;;) {
            rc = mbedtls_ssl_handshake(&ssl);
            if (rc == 0) break;
            if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
            return mbed_error(rc);
        }
        active = true;
        return "";
    }
};

// ------------------------------------------------------------------------------------ FakeConn

FakeConn::FakeConn(FakeServer& owner, int fd, std::chrono::milliseconds timeout)
    : owner_(owner), fd_(fd), timeout_(timeout) {}

FakeConn::~FakeConn() { close(); }

bool FakeConn::tls_active() const { return tls_ && tls_->active; }

void FakeConn::fail(const std::string& what) { owner_.record_failure(what); }

bool FakeConn::send(const std::string& bytes) {
    if (fd_ < 0) return false;
    std::size_t off = 0;
    if (tls_active()) {
        tls_->deadline = Clock::now() + timeout_;
        while (off < bytes.size()) {
            int n = mbedtls_ssl_write(&tls_->ssl, reinterpret_cast<const unsigned char*>(bytes.data()) + off,
                                      bytes.size() - off);
            if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
            if (n < 0) return false;
            off += static_cast<std::size_t>(n);
        }
        return true;
    }
    while (off < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false; // peer gone, or SO_SNDTIMEO expired
        }
        off += static_cast<std::size_t>(n);
    }
    return true;
}

long FakeConn::raw_recv(unsigned char* p, std::size_t n, Clock::time_point deadline, bool& timed_out) {
    timed_out = false;
    if (tls_active()) {
        tls_->deadline = deadline;
        for (;;) {
            int r = mbedtls_ssl_read(&tls_->ssl, p, n);
            if (r > 0) return r;
            if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
            if (r == MBEDTLS_ERR_SSL_TIMEOUT) {
                timed_out = true;
                return -1;
            }
            return 0; // close_notify, EOF, reset or any TLS error: the conversation is over
        }
    }
    int w = wait_readable(fd_, owner_.stop_pipe_[0], deadline);
    if (w == 0) {
        timed_out = true;
        return -1;
    }
    if (w < 0) return 0;
    for (;;) {
        ssize_t r = ::recv(fd_, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        return r < 0 ? 0 : static_cast<long>(r);
    }
}

bool FakeConn::fill(Clock::time_point deadline) {
    unsigned char tmp[16384];
    bool timed_out = false;
    long n = raw_recv(tmp, sizeof tmp, deadline, timed_out);
    if (n > 0) {
        buf_.append(reinterpret_cast<char*>(tmp), static_cast<std::size_t>(n));
        owner_.record_bytes(reinterpret_cast<char*>(tmp), static_cast<std::size_t>(n));
        return true;
    }
    if (timed_out) timed_out_ = true;
    eof_ = true;
    return false;
}

std::string FakeConn::read_line_until(Clock::time_point deadline, bool record_timeout) {
    timed_out_ = false;
    if (fd_ < 0) {
        eof_ = true;
        return "";
    }
    static constexpr std::size_t kMaxLine = 4u << 20;
    for (;;) {
        auto pos = buf_.find('\n');
        if (pos != std::string::npos) {
            std::string line = buf_.substr(0, pos);
            buf_.erase(0, pos + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            else fail("line terminated by a bare LF: \"" + printable(line) + "\"");
            owner_.record_line(line);
            return line;
        }
        if (buf_.size() > kMaxLine) {
            fail("line longer than 4 MiB without LF");
            std::string line;
            line.swap(buf_);
            owner_.record_line(line);
            return line;
        }
        if (!fill(deadline)) {
            if (timed_out_ && record_timeout)
                fail("timed out after " + std::to_string(timeout_.count()) + " ms waiting for a line from the client");
            if (!buf_.empty()) {
                // The client closed after an incomplete line: record it, report eof.
                fail("client closed the connection after an unterminated line: \"" + printable(buf_) + "\"");
                owner_.record_line(buf_);
                buf_.clear();
            }
            return "";
        }
    }
}

std::string FakeConn::read_line() { return read_line_until(Clock::now() + timeout_, true); }

std::string FakeConn::expect(const std::string& prefix) {
    std::string line = read_line();
    if (eof_) fail("expected \"" + prefix + "...\" but the connection ended");
    else if (!starts_with_ci(line, prefix))
        fail("expected \"" + prefix + "...\" but received \"" + printable(line) + "\"");
    return line;
}

std::vector<std::string> FakeConn::read_data() {
    std::vector<std::string> out;
    for (;;) {
        std::string line = read_line();
        if (eof_) {
            fail("connection ended inside DATA");
            return out;
        }
        if (line == ".") return out;
        out.push_back(std::move(line));
    }
}

std::string FakeConn::read_bytes(std::size_t n) {
    timed_out_ = false;
    const auto deadline = Clock::now() + timeout_;
    while (buf_.size() < n && fd_ >= 0) {
        if (!fill(deadline)) {
            if (timed_out_) fail("timed out after " + std::to_string(timeout_.count()) + " ms waiting for " +
                                 std::to_string(n) + " bytes from the client");
            eof_ = true;
            break;
        }
    }
    std::string out = buf_.substr(0, std::min(n, buf_.size()));
    buf_.erase(0, out.size());
    return out;
}

bool FakeConn::start_tls(const std::string& cert_file, const std::string& key_file) {
    if (fd_ < 0 || eof_) {
        fail("TLS handshake failed: the connection is already closed");
        return false;
    }
    if (tls_active()) {
        fail("TLS handshake failed: TLS is already active");
        return false;
    }
    if (!buf_.empty()) {
        fail("the client sent " + std::to_string(buf_.size()) +
             " byte(s) before the TLS handshake: \"" + printable(buf_) + "\"");
        buf_.clear();
    }
    tls_ = std::make_unique<Tls>();
    tls_->fd = fd_;
    tls_->stop_fd = owner_.stop_pipe_[0];
    tls_->deadline = Clock::now() + timeout_;
    std::string err = tls_->handshake(cert_file, key_file);
    if (!err.empty()) {
        fail("TLS handshake failed: " + err);
        tls_->active = false;
        eof_ = true;
        return false;
    }
    return true;
}

bool FakeConn::wait_for_close() { return wait_for_close(timeout_); }

bool FakeConn::wait_for_close(std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (!eof_) read_line_until(deadline, false);
    if (timed_out_) {
        fail("the client did not close the connection within " + std::to_string(limit.count()) + " ms");
        return false;
    }
    return true;
}

bool FakeConn::stall(std::chrono::milliseconds limit) {
    if (fd_ < 0) return true;
    auto deadline = Clock::now() + limit;
    for (;;) {
        pollfd p[2] = {{fd_, POLLRDHUP, 0}, {owner_.stop_pipe_[0], POLLIN, 0}};
        int n = ::poll(p, 2, remaining_ms(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        if (p[1].revents & POLLIN) return false;
        if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
    }
}

void FakeConn::close() {
    if (fd_ < 0) return;
    if (tls_active()) {
        tls_->deadline = Clock::now() + std::chrono::milliseconds(500);
        mbedtls_ssl_close_notify(&tls_->ssl); // best effort
    }
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    fd_ = -1;
    eof_ = true;
}

// ------------------------------------------------------------------------------------ FakeServer

namespace {

int listen_on(int family, uint16_t port, uint16_t* bound) {
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    int rc;
    if (family == AF_INET6) {
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_addr = in6addr_loopback;
        a.sin6_port = htons(port);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (rc != 0 || ::listen(fd, 4) != 0) {
        ::close(fd);
        return -1;
    }
    if (bound) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        *bound = family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                    : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    }
    return fd;
}

} // namespace

FakeServer::FakeServer(Script script, std::chrono::milliseconds safety_timeout) : timeout_(safety_timeout) {
    start(std::move(script), false, {});
}

FakeServer::FakeServer(Script script, TlsOpts tls, std::chrono::milliseconds safety_timeout)
    : timeout_(safety_timeout) {
    start(std::move(script), true, std::move(tls));
}

void FakeServer::start(Script script, bool implicit_tls, TlsOpts tls) {
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("FakeServer: pipe failed");
    // One port on 127.0.0.1 and, where the host has it, the same port on ::1, so that "localhost"
    // reaches the server whichever address the client tries first.
    for (int attempt = 0; attempt < 20 && listen4_ < 0; ++attempt) {
        uint16_t port = 0;
        int fd4 = listen_on(AF_INET, 0, &port);
        if (fd4 < 0) continue;
        int probe = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool have_v6 = probe >= 0;
        if (probe >= 0) ::close(probe);
        int fd6 = have_v6 ? listen_on(AF_INET6, port, nullptr) : -1;
        if (have_v6 && fd6 < 0 && errno == EADDRINUSE) {
            ::close(fd4);
            continue; // someone has this port on ::1: try another
        }
        listen4_ = fd4;
        listen6_ = fd6;
        port_ = port;
    }
    if (listen4_ < 0) throw std::runtime_error("FakeServer: cannot listen on 127.0.0.1");
    thread_ = std::thread([this, script = std::move(script), implicit_tls, tls = std::move(tls)]() mutable {
        run(std::move(script), implicit_tls, std::move(tls));
    });
}

FakeServer::~FakeServer() {
    if (stop_pipe_[1] >= 0) {
        char b = 'x';
        [[maybe_unused]] ssize_t n = ::write(stop_pipe_[1], &b, 1);
    }
    join();
    for (int fd : {listen4_, listen6_, stop_pipe_[0], stop_pipe_[1]})
        if (fd >= 0) ::close(fd);
}

std::string FakeServer::conn() const { return "localhost+" + std::to_string(port_); }

void FakeServer::join() {
    if (thread_.joinable()) thread_.join();
}

void FakeServer::run(Script script, bool implicit_tls, TlsOpts tls) {
    int fd = -1;
    auto deadline = Clock::now() + timeout_;
    while (fd < 0) {
        pollfd p[3] = {{listen4_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}, {listen6_, POLLIN, 0}};
        int n = ::poll(p, listen6_ >= 0 ? 3 : 2, remaining_ms(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            record_failure("no client connected within " + std::to_string(timeout_.count()) + " ms");
            return;
        }
        if (p[1].revents & POLLIN) return; // the test is over
        int lfd = (p[0].revents & POLLIN) ? listen4_ : listen6_;
        fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    }
    ::close(listen4_);
    listen4_ = -1;
    if (listen6_ >= 0) {
        ::close(listen6_);
        listen6_ = -1;
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        connected_ = true;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    FakeConn conn(*this, fd, timeout_);
    if (implicit_tls && !conn.start_tls(tls.cert_file, tls.key_file)) return;
    try {
        script(conn);
    } catch (const std::exception& e) {
        record_failure(std::string("script threw: ") + e.what());
    } catch (...) {
        record_failure("script threw a non-standard exception");
    }
}

void FakeServer::record_line(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(line);
}

void FakeServer::record_bytes(const char* p, std::size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    raw_.append(p, n);
}

void FakeServer::record_failure(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_.push_back(what);
}

std::vector<std::string> FakeServer::lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
}

std::string FakeServer::raw() const {
    std::lock_guard<std::mutex> lock(mu_);
    return raw_;
}

bool FakeServer::saw(const std::string& prefix) const { return count(prefix) > 0; }

std::size_t FakeServer::count(const std::string& prefix) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<std::size_t>(std::count_if(lines_.begin(), lines_.end(),
                                                  [&](const std::string& l) { return starts_with_ci(l, prefix); }));
}

bool FakeServer::received(const std::string& needle) const {
    std::lock_guard<std::mutex> lock(mu_);
    return raw_.find(needle) != std::string::npos;
}

bool FakeServer::connected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return connected_;
}

std::vector<std::string> FakeServer::failures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
}

std::string FakeServer::failure_text() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (auto& f : failures_) out += (out.empty() ? "" : "; ") + f;
    return out;
}

// ------------------------------------------------------------------------------------ helpers

std::string ehlo_reply(const std::vector<std::string>& caps, const std::string& domain) {
    if (caps.empty()) return "250 " + domain + "\r\n";
    std::string out = "250-" + domain + "\r\n";
    for (std::size_t i = 0; i < caps.size(); ++i)
        out += (i + 1 == caps.size() ? "250 " : "250-") + caps[i] + "\r\n";
    return out;
}

std::string b64(const std::string& in) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                     static_cast<unsigned char>(in[i + 2]);
        out += tbl[(v >> 18) & 63];
        out += tbl[(v >> 12) & 63];
        out += tbl[(v >> 6) & 63];
        out += tbl[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += tbl[(v >> 18) & 63];
        out += tbl[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += tbl[(v >> 18) & 63];
        out += tbl[(v >> 12) & 63];
        out += tbl[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string unb64(const std::string& text) {
    std::vector<unsigned char> out(text.size() + 4);
    std::size_t n = 0;
    if (mbedtls_base64_decode(out.data(), out.size(), &n, reinterpret_cast<const unsigned char*>(text.data()),
                              text.size()) != 0)
        return "<invalid base64>";
    return std::string(reinterpret_cast<const char*>(out.data()), n);
}

int bind_loopback(uint16_t& port) {
    port = 0;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        return -1;
    }
    port = ntohs(a.sin_port);
    return fd;
}

void serve_pop(FakeConn& c) {
    c.send("+OK fake POP3 ready\r\n");
    for (;;) {
        std::string line = c.read_line();
        if (c.eof()) return;
        std::string cmd = line.substr(0, line.find(' '));
        for (auto& ch : cmd) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (cmd == "CAPA") {
            c.send("+OK\r\nUSER\r\n.\r\n");
        } else if (cmd == "USER" || cmd == "PASS" || cmd == "NOOP") {
            c.send("+OK\r\n");
        } else if (cmd == "QUIT") {
            c.send("+OK bye\r\n");
            return;
        } else {
            c.send("-ERR unknown command\r\n");
        }
    }
}

void serve_smtp(FakeConn& c, const SmtpOpts& o) {
    const char* ok_auth = "235 2.7.0 Authentication successful\r\n";
    const char* bad_auth = "535 5.7.8 Authentication credentials invalid\r\n";
    for (;;) {
        std::string line = c.read_line();
        if (c.eof()) return;
        std::string up = line;
        for (auto& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (up.rfind("EHLO", 0) == 0) {
            c.send(ehlo_reply(c.tls_active() && !o.tls_cert.empty() ? o.caps_tls : o.caps));
        } else if (up.rfind("HELO", 0) == 0) {
            c.send("250 fake.example\r\n");
        } else if (up == "STARTTLS") {
            if (o.tls_cert.empty() || c.tls_active()) {
                c.send("454 4.7.0 TLS not available\r\n");
            } else {
                c.send("220 2.0.0 Ready to start TLS\r\n");
                if (!c.start_tls(o.tls_cert, o.tls_key)) return;
            }
        } else if (up.rfind("AUTH PLAIN", 0) == 0) {
            if (line.size() <= 11) { // no initial response
                c.send("334 \r\n");
                std::string resp = c.read_line();
                if (c.eof()) return;
                if (resp == "*") {
                    c.send("501 5.0.0 Authentication cancelled\r\n");
                    continue;
                }
            }
            c.send(o.accept_auth ? ok_auth : bad_auth);
        } else if (up.rfind("AUTH LOGIN", 0) == 0) {
            if (line.size() <= 11) {
                c.send("334 VXNlcm5hbWU6\r\n");
                std::string u = c.read_line();
                if (c.eof()) return;
                if (u == "*") {
                    c.send("501 5.0.0 Authentication cancelled\r\n");
                    continue;
                }
            }
            c.send("334 UGFzc3dvcmQ6\r\n");
            std::string p = c.read_line();
            if (c.eof()) return;
            if (p == "*") {
                c.send("501 5.0.0 Authentication cancelled\r\n");
                continue;
            }
            c.send(o.accept_auth ? ok_auth : bad_auth);
        } else if (up.rfind("MAIL FROM:", 0) == 0 || up.rfind("RCPT TO:", 0) == 0 || up == "RSET" ||
                   up.rfind("NOOP", 0) == 0) {
            c.send("250 2.0.0 OK\r\n");
        } else if (up == "DATA") {
            c.send("354 End data with <CR><LF>.<CR><LF>\r\n");
            c.read_data();
            if (c.eof()) return;
            c.send("250 2.0.0 OK: queued\r\n");
        } else if (up == "QUIT") {
            c.send("221 2.0.0 Bye\r\n");
            c.close();
            return;
        } else {
            c.send("502 5.5.2 Command not recognised\r\n");
        }
    }
}

} // namespace upop_fake
