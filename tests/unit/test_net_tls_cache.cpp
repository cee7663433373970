// net::TlsCache: the TLS configuration and the trust stores of a handle, read once and kept while
// their files are unchanged; read again when a file changes, or while it is too recent for its
// modification time to tell a later change apart.
#include <doctest/doctest.h>

#include "error.hpp"
#include "fake/certs.hpp"
#include "net/tls_cache.hpp"
#include "upopmail.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/x509_crt.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

using upopmail::net::TlsCache;
using upopmail::net::TlsProfile;

namespace {

namespace fs = std::filesystem;

struct TempDir {
    std::string path;
    TempDir()
    {
        std::string t = (fs::temp_directory_path() / "upop_tls_cache_XXXXXX").string();
        REQUIRE(::mkdtemp(t.data()) != nullptr);
        path = t;
    }
    ~TempDir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string read_all(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write(const std::string &path, const std::string &text)
{
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Modification time seconds_ago seconds back.
void age(const std::string &path, int seconds_ago)
{
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    timespec t[2] = {now, now};
    t[1].tv_sec -= seconds_ago;
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), t, 0) == 0);
}

// The subject of the first certificate of a store, e.g. "CN=upopmail test CA".
std::string subject(const upopmail::net::TrustStore &s)
{
    char buf[512];
    int n = mbedtls_x509_dn_gets(buf, sizeof buf, &s.chain()->subject);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TlsProfile with_ca(const std::string &file, const std::string &dir = "")
{
    TlsProfile p;
    p.ca_certificate = file;
    p.ca_location = dir;
    return p;
}

} // namespace

TEST_SUITE("net: TLS cache") {

TEST_CASE("an unchanged configuration file is read once") {
    TempDir d;
    const std::string cfg = d.path + "/c.json";
    write(cfg, "{\"default\": {\"verify_server\": \"no\"}}");
    age(cfg, 60);
    TlsCache cache;
    auto first = cache.config(cfg, UPOP_SMTP);
    for (int i = 0; i < 5; ++i) CHECK(cache.config(cfg, UPOP_SMTP) == first);
    CHECK(cache.config_reads() == 1);
    CHECK_FALSE(first->default_profile().verify_server);
}

TEST_CASE("a changed configuration file is read again") {
    TempDir d;
    const std::string cfg = d.path + "/c.json";
    write(cfg, "{\"default\": {\"verify_server\": \"no\"}}");
    age(cfg, 60);
    TlsCache cache;
    CHECK_FALSE(cache.config(cfg, UPOP_SMTP)->default_profile().verify_server);
    write(cfg, "{\"default\": {\"verify_server\": \"yes\"}}"); // another size, a new time
    CHECK(cache.config(cfg, UPOP_SMTP)->default_profile().verify_server);
    CHECK(cache.config_reads() == 2);
    // another file of the same size and time (a new inode)
    const std::string other = d.path + "/o.json";
    write(other, "{\"default\": {\"verify_server\": \"no\" }}");
    struct stat st;
    REQUIRE(::stat(cfg.c_str(), &st) == 0);
    timespec t[2] = {st.st_atim, st.st_mtim};
    REQUIRE(::utimensat(AT_FDCWD, other.c_str(), t, 0) == 0);
    fs::rename(other, cfg);
    CHECK_FALSE(cache.config(cfg, UPOP_SMTP)->default_profile().verify_server);
    CHECK(cache.config_reads() == 3);
}

TEST_CASE("a configuration file modified a moment ago is read again until it is old enough") {
    TempDir d;
    const std::string cfg = d.path + "/c.json";
    write(cfg, "{\"default\": {\"verify_server\": \"no\" }}");
    TlsCache cache;
    CHECK_FALSE(cache.config(cfg, UPOP_SMTP)->default_profile().verify_server);
    // in place, the same size, at once: the stamps may be identical; the content is not
    write(cfg, "{\"default\": {\"verify_server\": \"yes\"}}");
    CHECK(cache.config(cfg, UPOP_SMTP)->default_profile().verify_server);
    CHECK(cache.config_reads() == 2);
    age(cfg, 60);
    cache.config(cfg, UPOP_SMTP);
    CHECK(cache.config_reads() == 3);
    cache.config(cfg, UPOP_SMTP);
    CHECK(cache.config_reads() == 3);
}

TEST_CASE("the configuration is read again when a file it names changes or goes") {
    const TestCerts &certs = make_test_certs();
    TempDir d;
    const std::string ca = d.path + "/ca.pem", cfg = d.path + "/c.json";
    write(ca, read_all(certs.ca_crt));
    write(cfg, "{\"default\": {\"ca_certificate\": " + upop_fake::json_string(ca) + "}}");
    age(ca, 60);
    age(cfg, 60);
    TlsCache cache;
    cache.config(cfg, UPOP_SMTP);
    cache.config(cfg, UPOP_SMTP);
    CHECK(cache.config_reads() == 1);
    fs::remove(ca);
    try {
        cache.config(cfg, UPOP_SMTP);
        FAIL("a configuration naming a missing file was accepted");
    } catch (const upopmail::Error &e) {
        CHECK(e.status() == UPOP_E_NETWORK);
        CHECK(std::string(e.what()).find("does not exist") != std::string::npos);
    }
}

TEST_CASE("no configuration file: the built-in defaults") {
    ::unsetenv("UPOPMAIL_CONFIG");
    TlsCache cache;
    auto c = cache.config("", UPOP_POP);
    CHECK(c->default_profile().verify_server);
    CHECK(cache.config("", UPOP_POP) == c);
    CHECK(cache.config_reads() == 0);
}

TEST_CASE("an unchanged CA file is parsed once; a changed one again; a store in use stays valid") {
    const TestCerts &certs = make_test_certs();
    TempDir d;
    const std::string ca = d.path + "/ca.pem";
    write(ca, read_all(certs.ca_crt));
    age(ca, 60);
    TlsCache cache;
    auto first = cache.trust(with_ca(ca), UPOP_SMTP);
    CHECK(cache.trust(with_ca(ca), UPOP_SMTP) == first);
    CHECK(cache.trust(with_ca(ca), UPOP_POP) == first);
    CHECK(cache.trust_reads() == 1);
    const std::string before = subject(*first);

    write(ca, read_all(certs.other_ca_crt));
    auto second = cache.trust(with_ca(ca), UPOP_SMTP);
    CHECK(second != first);
    CHECK(cache.trust_reads() == 2);
    CHECK(subject(*second) != before);
    CHECK(subject(*first) == before); // still held by a connection: untouched
}

TEST_CASE("a CA directory is read again when a file is added to it") {
    const TestCerts &certs = make_test_certs();
    TempDir d;
    const std::string dir = d.path + "/cas";
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    write(dir + "/a.pem", read_all(certs.ca_crt));
    age(dir + "/a.pem", 60);
    age(dir, 60);
    TlsCache cache;
    auto first = cache.trust(with_ca("", dir), UPOP_SMTP);
    cache.trust(with_ca("", dir), UPOP_SMTP);
    CHECK(cache.trust_reads() == 1);
    CHECK(first->chain()->next == nullptr);
    write(dir + "/b.pem", read_all(certs.other_ca_crt));
    age(dir + "/b.pem", 60);
    age(dir, 60);
    auto second = cache.trust(with_ca("", dir), UPOP_SMTP);
    CHECK(cache.trust_reads() == 2);
    CHECK(second->chain()->next != nullptr); // both certificates
}

TEST_CASE("a CA file that cannot be parsed fails each time, with the same sentence as without a cache") {
    TempDir d;
    const std::string ca = d.path + "/ca.pem";
    write(ca, "not a certificate\n");
    age(ca, 60);
    TlsCache cache;
    for (int i = 0; i < 2; ++i) {
        try {
            cache.trust(with_ca(ca), UPOP_SMTP);
            FAIL("a broken CA file was accepted");
        } catch (const upopmail::Error &e) {
            CHECK(e.status() == UPOP_E_SECURITY);
            CHECK(std::string(e.what()).find("cannot load ca_certificate") != std::string::npos);
        }
    }
}

TEST_CASE("only regular files and directories have stamps that stand for their content") {
    TempDir d;
    const std::string fifo = d.path + "/pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(TlsCache::stamps(fifo, false).empty());
    CHECK(TlsCache::stamps(d.path, false).empty()); // a directory where a file is expected
    CHECK(TlsCache::stamps(d.path + "/missing", false).empty());
    CHECK(TlsCache::stamps(d.path, true).size() == 1); // the directory; the pipe is skipped
}

} // TEST_SUITE

TEST_CASE("the handle's random generator is seeded once, and anew in a forked child") {
    TlsCache cache;
    int err = -1;
    mbedtls_ctr_drbg_context *g = cache.random(&err);
    REQUIRE(g != nullptr);
    CHECK(err == 0);
    CHECK(cache.random(&err) == g); // the same generator for every connection of the handle
    unsigned char first[32];
    REQUIRE(mbedtls_ctr_drbg_random(g, first, sizeof first) == 0);

    // After fork the child must not draw what the parent draws next (a copied generator would).
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int e = 0;
        unsigned char out[32] = {};
        mbedtls_ctr_drbg_context *c = cache.random(&e);
        if (c) mbedtls_ctr_drbg_random(c, out, sizeof out);
        ssize_t w = ::write(fds[1], out, sizeof out);
        ::_exit(w == static_cast<ssize_t>(sizeof out) && c ? 0 : 1);
    }
    ::close(fds[1]);
    unsigned char parent[32], child[32];
    REQUIRE(mbedtls_ctr_drbg_random(cache.random(&err), parent, sizeof parent) == 0);
    size_t got = 0;
    while (got < sizeof child) {
        ssize_t n = ::read(fds[0], child + got, sizeof child - got);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    REQUIRE(got == sizeof child);
    CHECK(std::memcmp(parent, child, sizeof parent) != 0);
}
