// No copy of a password, a driver parameter list or a TLS key password is left in heap memory
// that the library frees: every block freed by the client's thread during a logon (from
// upop_set_option(config) to upop_destroy) is scanned for the secret, in the clear, in the
// base64 of the AUTH PLAIN message, and for the JSON texts that carry it. The fake server runs
// on its own thread and is not scanned.
//
// In JSON the secret is written with one escape ("Mem0ry\u0053ecret..."): nlohmann's lexer
// keeps the raw text of the token it read last in a buffer of its own (std::vector, default
// allocator: not ours to wipe), and that one copy shows only the escaped token, never the decoded
// secret and never "key":"value" together, which is what our own copies would show.
//
// Under AddressSanitizer the sanitizer's free hook sees every free (C and C++, drivers and
// mbedTLS included); otherwise the global operator delete is replaced (C++ frees only).
#include <doctest/doctest.h>

#include "hostile/support.hpp"
#include "secret.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
// From <sanitizer/allocator_interface.h> (not installed with every compiler package).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                                         void (*free_hook)(const volatile void *));
extern "C" size_t __sanitizer_get_allocated_size(const volatile void *p);
#define UPOP_TEST_FREE_HOOK 1
#endif

namespace {

// Written once, before any scan; read by the hook. At most 4 needles.
const char *g_needles[4];
size_t g_needle_len[4];
int g_needle_count = 0;
thread_local bool t_scanning = false;
thread_local int t_hits = 0;
// what the hits were, for the failure message: "needle:block size" per hit (fixed buffer: the
// hook must not allocate)
thread_local char t_what[256];
thread_local size_t t_what_len = 0;

void scan_block(const void *p, size_t n)
{
    if (!t_scanning || !p || n == 0) return;
    t_scanning = false; // nothing below allocates, but never recurse
    for (int i = 0; i < g_needle_count; ++i)
        if (::memmem(p, n, g_needles[i], g_needle_len[i])) {
            ++t_hits;
            if (t_what_len < sizeof t_what - 32)
                t_what_len += std::snprintf(t_what + t_what_len, sizeof t_what - t_what_len, " %d:%zu", i, n);
        }
    t_scanning = true;
}

#ifdef UPOP_TEST_FREE_HOOK
void on_malloc(const volatile void *, size_t) {}
void on_free(const volatile void *p)
{
    if (!t_scanning || !p) return;
    const void *q = const_cast<const void *>(p);
    scan_block(q, __sanitizer_get_allocated_size(q));
}
#endif

} // namespace

