// support.hpp — helpers of the upop_abi tests (public C ABI only, plus the scripted fake server).
#ifndef UPOP_TESTS_ABI_SUPPORT_HPP
#define UPOP_TESTS_ABI_SUPPORT_HPP

#include <doctest/doctest.h>

#include "fake/fake_server.hpp"
#include "upopmail.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace abi {

/** Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF). */
inline bool valid_utf8(const std::string &s) {
    size_t i = 0, n = s.size();
    while (i < n) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
        else return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; ++k) {
            unsigned char d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/** True when s holds a C0 control byte, DEL, or a C1 control character (U+0080..U+009F). */
inline bool has_control(const std::string &s) {
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7F) return true;
        if (c == 0xC2 && i + 1 < s.size()) {
            unsigned char d = static_cast<unsigned char>(s[i + 1]);
            if (d >= 0x80 && d <= 0x9F) return true;
        }
    }
    return false;
}

/** A sentence fit for a person: valid UTF-8, no control characters. */
inline bool clean_sentence(const std::string &s) { return valid_utf8(s) && !has_control(s); }

inline bool contains(const std::string &hay, const std::string &needle) { return hay.find(needle) != std::string::npos; }

inline std::string last_error(const upop *h) {
    const char *e = upop_last_error(h);
    return e ? e : "(NULL)";
}

/** One component instance with a short time-out; destroyed at the end of the scope. */
struct Handle {
    upop *h = nullptr;
    Handle() {
        REQUIRE(upop_create(&h) == UPOP_OK);
        REQUIRE(h != nullptr);
        REQUIRE(upop_set_option(h, "timeout_ms", "10000") == UPOP_OK);
    }
    ~Handle() { upop_destroy(h); }
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    operator upop *() const { return h; }
    std::string err() const { return last_error(h); }
};

/** POP3 dot-stuffing of a CRLF message, with the terminating ".". */
inline std::string stuffed(const std::string &msg) {
    std::string out;
    size_t start = 0;
    while (start < msg.size()) {
        size_t eol = msg.find("\r\n", start);
        std::string line = msg.substr(start, eol == std::string::npos ? std::string::npos : eol - start);
        if (!line.empty() && line[0] == '.') out += '.';
        out += line + "\r\n";
        if (eol == std::string::npos) break;
        start = eol + 2;
    }
    return out + ".\r\n";
}

/** A small POP3 mailbox on the fake server: answers CAPA, USER, PASS, STAT, LIST, UIDL, TOP,
 *  RETR, DELE, NOOP, RSET by the command (not by a fixed order), until QUIT or EOF. */
inline void serve_mailbox(upop_fake::FakeConn &c, const std::vector<std::string> &msgs) {
    c.send("+OK fake POP3 ready\r\n");
    auto nr = [&](const std::string &arg) -> long {
        long n = std::atol(arg.c_str());
        return n >= 1 && n <= static_cast<long>(msgs.size()) ? n : 0;
    };
    for (;;) {
        std::string line = c.read_line();
        if (c.eof()) return;
        std::string cmd = line.substr(0, line.find(' '));
        std::string arg = line.size() > cmd.size() ? line.substr(cmd.size() + 1) : "";
        for (auto &ch : cmd) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (cmd == "CAPA") {
            c.send("+OK\r\nUSER\r\nTOP\r\nUIDL\r\n.\r\n");
        } else if (cmd == "USER" || cmd == "PASS" || cmd == "NOOP" || cmd == "RSET" || cmd == "DELE") {
            c.send("+OK\r\n");
        } else if (cmd == "STAT") {
            size_t total = 0;
            for (auto &m : msgs) total += m.size();
            c.send("+OK " + std::to_string(msgs.size()) + " " + std::to_string(total) + "\r\n");
        } else if ((cmd == "LIST" || cmd == "UIDL") && !arg.empty()) {
            long n = nr(arg);
            if (!n) c.send("-ERR no such message\r\n");
            else
                c.send("+OK " + std::to_string(n) + " " +
                       (cmd == "LIST" ? std::to_string(msgs[n - 1].size()) : "uid-" + std::to_string(n)) + "\r\n");
        } else if (cmd == "LIST" || cmd == "UIDL") {
            std::string r = "+OK\r\n";
            for (size_t i = 0; i < msgs.size(); ++i)
                r += std::to_string(i + 1) + " " +
                     (cmd == "LIST" ? std::to_string(msgs[i].size()) : "uid-" + std::to_string(i + 1)) + "\r\n";
            c.send(r + ".\r\n");
        } else if (cmd == "TOP" || cmd == "RETR") {
            long n = nr(arg);
            if (!n) {
                c.send("-ERR no such message\r\n");
                continue;
            }
            std::string m = msgs[n - 1];
            if (cmd == "TOP") {
                auto end = m.find("\r\n\r\n");
                m = end == std::string::npos ? m : m.substr(0, end + 4);
            }
            c.send("+OK\r\n" + stuffed(m));
        } else if (cmd == "QUIT") {
            c.send("+OK bye\r\n");
            return;
        } else {
            c.send("-ERR unknown command\r\n");
        }
    }
}

/** A fresh private directory under /tmp (left for the system to clean). */
inline std::string temp_dir() {
    char tmpl[] = "/tmp/upop-abi-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    return tmpl;
}

/** Writes text into path (mode 0600); returns path. */
inline std::string write_file(const std::string &path, const std::string &text) {
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), 0600);
    return path;
}

/** A handle logged on (USER/PASS without TLS, allowed) to a fake mailbox. */
struct PopMailbox {
    upop_fake::FakeServer srv;
    Handle h;
    explicit PopMailbox(std::vector<std::string> msgs)
        : srv([msgs](upop_fake::FakeConn &c) { serve_mailbox(c, msgs); }, std::chrono::seconds(120)) {
        REQUIRE(upop_set_option(h, "allow_plaintext", "true") == UPOP_OK);
        int rc = upop_connect(h, UPOP_POP, srv.conn().c_str(), "u", "p");
        REQUIRE_MESSAGE(rc == UPOP_OK, h.err());
    }
    ~PopMailbox() {
        upop_disconnect(h, UPOP_POP);
        srv.join();
    }
};

} // namespace abi

#endif
