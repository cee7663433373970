// tls_cache_test.cpp — a handle reads its TLS configuration file and CA file once and keeps them
// while they are unchanged (net/tls_cache.hpp), and reads them again when they change between
// connects: a new CA or a new configuration takes effect at the next connect. What was read is
// seen in the trace ("TLS configuration read from ...", "TLS trust store read from ...").
#include "hostile/support.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using namespace hostile;

namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/** Rewrites path in place (same inode), as an editor that truncates and writes does. */
void rewrite(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

/** Sets the modification time seconds_ago seconds back: a file that has not changed lately. */
void age(const std::string& path, int seconds_ago) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    timespec t[2] = {now, now};
    t[1].tv_sec -= seconds_ago;
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), t, 0) == 0);
}

struct TempDir {
    std::string path;
    TempDir() {
        std::string t = (fs::temp_directory_path() / "upop_tls_cache_XXXXXX").string();
        REQUIRE(::mkdtemp(t.data()) != nullptr);
        path = t;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

/** The trace events of one handle. */
struct Events {
    std::vector<std::string> events;
    static void fn(void* user, int, char direction, const char* line) {
        if (direction == '*') static_cast<Events*>(user)->events.push_back(line);
    }
    size_t count(const std::string& prefix) const {
        size_t n = 0;
        for (auto& e : events) n += e.rfind(prefix, 0) == 0;
        return n;
    }
};

/** One implicit-TLS logon and logoff with the handle h; the status of upop_connect. */
int tls_logon(upop* h, std::string* err = nullptr) {
    const TestCerts& certs = make_test_certs();
    FakeServer srv(
        [](FakeConn& c) {
            c.send("220 fake.example ESMTP over TLS\r\n");
            serve_smtp(c, SmtpOpts{{}, {}, "", "", true});
        },
        TlsOpts{certs.server_crt, certs.server_key}, 5s);
    int rc = upop_connect(h, UPOP_SMTP, ("TLS:" + srv.conn()).c_str(), "", "");
    if (err) *err = upop_last_error(h) ? upop_last_error(h) : "";
    if (rc == 0) CHECK(upop_disconnect(h, UPOP_SMTP) == 0);
    srv.join();
    return rc;
}

std::string config_for(const std::string& ca) { return "{\"default\": {\"ca_certificate\": " + upop_fake::json_string(ca) + "}}"; }

} // namespace

TEST_SUITE("hostile: TLS configuration and CA cache") {

TEST_CASE("an unchanged configuration and CA file are read once for many connects") {
    const TestCerts& certs = make_test_certs();
    TempDir dir;
    const std::string ca = dir.path + "/ca.pem", cfg = dir.path + "/config.json";
    rewrite(ca, read_all(certs.ca_crt));
    rewrite(cfg, config_for(ca));
    age(ca, 60);
    age(cfg, 60);
    Handle h;
    Events trace;
    REQUIRE(upop_set_trace(h, &Events::fn, &trace) == 0);
    REQUIRE(upop_set_option(h, "config", cfg.c_str()) == 0);
    for (int i = 0; i < 3; ++i) {
        std::string err;
        CHECK_MESSAGE(tls_logon(h, &err) == 0, err);
    }
    CHECK(trace.count("TLS configuration read from") == 1);
    CHECK(trace.count("TLS trust store read from") == 1);
}

TEST_CASE("a CA file that changes between connects takes effect at the next connect") {
    const TestCerts& certs = make_test_certs();
    TempDir dir;
    const std::string ca = dir.path + "/ca.pem", cfg = dir.path + "/config.json";
    rewrite(ca, read_all(certs.ca_crt));
    rewrite(cfg, config_for(ca));
    age(ca, 60);
    age(cfg, 60);
    Handle h;
    Events trace;
    REQUIRE(upop_set_trace(h, &Events::fn, &trace) == 0);
    REQUIRE(upop_set_option(h, "config", cfg.c_str()) == 0);
    std::string err;
    CHECK_MESSAGE(tls_logon(h, &err) == 0, err);

    // in place (same inode), written now: an unrelated CA no longer trusts the server
    rewrite(ca, read_all(certs.other_ca_crt));
    CHECK(tls_logon(h, &err) == UPOP_E_SECURITY);
    CHECK_MESSAGE(contains(lower(err), "verif"), err);

    // replaced by another file (new inode), with an old time: trusted again
    const std::string fresh = dir.path + "/ca.new";
    rewrite(fresh, read_all(certs.ca_crt));
    age(fresh, 120);
    fs::rename(fresh, ca);
    CHECK_MESSAGE(tls_logon(h, &err) == 0, err);
    CHECK(trace.count("TLS trust store read from") == 3);
}

TEST_CASE("a configuration file that changes between connects takes effect at the next connect") {
    const TestCerts& certs = make_test_certs();
    TempDir dir;
    const std::string cfg = dir.path + "/config.json";
    // both versions the same size (JSON blanks): only the content tells them apart
    auto sized = [](std::string json) {
        REQUIRE(json.size() < 1000);
        json.insert(json.size() - 1, 1000 - json.size(), ' ');
        return json;
    };
    rewrite(cfg, sized(config_for(certs.ca_crt)));
    Handle h;
    REQUIRE(upop_set_option(h, "config", cfg.c_str()) == 0);
    std::string err;
    CHECK_MESSAGE(tls_logon(h, &err) == 0, err);

    // rewritten in place at once: the same size, the same inode, and the same modification time
    // as far as the clock's granularity can tell; the configuration read a moment ago is not
    // trusted to be unchanged
    rewrite(cfg, sized(config_for(certs.other_ca_crt)));
    CHECK(tls_logon(h, &err) == UPOP_E_SECURITY);

    rewrite(cfg, "{\"default\": {\"verify_server\": \"no\"}}");
    CHECK_MESSAGE(tls_logon(h, &err) == 0, err);

    // gone: reported at connect as before (-9, naming the file)
    fs::remove(cfg);
    CHECK(tls_logon(h, &err) == UPOP_E_NETWORK);
    CHECK_MESSAGE(contains(err, "config.json"), err);
}

TEST_CASE("a CA file that disappears is reported at the next connect, as before") {
    const TestCerts& certs = make_test_certs();
    TempDir dir;
    const std::string ca = dir.path + "/ca.pem", cfg = dir.path + "/config.json";
    rewrite(ca, read_all(certs.ca_crt));
    rewrite(cfg, config_for(ca));
    age(ca, 60);
    age(cfg, 60);
    Handle h;
    REQUIRE(upop_set_option(h, "config", cfg.c_str()) == 0);
    std::string err;
    CHECK_MESSAGE(tls_logon(h, &err) == 0, err);
    fs::remove(ca);
    // the configuration names a file that no longer exists: -9 from the configuration, as
    // when every connect read it
    CHECK(tls_logon(h, &err) == UPOP_E_NETWORK);
    CHECK_MESSAGE(contains(err, "ca.pem"), err);
}

} // TEST_SUITE
