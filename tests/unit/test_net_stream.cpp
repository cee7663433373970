// The transport: TCP with deadlines and cancellation, and the TLS client with certificate and
// host-name verification. Servers run in this process on loopback: plain sockets made here, and
// for TLS the scripted fake server of tests/fake with certificates generated at test time.
#include <doctest/doctest.h>

#include "error.hpp"
#include "fake/certs.hpp"
#include "fake/fake_server.hpp"
#include "net/cancel.hpp"
#include "net/stream.hpp"
#include "net/tls_profile.hpp"
#include "upopmail.h"

#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;
using upopmail::net::Canceller;
using upopmail::net::Clock;
using upopmail::net::parse_profile_options;
using upopmail::net::PeerName;
using upopmail::net::Stream;
using upopmail::net::TlsProfile;

namespace {

struct Failure {
    int status = 0;
    std::string text;
};

template <class F> Failure failure_of(F &&f)
{
    try {
        f();
    } catch (const upopmail::Error &e) {
        return {e.status(), e.what()};
    }
    return {};
}

bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

// A loopback TCP socket owned by the test (closed by the destructor).
struct Sock {
    int fd = -1;
    explicit Sock(int f = -1) : fd(f) {}
    ~Sock()
    {
        if (fd >= 0) ::close(fd);
    }
    Sock(const Sock &) = delete;
    Sock &operator=(const Sock &) = delete;
};

// Binds 127.0.0.1:0 and returns the socket; port receives the number.
int bind_loopback(uint16_t &port)
{
    int fd = upop_fake::bind_loopback(port);
    REQUIRE(fd >= 0);
    return fd;
}

// A profile trusting the test CA (verification on, as by default).
TlsProfile trusting(const std::string &ca_file, const std::string &more = "")
{
    return parse_profile_options("ca_certificate=" + ca_file + (more.empty() ? "" : ", " + more), "test");
}

// Implicit-TLS fake server presenting cert/key that greets, answers one line, then waits.
struct TlsServer {
    FakeServer srv;
    TlsServer(const std::string &cert, const std::string &key)
        : srv(
              [](FakeConn &c) {
                  c.send("220 hello over TLS\r\n");
                  std::string line = c.read_line();
                  if (line == "PING") c.send("PONG\r\n");
                  c.wait_for_close();
              },
              TlsOpts{cert, key})
    {
    }
};

std::string read_line(Stream &s)
{
    std::string out;
    char c;
    while (out.size() < 1000 && s.read_some(&c, 1, Clock::now() + 5s) == 1 && c != '\n') out += c;
    if (!out.empty() && out.back() == '\r') out.pop_back();
    return out;
}

} // namespace

TEST_SUITE("net.cancel") {

TEST_CASE("Canceller: flag, readable fd, reset")
{
    Canceller c;
    CHECK(c.fd() >= 0);
    CHECK_FALSE(c.cancelled());
    c.cancel();
    c.cancel();
    CHECK(c.cancelled());
    char b[8];
    CHECK(::read(c.fd(), b, 8) == 8); // readable
    c.cancel();
    c.reset();
    CHECK_FALSE(c.cancelled());
    CHECK(::read(c.fd(), b, 8) < 0); // drained
}

} // TEST_SUITE

