// fake_server.hpp — a scripted, deliberately misbehaving mail server for tests.
//
// A FakeServer listens on the loopback interface (127.0.0.1 and, when available, ::1) on one
// ephemeral port, accepts exactly ONE connection and runs a C++ script on it in its own thread:
//
//     FakeServer srv([](FakeConn& c) {
//         c.send("220 fake ESMTP\r\n");
//         c.expect("EHLO");
//         c.send(ehlo_reply({"STARTTLS", "AUTH PLAIN"}));
//         ...
//     });
//     ... connect a client to "localhost+" + std::to_string(srv.port()) ...
//     srv.join();                       // the script has finished
//     CHECK(!srv.saw("AUTH"));          // what the client sent, line by line
//
// Everything the server does is bounded by a safety timeout (default 10 s per wait), so a
// broken client cannot hang a test suite; nothing in here sleeps to synchronise.
// Problems the script observes (an unexpected line, a timed-out read, a failed TLS handshake,
// an exception) are recorded in failures() rather than thrown.
#ifndef UPOP_TESTS_FAKE_SERVER_HPP
#define UPOP_TESTS_FAKE_SERVER_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace upop_fake {

class FakeServer;

/** The accepted connection, as seen by the script. Used only from the script's thread. */
class FakeConn {
public:
    FakeConn(const FakeConn&) = delete;
    FakeConn& operator=(const FakeConn&) = delete;
    ~FakeConn();

    /** Writes bytes in one write() (plain) or one TLS record batch (after start_tls), so bytes
     *  injected after a reply share its segment. Returns false if the peer is gone. */
    bool send(const std::string& bytes);

    /** Reads one line terminated by LF and returns it without the CRLF (a lone LF terminator
     *  is recorded as a failure; a bare CR inside a line stays in the returned text).
     *  Returns "" with eof() true when the client closed the connection or the safety timeout
     *  expired (the latter is also recorded as a failure). Every line is added to the
     *  transcript. */
    std::string read_line();

    /** Reads a line and records a failure unless it starts with prefix (ASCII case-insensitive).
     *  Returns the line. */
    std::string expect(const std::string& prefix);

    /** Reads DATA content up to and including the terminating "." line; returns the lines
     *  before the terminator, still dot-stuffed. Stops early at eof(). */
    std::vector<std::string> read_data();

    /** Reads exactly n bytes (a BDAT chunk). Returns fewer, with eof() true, when the client
     *  closed first or the safety timeout expired (the latter recorded as a failure). The bytes
     *  are not recorded as lines. */
    std::string read_bytes(std::size_t n);

    /** Server-side TLS handshake (mbedTLS) on the same socket; afterwards send/read_line go
     *  through TLS. Bytes the client sent before the handshake that were not read as lines are
     *  recorded as a failure (a client must send nothing between STARTTLS and the handshake).
     *  A failed handshake is recorded (failure "TLS handshake failed: ...") and returns false;
     *  the connection is then unusable. */
    bool start_tls(const std::string& cert_file, const std::string& key_file);

    /** Blocks until the client closes the connection (anything it sends meanwhile is read and
     *  recorded). Returns true if it closed, false if the safety timeout expired (recorded). */
    bool wait_for_close();
    bool wait_for_close(std::chrono::milliseconds limit);

    /** Stalls WITHOUT reading, so that what the client writes piles up in the socket buffers
     *  until its writes block. Returns when the client closes the connection (as far as TCP can
     *  tell while nothing is read), when the test ends (the FakeServer is destroyed), or after
     *  limit. Records nothing. Returns true if the client closed the connection. */
    bool stall(std::chrono::milliseconds limit);

    /** Closes the connection now (the client sees EOF). */
    void close();

    bool eof() const { return eof_; }
    bool tls_active() const;

    /** Records a failure message (scripts may use it for their own checks). */
    void fail(const std::string& what);

private:
    friend class FakeServer;
    struct Tls;
    FakeConn(FakeServer& owner, int fd, std::chrono::milliseconds timeout);
    bool fill(std::chrono::steady_clock::time_point deadline); // reads more bytes into buf_
    long raw_recv(unsigned char* p, std::size_t n, std::chrono::steady_clock::time_point deadline,
                  bool& timed_out);
    std::string read_line_until(std::chrono::steady_clock::time_point deadline, bool record_timeout);

    FakeServer& owner_;
    int fd_;
    std::chrono::milliseconds timeout_;
    std::string buf_;
    bool eof_ = false;
    bool timed_out_ = false; // the last read_line_until ended at its deadline
    std::unique_ptr<Tls> tls_;
};

