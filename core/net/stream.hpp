// upopmail::net::Stream — one TCP connection with deadlines and cancellation, optionally upgraded
// to TLS (mbedTLS 2.28): implicit TLS right after connect, or STARTTLS/STLS on a live connection.
//
// Error mapping of every blocking call (each message names host+port):
//   upopmail::Error(UPOP_E_NETWORK)   socket errors, connection closed, bad host name
//   upopmail::Error(UPOP_E_TIMEOUT)   the deadline passed ("... timed out") or the Canceller
//                                     fired ("... cancelled")
//   upopmail::Error(UPOP_E_SECURITY)  TLS handshake or certificate failures (start_tls only)
// Any of these closes the stream at once (no close_notify): SPEC §4, a failed or timed-out
// connection is closed. Only the UPOP_E_MISC misuse errors of start_tls (not connected, TLS
// already active) leave the stream as it was. read_some / write_all on a closed stream throw
// Error(UPOP_E_NETWORK, "the connection is closed"). While the Canceller is cancelled, every
// blocking call fails at once with "... cancelled" (until Canceller::reset()).
//
// A Stream is used by one thread at a time; only its Canceller is touched from other threads.
// Each Stream owns its own TLS state (random generator, configuration, client certificate and
// key, session keys); only the CA certificates (read-only) and the entropy source its random
// generator is seeded from may come from the handle's TlsCache.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/tls_profile.hpp"

namespace upopmail::net {

class Canceller;
class TlsCache;

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

class Stream {
public:
    // cancel may be null; when given it must outlive the Stream (it is not owned).
    explicit Stream(Canceller *cancel);
    // Closes (see close()).
    ~Stream();
    Stream(const Stream &) = delete;
    Stream &operator=(const Stream &) = delete;

    // Resolves host (getaddrinfo, AF_UNSPEC; IPv6 literal without brackets) and tries every
    // address in order with a non-blocking connect until dl, TCP_NODELAY on. A stream that is
    // still open is closed first. Name resolution runs on a helper thread so that dl and the
    // Canceller also bound it. Throws Error(UPOP_E_NETWORK, "cannot connect to host+port:
    // <reason>"), Error(UPOP_E_TIMEOUT, "connecting to host+port timed out" / "... cancelled").
    void connect(const std::string &host, uint16_t port, Deadline dl);

    // TLS client handshake on the connected socket (implicit TLS or the STARTTLS/STLS upgrade).
    // host is the name the user gave (the connection string's host): SNI when it is a DNS name,
    // and the identity checked unless profile.names is set. Trust store: profile.ca_certificate
    // and/or ca_location, else kSystemCaFile. Verification per profile.verify_server /
    // ignore_errors / check_name; iPAddress, URI and e-mail subjectAltNames are checked here
    // (mbedTLS 2.28 checks only DNS names). Throws Error(UPOP_E_SECURITY, "TLS handshake with
    // host+port failed: <mbedTLS error>[: <certificate problems>]"), timeouts and cancellation
    // as above, Error(UPOP_E_MISC) when not connected or TLS is already active.
    void start_tls(const TlsProfile &profile, const std::string &host, Deadline dl);
    bool tls_active() const;
    // Why the server of the active TLS connection is not authenticated ("verify_server is off",
    // or the problems verify_server=ignore let pass); "" when its certificate was verified (or
    // TLS is not active).
    const std::string &tls_unverified() const { return tls_unverified_; }
    // With verify_server=ignore: the certificate problems that were ignored in the last
    // handshake ("" when none). The caller decides where to report it (trace).
    const std::string &tls_warning() const { return tls_warning_; }

    // Waits until at least one byte is available (from TLS when active), then returns 1..cap
    // bytes copied into buf; 0 only when cap is 0. The stream keeps no plaintext of its own;
    // bytes mbedTLS has already decrypted are reported by tls_pending().
    // Throws Error(UPOP_E_NETWORK, "connection closed by the server") on EOF, other
    // UPOP_E_NETWORK errors, UPOP_E_TIMEOUT on deadline or cancellation.
    size_t read_some(char *buf, size_t cap, Deadline dl);
    // Sends 1..len bytes, waiting until dl for room (0 only when len is 0); same error mapping.
    size_t write_some(const char *data, size_t len, Deadline dl);
    // Sends all len bytes before dl (as whole TLS records when TLS is active; never SIGPIPE).
    // Same error mapping as read_some.
    void write_all(const char *data, size_t len, Deadline dl);
    // Plaintext bytes decrypted by mbedTLS and not yet returned (0 without TLS).
    size_t tls_pending() const;
    // True when bytes wait on the raw socket right now (poll with timeout 0), or received bytes
    // wait in the TLS read-ahead. Used right after a STARTTLS/STLS go-ahead to detect injected
    // bytes.
    bool socket_readable_now() const;

    // Sends close_notify when TLS is active (best effort, never blocking more than 1 s, skipped
    // after a failure or a cancellation), closes the socket and frees the TLS state.
    // Idempotent.
    void close() noexcept;
    bool is_open() const;

    // "TLSv1.2, TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"; "" when TLS is not active.
    std::string tls_description() const;
    // Channel binding data of the active TLS connection into out:
    //   "tls-server-end-point" (RFC 5929 §4.1: hash of the server certificate with its signature
    //                           hash, SHA-256 when that is MD5 or SHA-1)
    //   "tls-unique"           (RFC 5929 §3.1: the client Finished verify_data of the one full
    //                           handshake; this client never resumes or renegotiates)
    // Returns false (out cleared) when TLS is not active, the type is unknown or the data is
    // unavailable.
    bool channel_binding(const std::string &type, std::vector<unsigned char> &out) const;

    // Where start_tls takes its trust store from: the handle's cache (not owned; it must outlive
    // the Stream), its trace events said for server. Without one (nullptr, the default), each
    // handshake reads the CA files itself.
    void use_tls_cache(TlsCache *cache, int server)
    {
        tls_cache_ = cache;
        tls_cache_server_ = server;
    }

    // Replaces the Canceller (nullptr: blocking calls are no longer cancellable); returns the old.
    Canceller *swap_canceller(Canceller *c)
    {
        Canceller *old = cancel_;
        cancel_ = c;
        return old;
    }

    // The socket descriptor, -1 when closed (for diagnostics and tests; owned by the Stream).
    int native_handle() const { return fd_; }

    struct Tls; // TLS state (stream.cpp)

private:
    enum class Wait { Ready, Timeout, Cancelled };
    Wait wait(int fd, short events, Deadline dl) const;
    [[noreturn]] void fail(int status, const std::string &sentence);
    [[noreturn]] void fail_wait(Wait w, const std::string &what);
    void abort_connection() noexcept;

    Canceller *cancel_;
    int fd_ = -1;
    std::string peer_;                  // "host+port" for messages
    uint16_t port_ = 0;
    std::unique_ptr<Tls> tls_;
    bool tls_up_ = false;
    std::string tls_warning_;
    std::string tls_unverified_;
    TlsCache *tls_cache_ = nullptr;
    int tls_cache_server_ = 0;
};

} // namespace upopmail::net