#ifndef UPOP_TEST_FREE_HOOK
// Every replaceable allocation function, so that new and delete always pair malloc and free.
void *operator new(size_t n)
{
    if (void *p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void *operator new[](size_t n) { return ::operator new(n); }
void *operator new(size_t n, const std::nothrow_t &) noexcept { return std::malloc(n ? n : 1); }
void *operator new[](size_t n, const std::nothrow_t &) noexcept { return std::malloc(n ? n : 1); }
void operator delete(void *p) noexcept
{
    if (p) scan_block(p, malloc_usable_size(p));
    std::free(p);
}
void operator delete[](void *p) noexcept { ::operator delete(p); }
void operator delete(void *p, size_t) noexcept { ::operator delete(p); }
void operator delete[](void *p, size_t) noexcept { ::operator delete(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { ::operator delete(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { ::operator delete(p); }
#endif

namespace {

using namespace hostile;

// Long enough never to fit a std::string's inline buffer (the stack is not scanned).
const char kSecret[] = "Mem0rySecretMarker-7f3a9c";
// The same, as written inside JSON strings.
const char kSecretJson[] = "Mem0ry\\u0053ecretMarker-7f3a9c";

/** Counts the freed blocks that held the secret while it is alive. */
struct Scan {
    Scan()
    {
#ifdef UPOP_TEST_FREE_HOOK
        static bool installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
        REQUIRE(installed);
#endif
        t_hits = 0;
        t_what_len = 0;
        t_what[0] = 0;
        t_scanning = true;
    }
    ~Scan() { t_scanning = false; }
    int stop()
    {
        t_scanning = false;
        return t_hits;
    }
};

void set_needles()
{
    static const std::string needles[] = {
        kSecret,
        b64(std::string("\0u\0", 3) + kSecret),
        // copies of the JSON texts (a key and the start of its value)
        std::string("\"password\":\"") + std::string(kSecretJson, 12),
        std::string("\"client_key_password\":\"") + std::string(kSecretJson, 12),
    };
    for (int i = 0; i < 4; ++i) {
        g_needles[i] = needles[i].c_str();
        g_needle_len[i] = needles[i].size();
    }
    g_needle_count = 4;
}

/** A configuration trusting the test CA whose default profile has a client key password.
 *  Built in one wiping string and written with write(2): the test's own copies must not be
 *  left in freed memory either, or a block the library allocates later (and fills only in
 *  part) would show them. */
const std::string &key_password_config()
{
    static const std::string path = [] {
        const TestCerts &c = make_test_certs();
        upopmail::SecretString text;
        text.reserve(4096);
        for (const std::string &piece :
             {std::string("{\"default\":{\"ca_certificate\":"), upop_fake::json_string(c.ca_crt),
              std::string(",\"client_certificate\":"), upop_fake::json_string(c.server_crt),
              std::string(",\"client_key\":"), upop_fake::json_string(c.server_key),
              std::string(",\"client_key_password\":\"")})
            text += piece.c_str();
        text += kSecretJson;
        text += "\"}}\n";
        std::string file = c.dir + "/config-key-password.json";
        int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        ::close(fd);
        return file;
    }();
    return path;
}

/** One logon over implicit TLS against srv with the handle set up by setup; returns the
 *  freed blocks that held the secret. The handle lives entirely inside the scan. */
template <class Setup, class Logon> int scanned_logon(FakeServer &srv, Setup setup, Logon logon)
{
    set_needles();
    const std::string conn = "TLS:" + srv.conn();
    int rc = -1, hits = 0;
    {
        Scan scan;
        upop *h = nullptr;
        if (upop_create(&h) == 0) {
            upop_set_option(h, "timeout_ms", "5000");
            upop_set_option(h, "config", key_password_config().c_str());
            setup(h);
            rc = logon(h, conn.c_str());
            upop_destroy(h);
        }
        hits = scan.stop();
    }
    srv.join();
    CHECK(rc == 0);
    // needle index (0 the secret, 1 its AUTH PLAIN base64, 2-3 JSON texts) : size of the freed block
    INFO("hits (needle:block size):" << t_what);
    CHECK(hits == 0);
    return hits;
}

} // namespace

TEST_SUITE("security: secrets wiped from freed memory") {

TEST_CASE("POP USER/PASS: no freed block held the password or the TLS key password") {
    register_build_drivers();
    (void)key_password_config();
    FakeServer srv(upop_fake::serve_pop, TlsOpts{make_test_certs().server_crt, make_test_certs().server_key}, 5s);
    int hits = scanned_logon(srv, [](upop *) {}, [](upop *h, const char *conn) {
        int rc = upop_connect(h, UPOP_POP, conn, "u", kSecret);
        if (rc == 0) rc = upop_disconnect(h, UPOP_POP);
        return rc;
    });
    CHECK(srv.received(std::string("PASS ") + kSecret)); // the password did travel
    CHECK(hits == 0);
}

TEST_CASE("AUTH PLAIN with JSON and key=value parameters: no freed block held the password") {
    register_build_drivers();
    (void)key_password_config();
    const std::string json = std::string("{\"user\":\"u\",\"password\":\"") + kSecretJson + "\"}";
    const std::string kv = std::string("user=u;password=") + kSecret;
    for (const std::string *params : {&json, &kv}) {
        CAPTURE(*params);
        FakeServer srv([](FakeConn &c) {
            c.send("220 fake.example ESMTP over TLS\r\n");
            serve_smtp(c, SmtpOpts{{"AUTH PLAIN"}, {}, "", "", true});
        }, TlsOpts{make_test_certs().server_crt, make_test_certs().server_key}, 5s);
        int hits = scanned_logon(srv, [&](upop *h) {
            CHECK(upop_set_security(h, "SMTP=AUTH PLAIN", params->c_str()) == 0);
        }, [](upop *h, const char *conn) {
            int rc = upop_connect(h, UPOP_SMTP, conn, "", "");
            if (rc == 0) rc = upop_disconnect(h, UPOP_SMTP);
            return rc;
        });
        CHECK(srv.received(b64(std::string("\0u\0", 3) + kSecret))); // the escape was decoded
        CHECK(hits == 0);
    }
}

} // TEST_SUITE
