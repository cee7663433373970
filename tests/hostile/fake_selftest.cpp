// fake_selftest.cpp — the fake server does what the hostile tests rely on: it records what it
// receives, injects bytes in the same segment, speaks TLS with the generated certificates, and
// never hangs.
#include <doctest/doctest.h>

#include "fake/certs.hpp"
#include "fake/fake_server.hpp"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace {

/** A minimal blocking loopback client for the self-test. */
struct RawClient {
    int fd = -1;
    explicit RawClient(uint16_t port) {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~RawClient() { close(); }
    void close() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
    void send(const std::string& s) { REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == (ssize_t)s.size()); }
    /** One recv() call (after waiting up to 5 s for data). */
    std::string recv_once() {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) return "";
        char buf[65536];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, (size_t)n) : "";
    }
    /** Reads until the data ends with "\r\n" (or 5 s / EOF). */
    std::string recv_reply() {
        std::string out;
        while (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) {
            std::string more = recv_once();
            if (more.empty()) break;
            out += more;
        }
        return out;
    }
};

/** A minimal mbedTLS client over a connected socket, verifying against a CA file. */
struct TlsClient {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_ssl_context ssl;
    int fd;
    TlsClient(int fd_, const std::string& ca_file, const char* hostname) : fd(fd_) {
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
        mbedtls_ssl_config_init(&conf);
        mbedtls_x509_crt_init(&ca);
        mbedtls_ssl_init(&ssl);
        REQUIRE(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0) == 0);
        REQUIRE(mbedtls_x509_crt_parse_file(&ca, ca_file.c_str()) == 0);
        REQUIRE(mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                            MBEDTLS_SSL_PRESET_DEFAULT) == 0);
        mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
        mbedtls_ssl_conf_ca_chain(&conf, &ca, nullptr);
        mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        REQUIRE(mbedtls_ssl_setup(&ssl, &conf) == 0);
        REQUIRE(mbedtls_ssl_set_hostname(&ssl, hostname) == 0);
        mbedtls_ssl_set_bio(&ssl, &fd, send_cb, recv_cb, nullptr);
    }
    ~TlsClient() {
        mbedtls_ssl_free(&ssl);
        mbedtls_x509_crt_free(&ca);
        mbedtls_ssl_config_free(&conf);
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
    }
    static int send_cb(void* ctx, const unsigned char* b, size_t n) {
        ssize_t r = ::send(*static_cast<int*>(ctx), b, n, MSG_NOSIGNAL);
        return r < 0 ? -1 : (int)r;
    }
    static int recv_cb(void* ctx, unsigned char* b, size_t n) {
        pollfd p{*static_cast<int*>(ctx), POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) return -1;
        ssize_t r = ::recv(*static_cast<int*>(ctx), b, n, 0);
        return r < 0 ? -1 : (int)r;
    }
    int handshake() {
        int rc;
        while ((rc = mbedtls_ssl_handshake(&ssl)) == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        }
        return rc;
    }
    uint32_t verify_flags() { return mbedtls_ssl_get_verify_result(&ssl); }
    void write(const std::string& s) {
        REQUIRE(mbedtls_ssl_write(&ssl, reinterpret_cast<const unsigned char*>(s.data()), s.size()) == (int)s.size());
    }
    std::string read() {
        unsigned char buf[4096];
        int n = mbedtls_ssl_read(&ssl, buf, sizeof buf);
        return n > 0 ? std::string(reinterpret_cast<char*>(buf), (size_t)n) : "";
    }
};

} // namespace

