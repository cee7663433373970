// support.hpp — shared helpers of the hostile-server tests (public C ABI only).
#ifndef UPOP_TESTS_HOSTILE_SUPPORT_HPP
#define UPOP_TESTS_HOSTILE_SUPPORT_HPP

#include <doctest/doctest.h>

#include "fake/certs.hpp"
#include "fake/fake_server.hpp"
#include "upopmail.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace hostile {

using namespace std::chrono_literals;
using upop_fake::b64;
using upop_fake::serve_smtp;
using upop_fake::SmtpOpts;

inline const std::string kUser = "u";
inline const std::string kPass = "secret-pw";

/** {"user":"u","password":"secret-pw"} */
inline std::string creds_json() { return "{\"user\":\"u\",\"password\":\"secret-pw\"}"; }
/** user=u<ESC>password=secret-pw[<ESC>allow_plaintext=true] (the GOLD form). */
inline std::string creds_gold(bool allow_plaintext = false) {
    std::string s = "user=u" UPOP_SEP_STR "password=secret-pw";
    if (allow_plaintext) s += UPOP_SEP_STR "allow_plaintext=true";
    return s;
}

inline std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}
inline bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

/** Every form in which the test password could travel or leak. */
inline std::vector<std::string> secret_forms() {
    return {kPass, b64(kPass), b64(std::string("\0", 1) + kUser + std::string("\0", 1) + kPass),
            b64(kUser + std::string("\0", 1) + kUser + std::string("\0", 1) + kPass)};
}

/** True if the server received an AUTH command or the password in any form. */
inline bool credentials_sent(const FakeServer& srv) {
    if (srv.saw("AUTH")) return true;
    for (auto& s : secret_forms())
        if (srv.received(s)) return true;
    return false;
}

/** True unless the fake server had to give up waiting for the client (the client left the
 *  connection open after the logon failed). */
inline bool client_closed(const FakeServer& srv) {
    for (auto& f : srv.failures())
        if (contains(f, "timed out") || contains(f, "did not close")) return false;
    return true;
}

/** Lets the registry find the drivers of this build tree when the test is run directly. */
inline void register_build_drivers() {
    static std::once_flag once;
    std::call_once(once, [] {
        namespace fs = std::filesystem;
        std::vector<fs::path> dirs;
        if (const char* b = std::getenv("UPOPMAIL_BUILD_DIR")) dirs.push_back(fs::path(b) / "drivers");
        std::error_code ec;
        fs::path exe = fs::read_symlink("/proc/self/exe", ec);
        if (!ec) dirs.push_back(exe.parent_path().parent_path() / "drivers");
        for (auto& d : dirs) {
            if (fs::is_directory(d, ec)) {
                upop_registry_add_path(d.c_str());
                return;
            }
        }
    });
}

/** The config file that trusts the test CA (written once). */
inline const std::string& ca_config() {
    static const std::string path = write_tls_config(make_test_certs().ca_crt);
    return path;
}