TEST_SUITE("net.stream") {

TEST_CASE("connecting to a closed loopback port fails with -9")
{
    uint16_t port = 0;
    { Sock s(bind_loopback(port)); } // bound, never listening, closed: nobody listens there
    Stream st(nullptr);
    Failure f = failure_of([&] { st.connect("127.0.0.1", port, Clock::now() + 5s); });
    CHECK(f.status == UPOP_E_NETWORK);
    CHECK(contains(f.text, "cannot connect to 127.0.0.1+" + std::to_string(port)));
    CHECK(contains(f.text, "refused"));
    CHECK_FALSE(st.is_open());

    // Through name resolution (localhost: every address is tried).
    Failure g = failure_of([&] { st.connect("localhost", port, Clock::now() + 5s); });
    CHECK(g.status == UPOP_E_NETWORK);
    CHECK(contains(g.text, "cannot connect to localhost+" + std::to_string(port)));
}

TEST_CASE("plain TCP: connect, write, read, EOF; bytes beyond a read stay on the socket")
{
    FakeServer srv([](FakeConn &c) {
        c.send("ab");
        c.expect("HELLO");
        c.close();
    });
    Stream st(nullptr);
    st.connect("localhost", srv.port(), Clock::now() + 5s);
    CHECK(st.is_open());
    CHECK_FALSE(st.tls_active());
    CHECK(st.tls_description().empty());
    char buf[16];
    REQUIRE(st.read_some(buf, 1, Clock::now() + 5s) == 1);
    CHECK(buf[0] == 'a');
    CHECK(st.socket_readable_now()); // 'b' arrived with 'a' and waits on the socket
    REQUIRE(st.read_some(buf, sizeof buf, Clock::now() + 5s) == 1);
    CHECK(buf[0] == 'b');
    CHECK_FALSE(st.socket_readable_now());
    CHECK(st.read_some(buf, 0, Clock::now()) == 0);
    st.write_all("HELLO\r\n", 7, Clock::now() + 5s);
    Failure f = failure_of([&] { st.read_some(buf, sizeof buf, Clock::now() + 5s); });
    CHECK(f.status == UPOP_E_NETWORK);
    CHECK(f.text == "connection closed by the server");
    CHECK_FALSE(st.is_open()); // an error closes the stream
    srv.join();
    CHECK_MESSAGE(srv.failures().empty(), srv.failure_text());
}

TEST_CASE("a silent server: read times out with -4 and the stream is closed")
{
    FakeServer srv([](FakeConn &c) { c.wait_for_close(); });
    Stream st(nullptr);
    st.connect("127.0.0.1", srv.port(), Clock::now() + 5s);
    char buf[16];
    auto t0 = Clock::now();
    Failure f = failure_of([&] { st.read_some(buf, sizeof buf, Clock::now() + 200ms); });
    auto took = Clock::now() - t0;
    CHECK(f.status == UPOP_E_TIMEOUT);
    CHECK(contains(f.text, "reading from 127.0.0.1+" + std::to_string(srv.port()) + " timed out"));
    CHECK(took >= 200ms);
    CHECK(took < 3s);
    CHECK_FALSE(st.is_open());
    srv.join();
}

TEST_CASE("cancel from another thread ends a blocking read promptly with -4")
{
    FakeServer srv([](FakeConn &c) { c.wait_for_close(); });
    Canceller cancel;
    Stream st(&cancel);
    st.connect("127.0.0.1", srv.port(), Clock::now() + 5s);
    char buf[16];
    auto t0 = Clock::now();
    // The delay only makes it likely that the read is already waiting; the result is the same
    // when cancel() comes first.
    std::thread canceller([&] {
        std::this_thread::sleep_for(100ms);
        cancel.cancel();
    });
    Failure f = failure_of([&] { st.read_some(buf, sizeof buf, Clock::now() + 30s); });
    canceller.join();
    CHECK(f.status == UPOP_E_TIMEOUT);
    CHECK(contains(f.text, "cancelled"));
    CHECK((Clock::now() - t0 < 5s));
    CHECK_FALSE(st.is_open());

    // Still cancelled: the next call fails at once; after reset() the stream works again.
    Failure g = failure_of([&] { st.connect("127.0.0.1", srv.port(), Clock::now() + 5s); });
    CHECK(g.status == UPOP_E_TIMEOUT);
    CHECK(contains(g.text, "cancelled"));
    srv.join();
    cancel.reset();
    FakeServer srv2([](FakeConn &c) { c.send("ok\r\n"); });
    st.connect("127.0.0.1", srv2.port(), Clock::now() + 5s);
    CHECK(read_line(st) == "ok");
}

TEST_CASE("connect times out (-4) or is cancelled (-4) when the server's queue is full")
{
    // A listener with a full accept queue drops further SYNs, so connect() hangs.
    uint16_t port = 0;
    Sock listener(bind_loopback(port));
    REQUIRE(::listen(listener.fd, 0) == 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    std::vector<std::unique_ptr<Sock>> fillers;
    for (int i = 0; i < 4; ++i) {
        fillers.push_back(std::make_unique<Sock>(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)));
        ::connect(fillers.back()->fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    }
    Stream st(nullptr);
    auto t0 = Clock::now();
    Failure f = failure_of([&] { st.connect("127.0.0.1", port, Clock::now() + 300ms); });
    if (f.status == 0) {
        WARN("this kernel accepted a connection beyond the backlog; connect timeout not exercised");
        return;
    }
    CHECK(f.status == UPOP_E_TIMEOUT);
    CHECK(contains(f.text, "connecting to 127.0.0.1+" + std::to_string(port) + " timed out"));
    CHECK((Clock::now() - t0 < 3s));

    Canceller cancel;
    Stream sc(&cancel);
    std::thread canceller([&] {
        std::this_thread::sleep_for(100ms);
        cancel.cancel();
    });
    t0 = Clock::now();
    Failure g = failure_of([&] { sc.connect("127.0.0.1", port, Clock::now() + 30s); });
    canceller.join();
    CHECK(g.status == UPOP_E_TIMEOUT);
    CHECK(contains(g.text, "cancelled"));
    CHECK((Clock::now() - t0 < 5s));
}

TEST_CASE("TLS: a valid certificate for localhost verifies; data flows; channel bindings")
{
    const TestCerts &pki = make_test_certs();
    TlsServer ts(pki.server_crt, pki.server_key);
    Stream st(nullptr);
    st.connect("localhost", ts.srv.port(), Clock::now() + 5s);
    st.start_tls(trusting(pki.ca_crt), "localhost", Clock::now() + 5s);
    CHECK(st.tls_active());
    CHECK(st.tls_warning().empty());
    CHECK(st.tls_description().rfind("TLSv1.2, TLS-", 0) == 0);
    CHECK(read_line(st) == "220 hello over TLS");
    CHECK(st.tls_pending() == 0);
    st.write_all("PING\r\n", 6, Clock::now() + 5s);
    CHECK(read_line(st) == "PONG");

    // tls-server-end-point = SHA-256 of the server certificate (ECDSA-SHA256 signed).
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    REQUIRE(mbedtls_x509_crt_parse_file(&crt, pki.server_crt.c_str()) == 0);
    std::vector<unsigned char> expect(32);
    mbedtls_sha256_ret(crt.raw.p, crt.raw.len, expect.data(), 0);
    mbedtls_x509_crt_free(&crt);
    std::vector<unsigned char> cb;
    REQUIRE(st.channel_binding("tls-server-end-point", cb));
    CHECK(cb == expect);
    std::vector<unsigned char> unique;
    REQUIRE(st.channel_binding("tls-unique", unique));
    CHECK(unique.size() == 12);
    CHECK_FALSE(st.channel_binding("tls-exporter", cb));
    CHECK(cb.empty());

    st.close();
    CHECK_FALSE(st.is_open());
    CHECK_FALSE(st.channel_binding("tls-unique", cb));
    st.close(); // idempotent
    ts.srv.join();
    CHECK_MESSAGE(ts.srv.failures().empty(), ts.srv.failure_text());
}

TEST_CASE("TLS: an IP address as host is checked against the certificate's iPAddress entries")
{
    const TestCerts &pki = make_test_certs();
    TlsServer ts(pki.server_crt, pki.server_key);
    Stream st(nullptr);
    st.connect("127.0.0.1", ts.srv.port(), Clock::now() + 5s);
    st.start_tls(trusting(pki.ca_crt), "127.0.0.1", Clock::now() + 5s);
    CHECK(st.tls_active());
    CHECK(read_line(st) == "220 hello over TLS");
}

TEST_CASE("TLS: IPv6 literal host, iPAddress ::1 (when IPv6 loopback exists)")
{
    const TestCerts &pki = make_test_certs();
    TlsServer ts(pki.server_crt, pki.server_key);
    Stream st(nullptr);
    Failure f = failure_of([&] { st.connect("::1", ts.srv.port(), Clock::now() + 5s); });
    if (f.status != 0) {
        MESSAGE("no IPv6 loopback here: " << f.text);
        Stream other(nullptr); // let the server's script finish
        other.connect("127.0.0.1", ts.srv.port(), Clock::now() + 5s);
        return;
    }
    st.start_tls(trusting(pki.ca_crt), "0:0::1", Clock::now() + 5s); // any textual form
    CHECK(st.tls_active());
    CHECK(read_line(st) == "220 hello over TLS");
}

TEST_CASE("TLS: a certificate for another name fails with -8 naming the mismatch")
{
    const TestCerts &pki = make_test_certs();
    for (std::string host : {"localhost", "127.0.0.1"}) {
        CAPTURE(host);
        TlsServer ts(pki.wrong_crt, pki.wrong_key);
        Stream st(nullptr);
        st.connect("127.0.0.1", ts.srv.port(), Clock::now() + 5s);
        Failure f = failure_of([&] { st.start_tls(trusting(pki.ca_crt), host, Clock::now() + 5s); });
        CHECK(f.status == UPOP_E_SECURITY);
        CHECK(contains(f.text, "TLS handshake with " + host + "+" + std::to_string(ts.srv.port()) + " failed"));
        CHECK(contains(f.text, "The certificate Common Name (CN) does not match with the expected CN"));
        CHECK(contains(f.text, std::string("expected ") + (host == "localhost" ? "DNS:localhost" : "IP:127.0.0.1")));
        CHECK(contains(f.text, "DNS:wrong.example.invalid"));
        CHECK_FALSE(st.is_open());
    }
}

TEST_CASE("TLS: verify_server_name overrides the host; =no skips the name check")
{
    const TestCerts &pki = make_test_certs();
    for (std::string opt : {"verify_server_name=DNS:wrong.example.invalid", "vfy_srv_nm=DNS:*.example.invalid",
                            "verify_server_name=IP:10.0.0.1;DNS:WRONG.example.invalid", "verify_server_name=no"}) {
        CAPTURE(opt);
        TlsServer ts(pki.wrong_crt, pki.wrong_key);
        Stream st(nullptr);
        st.connect("localhost", ts.srv.port(), Clock::now() + 5s);
        st.start_tls(trusting(pki.ca_crt, opt), "localhost", Clock::now() + 5s);
        CHECK(read_line(st) == "220 hello over TLS");
    }
    // An override that the certificate does not carry fails even though the host would match.
    TlsServer ts(pki.server_crt, pki.server_key);
    Stream st(nullptr);
    st.connect("localhost", ts.srv.port(), Clock::now() + 5s);
    Failure f = failure_of([&] {
        st.start_tls(trusting(pki.ca_crt, "verify_server_name=DNS:mail.example.com"), "localhost", Clock::now() + 5s);
    });
    CHECK(f.status == UPOP_E_SECURITY);
    CHECK(contains(f.text, "expected DNS:mail.example.com"));
}

TEST_CASE("TLS: verify_server=no accepts a wrong name and an unknown CA")
{
    const TestCerts &pki = make_test_certs();
    for (auto [crt, key] : {std::pair{pki.wrong_crt, pki.wrong_key}, std::pair{pki.self_signed_crt, pki.self_signed_key}}) {
        TlsServer ts(crt, key);
        Stream st(nullptr);
        st.connect("localhost", ts.srv.port(), Clock::now() + 5s);
        st.start_tls(parse_profile_options("verify_server=no", "off"), "localhost", Clock::now() + 5s);
        CHECK(st.tls_warning().empty());
        CHECK(read_line(st) == "220 hello over TLS");
    }
}

TEST_CASE("TLS: verify_server=ignore continues and reports what it ignored")
{
    const TestCerts &pki = make_test_certs();
    TlsServer ts(pki.wrong_crt, pki.wrong_key);
    Stream st(nullptr);
    st.connect("localhost", ts.srv.port(), Clock::now() + 5s);
    st.start_tls(trusting(pki.other_ca_crt, "verify_server=ignore"), "localhost", Clock::now() + 5s);
    CHECK(read_line(st) == "220 hello over TLS");
    CHECK(contains(st.tls_warning(), "ignored"));
    CHECK(contains(st.tls_warning(), "not correctly signed by the trusted CA"));
    CHECK(contains(st.tls_warning(), "does not match"));
}

TEST_CASE("TLS: an untrusted CA fails with -8")
{
    const TestCerts &pki = make_test_certs();
    struct Case {
        std::string crt, key;
        TlsProfile profile;
    };
    // Signed by a CA that is not trusted; self-signed; the system trust store (default).
    Case cases[] = {{pki.server_crt, pki.server_key, trusting(pki.other_ca_crt)},
                    {pki.self_signed_crt, pki.self_signed_key, trusting(pki.ca_crt)},
                    {pki.server_crt, pki.server_key, TlsProfile{}}};
    for (auto &c : cases) {
        TlsServer ts(c.crt, c.key);
        Stream st(nullptr);
        st.connect("localhost", ts.srv.port(), Clock::now() + 5s);
        Failure f = failure_of([&] { st.start_tls(c.profile, "localhost", Clock::now() + 5s); });
        CHECK(f.status == UPOP_E_SECURITY);
        CHECK_MESSAGE(contains(f.text, "not correctly signed by the trusted CA"), f.text);
        CHECK_FALSE(contains(f.text, "does not match")); // the name itself is right
        CHECK_FALSE(st.is_open());
    }
}

TEST_CASE("TLS: handshake timeout and cancellation give -4; a plain server gives -8")
{
    const TestCerts &pki = make_test_certs();
    {
        FakeServer srv([](FakeConn &c) { c.wait_for_close(); }); // never answers the ClientHello
        Stream st(nullptr);
        st.connect("127.0.0.1", srv.port(), Clock::now() + 5s);
        Failure f = failure_of([&] { st.start_tls(trusting(pki.ca_crt), "localhost", Clock::now() + 300ms); });
        CHECK(f.status == UPOP_E_TIMEOUT);
        CHECK(contains(f.text, "TLS handshake with localhost+" + std::to_string(srv.port()) + " timed out"));
        CHECK_FALSE(st.is_open());
    }
    {
        FakeServer srv([](FakeConn &c) { c.wait_for_close(); });
        Canceller cancel;
        Stream st(&cancel);
        st.connect("127.0.0.1", srv.port(), Clock::now() + 5s);
        std::thread canceller([&] {
            std::this_thread::sleep_for(100ms);
            cancel.cancel();
        });
        auto t0 = Clock::now();
        Failure f = failure_of([&] { st.start_tls(trusting(pki.ca_crt), "localhost", Clock::now() + 30s); });
        canceller.join();
        CHECK(f.status == UPOP_E_TIMEOUT);
        CHECK(contains(f.text, "cancelled"));
        CHECK((Clock::now() - t0 < 5s));
    }
    {
        FakeServer srv([](FakeConn &c) {
            c.send("220 plain text where TLS was expected\r\n");
            c.wait_for_close();
        });
        Stream st(nullptr);
        st.connect("127.0.0.1", srv.port(), Clock::now() + 5s);
        Failure f = failure_of([&] { st.start_tls(trusting(pki.ca_crt), "localhost", Clock::now() + 5s); });
        CHECK(f.status == UPOP_E_SECURITY);
        CHECK(contains(f.text, "TLS handshake with localhost+"));
        CHECK_FALSE(st.is_open());
    }
}

TEST_CASE("TLS: misuse and unusable client credentials")
{
    const TestCerts &pki = make_test_certs();
    Stream idle(nullptr);
    CHECK(failure_of([&] { idle.start_tls(TlsProfile{}, "localhost", Clock::now() + 1s); }).status == UPOP_E_MISC);

    // A client certificate and key that load (the server does not ask for them).
    {
        TlsServer ts(pki.server_crt, pki.server_key);
        Stream st(nullptr);
        st.connect("localhost", ts.srv.port(), Clock::now() + 5s);
        st.start_tls(trusting(pki.ca_crt, "client_certificate=" + pki.server_crt + ", client_key=" + pki.server_key),
                     "localhost", Clock::now() + 5s);
        CHECK(read_line(st) == "220 hello over TLS");
        // TLS cannot start twice.
        Failure twice = failure_of([&] { st.start_tls(trusting(pki.ca_crt), "localhost", Clock::now() + 5s); });
        CHECK(twice.status == UPOP_E_MISC);
        CHECK(contains(twice.text, "already active"));
    }
    // A key file that is no key: -8 naming the file, before any byte is sent.
    {
        FakeServer srv([](FakeConn &c) { c.wait_for_close(); });
        Stream st(nullptr);
        st.connect("127.0.0.1", srv.port(), Clock::now() + 5s);
        TlsProfile p = trusting(pki.ca_crt);
        p.client_certificate = pki.server_crt;
        p.client_key = pki.ca_crt; // a certificate, not a key
        Failure f = failure_of([&] { st.start_tls(p, "localhost", Clock::now() + 5s); });
        CHECK(f.status == UPOP_E_SECURITY);
        CHECK(contains(f.text, "cannot load client_key '" + pki.ca_crt + "'"));
        CHECK_FALSE(st.is_open());
        srv.join();
        CHECK(srv.raw().empty());
    }
}

} // TEST_SUITE

namespace {
size_t open_fds()
{
    size_t n = 0;
    for (int fd = 0; fd < 4096; ++fd)
        if (::fcntl(fd, F_GETFD) != -1) ++n;
    return n;
}
} // namespace

TEST_SUITE("net.stream") {

TEST_CASE("no descriptor leaks on success, failure, timeout and cancellation")
{
    const TestCerts &pki = make_test_certs();
    uint16_t closed_port = 0;
    { Sock s(bind_loopback(closed_port)); }
    const size_t before = open_fds();
    for (int round = 0; round < 2; ++round) {
        Canceller cancel;
        {
            Stream st(&cancel);
            CHECK(failure_of([&] { st.connect("127.0.0.1", closed_port, Clock::now() + 5s); }).status == UPOP_E_NETWORK);
        }
        {
            FakeServer srv([](FakeConn &c) { c.wait_for_close(); });
            Stream st(&cancel);
            st.connect("127.0.0.1", srv.port(), Clock::now() + 5s);
            char b[4];
            CHECK(failure_of([&] { st.read_some(b, 4, Clock::now() + 50ms); }).status == UPOP_E_TIMEOUT);
        }
        {
            TlsServer ts(pki.wrong_crt, pki.wrong_key);
            Stream st(&cancel);
            st.connect("127.0.0.1", ts.srv.port(), Clock::now() + 5s);
            CHECK(failure_of([&] { st.start_tls(trusting(pki.ca_crt), "localhost", Clock::now() + 5s); }).status ==
                  UPOP_E_SECURITY);
        }
        {
            TlsServer ts(pki.server_crt, pki.server_key);
            Stream st(&cancel);
            st.connect("127.0.0.1", ts.srv.port(), Clock::now() + 5s);
            st.start_tls(trusting(pki.ca_crt), "localhost", Clock::now() + 5s);
            CHECK(read_line(st) == "220 hello over TLS");
            cancel.cancel(); // the destructor closes without close_notify
        }
    }
    CHECK(open_fds() == before);
}

} // TEST_SUITE