TEST_SUITE("fake server self-test") {

TEST_CASE("records lines, checks expectations and sees the client close") {
    FakeServer srv([](FakeConn& c) {
        c.send("220 fake ESMTP\r\n");
        c.expect("EHLO");
        c.send(ehlo_reply({"STARTTLS", "AUTH LOGIN PLAIN"}));
        c.expect("MAIL FROM:"); // the client sends something else: recorded as a failure
        CHECK(c.wait_for_close());
    });
    RawClient cl(srv.port());
    CHECK(cl.recv_reply() == "220 fake ESMTP\r\n");
    cl.send("ehlo client.example\r\n");
    CHECK(cl.recv_reply() == "250-fake.example\r\n250-STARTTLS\r\n250 AUTH LOGIN PLAIN\r\n");
    cl.send("RSET\r\nbare\n");
    cl.close();
    srv.join();
    CHECK(srv.lines() == std::vector<std::string>{"ehlo client.example", "RSET", "bare"});
    CHECK(srv.saw("EHLO"));
    CHECK(srv.count("rset") == 1);
    CHECK_FALSE(srv.saw("AUTH"));
    CHECK(srv.received("bare\n"));
    auto f = srv.failures();
    REQUIRE(f.size() == 2);
    CHECK(f[0].find("expected \"MAIL FROM:...\" but received \"RSET\"") != std::string::npos);
    CHECK(f[1].find("bare LF") != std::string::npos);
    CHECK(ehlo_reply({}) == "250 fake.example\r\n");
}

TEST_CASE("bytes given to one send() arrive in one segment") {
    FakeServer srv([](FakeConn& c) {
        c.expect("STARTTLS");
        c.send("220 go ahead\r\n250 AUTH PLAIN\r\n");
        c.wait_for_close();
    });
    RawClient cl(srv.port());
    cl.send("STARTTLS\r\n");
    CHECK(cl.recv_once() == "220 go ahead\r\n250 AUTH PLAIN\r\n");
    cl.close();
    srv.join();
    CHECK(srv.failure_text() == "");
}

TEST_CASE("wait_for_close gives up after its limit and the failure is recorded") {
    FakeServer srv([](FakeConn& c) {
        c.send("220 hi\r\n");
        CHECK_FALSE(c.wait_for_close(std::chrono::milliseconds(100)));
    });
    RawClient cl(srv.port());
    CHECK(cl.recv_reply() == "220 hi\r\n");
    srv.join(); // ends although the client keeps the connection open
    REQUIRE(srv.failures().size() == 1);
    CHECK(srv.failures()[0].find("did not close") != std::string::npos);
}

TEST_CASE("a read times out instead of hanging, and an unconnected server stops promptly") {
    {
        FakeServer srv([](FakeConn& c) {
            std::string l = c.read_line();
            CHECK(l.empty());
            CHECK(c.eof());
        }, std::chrono::milliseconds(100));
        RawClient cl(srv.port());
        srv.join();
        CHECK(srv.failure_text().find("timed out") != std::string::npos);
    }
    auto t0 = std::chrono::steady_clock::now();
    {
        FakeServer srv([](FakeConn&) {});
        CHECK(srv.port() != 0);
    } // nobody connects: the destructor must not wait for the safety timeout
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("test certificates exist and config files name the CA") {
    const TestCerts& c = make_test_certs();
    for (auto* p : {&c.ca_crt, &c.ca_key, &c.server_crt, &c.server_key, &c.wrong_crt, &c.wrong_key, &c.other_ca_crt,
                    &c.self_signed_crt, &c.self_signed_key})
        CHECK(::access(p->c_str(), R_OK) == 0);
    CHECK(&make_test_certs() == &c);
    std::string cfg = write_tls_config(c.ca_crt);
    CHECK(::access(cfg.c_str(), R_OK) == 0);
    CHECK(upop_fake::json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(upop_fake::b64(std::string("\0u\0p", 4)) == "AHUAcA==");
    CHECK(upop_fake::b64("ab") == "YWI=");
}

TEST_CASE("STARTTLS-style upgrade: plain lines, handshake, then lines over TLS") {
    const TestCerts& certs = make_test_certs();
    FakeServer srv([&](FakeConn& c) {
        c.expect("STARTTLS");
        c.send("220 go\r\n");
        REQUIRE(c.start_tls(certs.server_crt, certs.server_key));
        CHECK(c.tls_active());
        c.expect("EHLO");
        c.send("250 over tls\r\n");
        c.wait_for_close();
    });
    RawClient cl(srv.port());
    cl.send("STARTTLS\r\n");
    CHECK(cl.recv_reply() == "220 go\r\n");
    {
        TlsClient t(cl.fd, certs.ca_crt, "localhost");
        REQUIRE(t.handshake() == 0);
        t.write("EHLO inside\r\n");
        CHECK(t.read() == "250 over tls\r\n");
    }
    cl.close();
    srv.join();
    CHECK(srv.failure_text() == "");
    CHECK(srv.lines() == std::vector<std::string>{"STARTTLS", "EHLO inside"});
}

TEST_CASE("bytes pipelined after STARTTLS, before the handshake, are reported") {
    const TestCerts& certs = make_test_certs();
    FakeServer srv([&](FakeConn& c) {
        c.expect("STARTTLS");
        c.send("220 go\r\n");
        c.start_tls(certs.server_crt, certs.server_key);
    });
    RawClient cl(srv.port());
    cl.send("STARTTLS\r\nAUTH PLAIN x\r\n");
    cl.recv_reply();
    cl.close();
    srv.join();
    CHECK(srv.failure_text().find("before the TLS handshake") != std::string::npos);
}

TEST_CASE("implicit TLS and the wrong / self-signed certificates fail verification as intended") {
    const TestCerts& certs = make_test_certs();
    struct Case {
        std::string crt, key;
        bool trusted_name;
    };
    for (const Case& k : {Case{certs.server_crt, certs.server_key, true}, Case{certs.wrong_crt, certs.wrong_key, false},
                          Case{certs.self_signed_crt, certs.self_signed_key, false}}) {
        FakeServer srv([](FakeConn& c) {
            c.send("220 tls greeting\r\n");
            c.wait_for_close();
        }, TlsOpts{k.crt, k.key});
        RawClient cl(srv.port());
        {
            TlsClient t(cl.fd, certs.ca_crt, "localhost");
            int rc = t.handshake();
            if (k.trusted_name) {
                CHECK(rc == 0);
                CHECK(t.read() == "220 tls greeting\r\n");
            } else {
                CHECK(rc != 0);
                CHECK(t.verify_flags() != 0);
            }
        }
        cl.close();
        srv.join();
    }
}

TEST_CASE("serve_smtp answers a whole plain session") {
    FakeServer srv([](FakeConn& c) {
        c.send("220 fake ESMTP\r\n");
        upop_fake::serve_smtp(c, {{"AUTH PLAIN LOGIN"}, {}, "", "", true});
    });
    RawClient cl(srv.port());
    CHECK(cl.recv_reply() == "220 fake ESMTP\r\n");
    cl.send("EHLO x\r\n");
    CHECK(cl.recv_reply() == "250-fake.example\r\n250 AUTH PLAIN LOGIN\r\n");
    cl.send("AUTH LOGIN\r\n");
    CHECK(cl.recv_reply() == "334 VXNlcm5hbWU6\r\n");
    cl.send("dQ==\r\n");
    CHECK(cl.recv_reply() == "334 UGFzc3dvcmQ6\r\n");
    cl.send("cA==\r\n");
    CHECK(cl.recv_reply().rfind("235 ", 0) == 0);
    cl.send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    std::string r = cl.recv_reply();
    while (r.find("354") == std::string::npos) {
        std::string more = cl.recv_reply();
        if (more.empty()) break;
        r += more;
    }
    CHECK(r == "250 2.0.0 OK\r\n250 2.0.0 OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
    cl.send("..x\r\n.\r\nQUIT\r\n");
    r = cl.recv_reply();
    while (r.find("221") == std::string::npos) {
        std::string more = cl.recv_reply();
        if (more.empty()) break;
        r += more;
    }
    CHECK(r == "250 2.0.0 OK: queued\r\n221 2.0.0 Bye\r\n");
    srv.join();
    CHECK(srv.failure_text() == "");
}

} // TEST_SUITE