/** Options for implicit TLS (handshake right after accept). */
struct TlsOpts {
    std::string cert_file;
    std::string key_file;
};

class FakeServer {
public:
    using Script = std::function<void(FakeConn&)>;

    explicit FakeServer(Script script, std::chrono::milliseconds safety_timeout = std::chrono::seconds(10));
    FakeServer(Script script, TlsOpts tls,
               std::chrono::milliseconds safety_timeout = std::chrono::seconds(10));
    FakeServer(const FakeServer&) = delete;
    FakeServer& operator=(const FakeServer&) = delete;
    /** Joins the script (stops waiting for a connection that never came). */
    ~FakeServer();

    uint16_t port() const { return port_; }
    /** "localhost+<port>" — the upopmail connection string for this server. */
    std::string conn() const;

    /** Waits until the script has finished (idempotent). */
    void join();

    /** Every line the server received so far, without CRLF (thread-safe copy). */
    std::vector<std::string> lines() const;
    /** Every byte the server received so far, after TLS decryption (thread-safe copy). */
    std::string raw() const;
    /** True if some received line starts with prefix (ASCII case-insensitive). */
    bool saw(const std::string& prefix) const;
    /** Number of received lines that start with prefix (ASCII case-insensitive). */
    std::size_t count(const std::string& prefix) const;
    /** True if the bytes received anywhere contain needle (case-sensitive). */
    bool received(const std::string& needle) const;
    /** True once a client connection was accepted. */
    bool connected() const;

    /** What went wrong in the script (unexpected lines, timeouts, failed handshakes, ...). */
    std::vector<std::string> failures() const;
    /** failures() joined with "; " — handy in CHECK_MESSAGE. */
    std::string failure_text() const;

private:
    friend class FakeConn;
    void start(Script script, bool implicit_tls, TlsOpts tls);
    void run(Script script, bool implicit_tls, TlsOpts tls);
    void record_line(const std::string& line);
    void record_bytes(const char* p, std::size_t n);
    void record_failure(const std::string& what);

    std::chrono::milliseconds timeout_;
    int listen4_ = -1;
    int listen6_ = -1;
    int stop_pipe_[2] = {-1, -1};
    uint16_t port_ = 0;
    std::thread thread_;
    mutable std::mutex mu_;
    std::vector<std::string> lines_;
    std::string raw_;
    std::vector<std::string> failures_;
    bool connected_ = false;
};

/** A multi-line EHLO reply: "250-<domain>\r\n250-CAP1\r\n...250 CAPn\r\n" ("250 <domain>\r\n"
 *  when caps is empty). */
std::string ehlo_reply(const std::vector<std::string>& caps, const std::string& domain = "fake.example");

/** A TCP socket bound to 127.0.0.1 on an ephemeral port, not listening (close-on-exec); port
 *  receives its number. Bound and never listening, it is a port that refuses connections.
 *  Returns -1 (port 0) when the system refuses. */
int bind_loopback(uint16_t& port);

/** Base64 of bytes (standard alphabet, padded). */
std::string b64(const std::string& bytes);
/** The bytes of base64 text (standard alphabet, padded), or "<invalid base64>". */
std::string unb64(const std::string& text);

/** Options of serve_smtp: a benign SMTP server loop. */
struct SmtpOpts {
    std::vector<std::string> caps;         // EHLO capabilities (before TLS)
    std::vector<std::string> caps_tls;     // after STARTTLS (used when tls_cert is set)
    std::string tls_cert, tls_key;         // STARTTLS answered with 220 + handshake when set
    bool accept_auth = true;               // AUTH answered 235 (else 535)
};

/** Answers commands until QUIT (replies 221 and closes) or EOF: EHLO/HELO, STARTTLS, AUTH PLAIN
 *  (with or without initial response), AUTH LOGIN, MAIL, RCPT, DATA (content read up to "."),
 *  RSET, NOOP; anything else 502. Used as the "benign continuation" after a misbehaving
 *  preamble, so that a vulnerable client would visibly get further. */
void serve_smtp(FakeConn& c, const SmtpOpts& opts);

/** A benign POP3 logon: sends the +OK greeting, then answers CAPA (USER), USER, PASS and NOOP
 *  with +OK, QUIT with +OK and returns; anything else -ERR. Returns at EOF. */
void serve_pop(FakeConn& c);

} // namespace upop_fake

// The names the test suites use unqualified.
using upop_fake::FakeConn;
using upop_fake::FakeServer;
using upop_fake::TlsOpts;
using upop_fake::ehlo_reply;

#endif