/** One component instance; destroyed at the end of the scope (or by close()). */
struct Handle {
    upop* h = nullptr;
    explicit Handle(int timeout_ms = 5000) {
        register_build_drivers();
        REQUIRE(upop_create(&h) == 0);
        REQUIRE(h != nullptr);
        REQUIRE(upop_set_option(h, "timeout_ms", std::to_string(timeout_ms).c_str()) == 0);
    }
    ~Handle() { close(); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    void close() {
        if (h) upop_destroy(h);
        h = nullptr;
    }
    operator upop*() const { return h; }
    std::string err() const {
        const char* e = upop_last_error(h);
        return e ? e : "";
    }
    int connect(const FakeServer& s) { return upop_connect(h, UPOP_SMTP, s.conn().c_str(), "", ""); }
    int connect_tls(const FakeServer& s) {
        return upop_connect(h, UPOP_SMTP, ("TLS:" + s.conn()).c_str(), "", "");
    }
    /** LogonMail with USER/PASS over the fake server's plain connection (allow_plaintext). */
    int connect_pop(const FakeServer& s) {
        if (upop_set_option(h, "allow_plaintext", "true") != 0) return 1000;
        return upop_connect(h, UPOP_POP, s.conn().c_str(), kUser.c_str(), kPass.c_str());
    }
    void trust_test_ca() { REQUIRE(upop_set_option(h, "config", ca_config().c_str()) == 0); }
    void use_config(const std::string& path) { REQUIRE(upop_set_option(h, "config", path.c_str()) == 0); }
    /** upop_set_security that must succeed. */
    void add(const std::string& props, const std::string& params = "") {
        int rc = upop_set_security(h, props.c_str(), params.c_str());
        INFO("upop_set_security(\"" << props << "\") -> " << rc << ": " << err());
        REQUIRE(rc == 0);
    }
    int32_t reply_code() {
        int32_t code = -1;
        char buf[UPOP_REPLY_MAX];
        upop_get_smtp_response(h, &code, buf, sizeof buf);
        return code;
    }
};

/** A sentence, not an empty string or a bare code. */
inline bool is_sentence(const std::string& s) { return s.size() >= 10 && s.find(' ') != std::string::npos; }

/** Collects the protocol trace. */
struct Trace {
    std::mutex mu;
    std::vector<std::string> lines;
    static void cb(void* user, int, char dir, const char* line) {
        auto* t = static_cast<Trace*>(user);
        std::lock_guard<std::mutex> lock(t->mu);
        t->lines.push_back(std::string(1, dir) + " " + (line ? line : ""));
    }
    std::vector<std::string> copy() {
        std::lock_guard<std::mutex> lock(mu);
        return lines;
    }
};

/** What a logon attempt left: its status and upop_last_error. */
struct Attempt {
    int rc = 0;
    std::string err;
};

/** STARTTLS + AUTH PLAIN against srv (test CA trusted), then the handle is destroyed and the
 *  server script joined, so srv's transcript is complete. */
inline Attempt starttls_plain_attempt(FakeServer& srv, int timeout_ms = 5000) {
    Attempt a;
    {
        Handle h(timeout_ms);
        h.trust_test_ca();
        h.add("SMTP=STARTTLS");
        h.add("SMTP=AUTH PLAIN", creds_json());
        a.rc = h.connect(srv);
        a.err = h.err();
    }
    srv.join();
    return a;
}

/** Greeting + EHLO (with caps) preamble of most scripts. */
inline void greet(FakeConn& c, const std::vector<std::string>& caps) {
    c.send("220 fake.example ESMTP ready\r\n");
    c.expect("EHLO");
    c.send(ehlo_reply(caps));
}

/** A server that greets with caps and then accepts every command and message (serve_smtp). */
inline void accept_all_smtp(FakeConn& c, const std::vector<std::string>& caps) {
    greet(c, caps);
    serve_smtp(c, SmtpOpts{caps, {}, "", "", true});
}

/** MAIL, RCPT and DATA accepted one by one (no PIPELINING offered): the client is then in DATA. */
inline void accept_envelope(FakeConn& c) {
    c.expect("MAIL FROM");
    c.send("250 ok\r\n");
    c.expect("RCPT TO");
    c.send("250 ok\r\n");
    c.expect("DATA");
    c.send("354 go ahead\r\n");
}

/** POP3 greeting, CAPA (answered with USER, or refused) and USER/PASS accepted. */
inline void pop_logon(FakeConn& c, bool capa = true) {
    c.send("+OK fake POP3 ready\r\n");
    c.expect("CAPA");
    c.send(capa ? "+OK\r\nUSER\r\n.\r\n" : "-ERR no CAPA\r\n");
    c.expect("USER ");
    c.send("+OK\r\n");
    c.expect("PASS ");
    c.send("+OK logged in\r\n");
}

} // namespace hostile

#endif
