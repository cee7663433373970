// misuse_test.cpp — every exported function of libupopmail.so called with NULL, empty, huge
// (10 MB) and non-UTF-8 arguments, odd numbers, tiny buffers (NULL and cap 0 to 4) and in the
// wrong states (NULL handle, not logged on, nothing pending, a pending upop_cancel, after a failed
// logon) plus, on loopback fake servers, logged on with the same arguments. Each status must be
// one that the function's declaration in api/upopmail.h lists in its "Returns:" clause (read
// from the header itself, so the documentation and this test cannot drift apart); each failure
// (and each warning) must come with a sentence that is valid UTF-8 without control characters, a
// success with none; no output may be written past its cap. The test fails when an exported
// upop_* function (nm -D) is not called, or the header and the exports disagree.
#include "support.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

using namespace abi;

namespace {

// ------------------------------------------------------------------ the header's Returns: clauses

struct Documented {
    std::set<int> codes;
    bool nonneg_count = false; // ">=0"
    bool pos_count = false;    // ">0"
    bool has_returns = false;
};

// The functions whose result is no status.
const std::set<std::string> kNoStatus = {"upop_destroy",      "upop_version",  "upop_abi_version", "upop_last_error",
                                         "upop_drivers_json", "upop_free",     "upop_strerror"};

struct Header {
    std::vector<std::string> declared; // in order
    std::map<std::string, Documented> docs;
    std::vector<std::string> problems;
};

std::string trim(std::string s) {
    size_t a = s.find_first_not_of(" \t\n"), b = s.find_last_not_of(" \t\n");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// The text of a /** ... */ comment without its " * " line starts.
std::string comment_text(const std::string &c) {
    std::string out;
    std::istringstream in(c.substr(3, c.size() - 5));
    for (std::string line; std::getline(in, line);) {
        line = trim(line);
        if (!line.empty() && line[0] == '*') line = trim(line.substr(1));
        out += line + " ";
    }
    return out;
}

Documented parse_returns(const std::string &name, const std::string &comment, std::vector<std::string> &problems) {
    Documented d;
    std::string text = comment_text(comment);
    auto at = text.find("Returns:");
    if (at == std::string::npos) return d;
    d.has_returns = true;
    std::string clause = text.substr(at + 8);
    size_t start = 0;
    while (start <= clause.size()) {
        size_t semi = clause.find(';', start);
        std::string item = trim(clause.substr(start, semi == std::string::npos ? std::string::npos : semi - start));
        // the status: ">=0", ">0" or an integer, then a blank or the end
        std::string status = item.substr(0, item.find_first_of(" \t"));
        size_t digits = status.rfind('-', 0) == 0 ? 1 : 0;
        bool integer = status.size() > digits && status.find_first_not_of("0123456789", digits) == std::string::npos;
        if (status == ">=0") d.nonneg_count = true;
        else if (status == ">0") d.pos_count = true;
        else if (integer) d.codes.insert(std::stoi(status));
        else problems.push_back(name + ": a Returns: item does not start with a status: \"" + item + "\"");
        if (semi == std::string::npos) break;
        start = semi + 1;
    }
    return d;
}

// The next declaration at or after from: a line starting with "UPOP_API" whose first '(' follows
// an upop_* name. Returns the line's offset (npos: none), with the name and the offset just past
// the '('. (No <regex>: GCC 12 warns inside it in the sanitizer build, and warnings are errors.)
size_t find_decl(const std::string &text, size_t from, std::string &name, size_t &after) {
    size_t ls = from;
    if (ls > 0 && text[ls - 1] != '\n') {
        ls = text.find('\n', ls);
        if (ls == std::string::npos) return std::string::npos;
        ++ls;
    }
    while (ls < text.size()) {
        size_t le = text.find('\n', ls);
        if (le == std::string::npos) le = text.size();
        std::string line = text.substr(ls, le - ls);
        size_t paren = line.find('(');
        if (line.rfind("UPOP_API", 0) == 0 && line.size() > 8 && (line[8] == ' ' || line[8] == '\t') &&
            paren != std::string::npos) {
            size_t e = paren;
            while (e > 0 && (line[e - 1] == ' ' || line[e - 1] == '\t')) --e;
            size_t b = e;
            while (b > 0 && (std::isalnum(static_cast<unsigned char>(line[b - 1])) || line[b - 1] == '_')) --b;
            if (line.compare(b, 5, "upop_") == 0) {
                name = line.substr(b, e - b);
                after = ls + paren + 1;
                return ls;
            }
        }
        ls = le + 1;
    }
    return std::string::npos;
}

// api/upopmail.h of this tree, or the file UPOPMAIL_ABI_HEADER names (to check another).
Header read_header() {
    const char *other = std::getenv("UPOPMAIL_ABI_HEADER");
    const std::string path = other && *other ? other : UPOPMAIL_TEST_HEADER;
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    Header h;
    // Walks the doc comments and the declarations in order: a declaration takes the doc comment
    // before it (several declarations in a row share one).
    std::string comment;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t c = text.find("/**", pos);
        std::string name;
        size_t after = 0;
        size_t d = find_decl(text, pos, name, after);
        if (c == std::string::npos && d == std::string::npos) break;
        if (c != std::string::npos && (d == std::string::npos || c < d)) {
            size_t end = text.find("*/", c);
            REQUIRE(end != std::string::npos);
            comment = text.substr(c, end + 2 - c);
            pos = end + 2;
            continue;
        }
        h.declared.push_back(name);
        h.docs[name] = parse_returns(name, comment, h.problems);
        if (!kNoStatus.count(name) && !h.docs[name].has_returns)
            h.problems.push_back(name + ": its comment has no \"Returns:\" clause");
        pos = after;
    }
    return h;
}

// The upop_* functions libupopmail.so exports (nm -D), without version suffixes.
std::set<std::string> exported() {
    std::set<std::string> out;
    std::string cmd = std::string("nm -D --defined-only '") + UPOPMAIL_TEST_LIBRARY + "' 2>/dev/null";
    FILE *p = ::popen(cmd.c_str(), "r");
    REQUIRE_MESSAGE(p != nullptr, "cannot run nm");
    char line[1024];
    while (std::fgets(line, sizeof line, p)) {
        std::istringstream l(line);
        std::string addr, type, name;
        l >> addr >> type >> name;
        name = name.substr(0, name.find('@'));
        if (name.rfind("upop_", 0) == 0) out.insert(name);
    }
    ::pclose(p);
    return out;
}

// ------------------------------------------------------------------ checking each call

struct Checker {
    Header header = read_header();
    std::set<std::string> covered;
    std::map<std::string, std::set<int>> seen; // the statuses each function returned
    size_t calls = 0;

    // Records a call of a function that returns no status.
    void touch(const std::string &name) { covered.insert(name); }

    // st is what name returned for handle h (NULL: the sentence is upop_last_error(NULL)).
    void check(const std::string &name, const upop *h, int st, const std::string &args) {
        ++calls;
        covered.insert(name);
        seen[name].insert(st);
        auto it = header.docs.find(name);
        INFO(name << "(" << args << ") returned " << st << "; upop_last_error: " << last_error(h));
        REQUIRE_MESSAGE(it != header.docs.end(), name << " is not declared in the header");
        const Documented &d = it->second;
        bool documented = d.codes.count(st) || (st > 0 && d.pos_count) || (st >= 0 && d.nonneg_count);
        CHECK_MESSAGE(documented, name << " returned " << st << ", which its Returns: clause does not list");
        const char *raw = upop_last_error(h);
        REQUIRE_MESSAGE(raw != nullptr, "upop_last_error returned NULL");
        std::string sentence(raw);
        CHECK_MESSAGE(clean_sentence(sentence), "the sentence is not clean UTF-8: " << sentence);
        CHECK_MESSAGE(sentence.size() <= 4096, "a sentence of " << sentence.size() << " bytes");
        bool warning = st > 0 && (name == "upop_send" || name == "upop_get_mail" || name == "upop_get_mail_x");
        if (st < 0 || warning) CHECK_MESSAGE(!sentence.empty(), "status " << st << " without a sentence");
        // (upop_cancel leaves the sentence alone: another thread's call may be writing it)
        // (Send and SendRaw note a DSN the server could not be asked for: their one success sentence)
        bool dsn_note = name.rfind("upop_send", 0) == 0 && sentence.rfind("DSN not requested", 0) == 0;
        if (st == 0 && name != "upop_cancel" && !dsn_note)
            CHECK_MESSAGE(sentence.empty(), "a success with a sentence: " << sentence);
    }
};

// ------------------------------------------------------------------ the arguments

const std::string &huge() {
    static const std::string s(10 * 1024 * 1024, 'a');
    return s;
}

struct Str {
    std::optional<std::string> v;
    std::string label;
    const char *c() const { return v ? v->c_str() : nullptr; }
};

// NULL, empty, huge, not UTF-8, control characters and separators, and something plausible.
std::vector<Str> strings(const std::string &plausible) {
    return {{std::nullopt, "NULL"},
            {std::string(), "\"\""},
            {huge(), "10 MB"},
            {std::string("\xFF\xFE\xC0\xAF x \xED\xA0\x80"), "not UTF-8"},
            {std::string("a\r\nb\x1B;=\x01\x7F"), "CR/LF, GOLD, controls"},
            {plausible, "\"" + plausible + "\""}};
}

const std::vector<int32_t> kInt32s = {0, 1, -1, 2, 6, INT32_MIN, INT32_MAX};
const std::vector<int64_t> kInt64s = {0, 1, -1, INT64_MIN, INT64_MAX};
const std::vector<int> kServers = {UPOP_SMTP, UPOP_POP, 0, 3, -1, INT_MIN, INT_MAX};

// A caller buffer: NULL, or cap bytes followed by a canary that must survive.
struct Buf {
    bool null;
    size_t cap;
    std::vector<char> v;
    Buf(bool is_null, size_t c) : null(is_null), cap(c), v(c + 16, '#') {}
    char *p() { return null ? nullptr : v.data(); }
    bool intact() const {
        for (size_t i = cap; i < v.size(); ++i)
            if (v[i] != '#') return false;
        return null || cap == 0 || std::memchr(v.data(), 0, cap) != nullptr || v[0] == '#';
    }
};

std::vector<Buf> buffers() {
    std::vector<Buf> out;
    for (size_t cap = 0; cap <= 4; ++cap) out.emplace_back(false, cap);
    out.emplace_back(false, 4096);
    out.emplace_back(true, 0);
    out.emplace_back(true, 64); // NULL with a capacity
    return out;
}

// A loopback port that refuses connections: bound, never listening.
struct ClosedPort {
    int fd = -1;
    uint16_t port = 0;
    ClosedPort() {
        fd = upop_fake::bind_loopback(port);
        REQUIRE(fd >= 0);
    }
    ~ClosedPort() { ::close(fd); }
    std::string conn() const { return "127.0.0.1+" + std::to_string(port); }
};

// ------------------------------------------------------------------ the calls

// Every function that takes a handle, with every argument variant, on handle h (NULL or in some
// state). conn is the connection string tried by upop_connect and SendMail: a loopback port that
// refuses connections (no network, no waiting).
void misuse_handle(Checker &chk, upop *h, const std::string &conn, bool with_huge) {
    auto S = [&](const std::string &plausible) {
        auto all = strings(plausible);
        if (!with_huge) all.erase(all.begin() + 2);
        return all;
    };
#define CHECK_CALL(fn, label, ...) chk.check(#fn, h, fn(h, __VA_ARGS__), label)

    // security context
    for (auto &p : S("SMTP=STARTTLS"))
        for (auto &q : S("{\"user\":\"u\"}")) CHECK_CALL(upop_set_security, p.label + ", " + q.label, p.c(), q.c());
    for (int32_t n : kInt32s)
        for (auto &s : S("SMTP="))
            for (auto &b : buffers()) {
                Buf b2(b.null, b.cap);
                CHECK_CALL(upop_get_security, std::to_string(n) + ", " + s.label + ", cap " + std::to_string(b.cap),
                           n, s.c(), b.p(), b.cap, b2.p(), b2.cap);
                CHECK(b.intact());
                CHECK(b2.intact());
            }

    // options, callbacks
    for (auto &n : S("timeout_ms"))
        for (auto &v : S("5000")) CHECK_CALL(upop_set_option, n.label + ", " + v.label, n.c(), v.c());
    for (const char *name : {"timeout_ms", "allow_plaintext", "ehlo_domain", "config"})
        for (auto &v : S("0")) CHECK_CALL(upop_set_option, std::string(name) + ", " + v.label, name, v.c());
    CHECK_CALL(upop_set_option, "timeout_ms, 10000", "timeout_ms", "10000");
    CHECK_CALL(upop_set_option, "allow_plaintext, true", "allow_plaintext", "true");
    CHECK_CALL(upop_set_trace, "NULL, NULL", nullptr, nullptr);
    CHECK_CALL(upop_set_progress, "NULL, NULL", nullptr, nullptr);

    // composing
    for (auto &s : S("Name <a@example.test>;b@example.test")) {
        CHECK_CALL(upop_set_to_list, s.label, s.c());
        CHECK_CALL(upop_set_cc_list, s.label, s.c());
        CHECK_CALL(upop_set_bcc_list, s.label, s.c());
        CHECK_CALL(upop_set_reply_to, s.label, s.c());
        CHECK_CALL(upop_set_from, s.label, s.c());
        CHECK_CALL(upop_set_subject, s.label, s.c());
        CHECK_CALL(upop_set_message_id, s.label, s.c());
    }
    for (int32_t n : kInt32s) CHECK_CALL(upop_set_priority, std::to_string(n), n);
    for (auto &t : S("Hello \xE2\x82\xAC"))
        for (auto &o : S("MIMEType=text/html")) CHECK_CALL(upop_set_message, t.label + ", " + o.label, t.c(), o.c());
    for (auto &p : S("/etc/hostname"))
        for (auto &o : S("MIMEType=text/plain")) {
            CHECK_CALL(upop_add_attachment_from_file, p.label + ", " + o.label, p.c(), o.c());
            CHECK_CALL(upop_add_inline_from_file, p.label + ", " + o.label, p.c(), o.c());
        }
    for (auto &o : S("MaxSize=100000" UPOP_SEP_STR "IgnoreRcptError=True")) CHECK_CALL(upop_send, o.label, o.c());
    // the sending additions of 0.2
    for (auto &s : S("Bounces <bounces@example.test>")) CHECK_CALL(upop_set_envelope_from, s.label, s.c());
    for (auto &n : S("X-Test"))
        for (auto &v : S("value \xE2\x82\xAC")) CHECK_CALL(upop_add_header, n.label + ", " + v.label, n.c(), v.c());
    for (auto &n : S("a.bin"))
        for (auto &o : S("ContentID=a1")) {
            CHECK_CALL(upop_add_attachment_from_memory, "abc, " + n.label + ", " + o.label, "abc", 3, n.c(), o.c());
            CHECK_CALL(upop_add_attachment_from_memory, "NULL, 5, " + n.label + ", " + o.label, nullptr, 5, n.c(), o.c());
            CHECK_CALL(upop_add_attachment_from_memory, "NULL, 0, " + n.label + ", " + o.label, nullptr, 0, n.c(), o.c());
        }
    const std::string rawmsg = "From: a@example.test\r\nTo: b@example.test\r\nBcc: c@example.test\r\n\r\nx\r\n";
    for (auto &m : S(rawmsg)) {
        const char *p = m.c();
        CHECK_CALL(upop_send_raw, "message " + m.label, p, p ? std::strlen(p) : 0, "", "");
    }
    CHECK_CALL(upop_send_raw, "NULL, 5", nullptr, 5, "", "");
    for (auto &r : S("b@example.test"))
        for (auto &o : S("Notify=SUCCESS,FAILURE" UPOP_SEP_STR "Ret=HDRS" UPOP_SEP_STR "EnvId=x"))
            CHECK_CALL(upop_send_raw, r.label + ", " + o.label, rawmsg.data(), rawmsg.size(), r.c(), o.c());
    for (auto &p : S("/etc/hostname")) CHECK_CALL(upop_send_raw_file, p.label, p.c(), "", "");
    // SendMail with every argument odd in turn (the others plausible): it may log on to conn
    const std::string headers = "TO=a@example.test" UPOP_SEP_STR "FROM=b@example.test" UPOP_SEP_STR "SUBJECT=x";
    for (auto &s : S(conn)) CHECK_CALL(upop_send_mail, "server " + s.label, s.c(), headers.c_str(), "x", "", 0);
    for (auto &s : S(headers)) CHECK_CALL(upop_send_mail, "headers " + s.label, conn.c_str(), s.c(), "x", "", 0);
    for (auto &s : S("text")) CHECK_CALL(upop_send_mail, "text " + s.label, conn.c_str(), headers.c_str(), s.c(), "", 0);
    for (auto &s : S("/etc/hostname"))
        CHECK_CALL(upop_send_mail, "attachments " + s.label, conn.c_str(), headers.c_str(), "x", s.c(), 0);
    for (int64_t n : kInt64s)
        CHECK_CALL(upop_send_mail, "mail_size " + std::to_string(n), conn.c_str(), headers.c_str(), "x", "", n);

    // receiving (with whatever state h is in)
    for (auto &b : buffers()) {
        CHECK_CALL(upop_list_mail, "cap " + std::to_string(b.cap) + (b.null ? " NULL" : ""), b.p(), b.cap);
        CHECK(b.intact());
        for (int i = 0; i < 3; ++i) { // bounded: -16 parts, then the final status or -10
            Buf x(b.null, b.cap);
            int st = upop_list_mail_x(h, x.p(), x.cap);
            chk.check("upop_list_mail_x", h, st, "cap " + std::to_string(x.cap));
            CHECK(x.intact());
        }
    }
    for (int32_t n : kInt32s)
        for (int64_t size : kInt64s)
            for (auto &b : buffers()) {
                CHECK_CALL(upop_get_raw_mail, std::to_string(n) + ", " + std::to_string(size) + ", cap " + std::to_string(b.cap),
                           n, size, b.p(), b.cap);
                CHECK(b.intact());
                Buf x(b.null, b.cap);
                CHECK_CALL(upop_get_raw_mail_x, "cap " + std::to_string(x.cap), x.p(), x.cap);
                CHECK(x.intact());
            }
    for (int32_t n : kInt32s)
        for (auto &loc : S("/nonexistent-dir"))
            for (auto &b : buffers()) {
                Buf t(b.null, b.cap), a(b.null, b.cap);
                CHECK_CALL(upop_get_mail, std::to_string(n) + ", " + loc.label + ", cap " + std::to_string(b.cap), n,
                           loc.c(), 0, b.p(), b.cap, t.p(), t.cap, a.p(), a.cap);
                CHECK((b.intact() && t.intact() && a.intact()));
                Buf x1(b.null, b.cap), x2(b.null, b.cap), x3(b.null, b.cap);
                CHECK_CALL(upop_get_mail_x, "cap " + std::to_string(b.cap), x1.p(), x1.cap, x2.p(), x2.cap, x3.p(), x3.cap);
                CHECK((x1.intact() && x2.intact() && x3.intact()));
            }
    {
        // upop_retrieve: odd numbers, NULL arrays and callbacks, unknown flags, a callback that stops
        struct Sink {
            static int go(void *, int32_t, const char *, size_t, int) { return 0; }
            static int stop(void *, int32_t, const char *, size_t, int) { return 1; }
        };
        for (upop_chunk_fn fn : {&Sink::go, &Sink::stop})
            for (int flags : {0, int(UPOP_RETRIEVE_HEADERS), 2, -1}) {
                std::string label = std::string(fn == &Sink::go ? "go" : "stop") + ", flags " + std::to_string(flags);
                for (int32_t n : kInt32s) CHECK_CALL(upop_retrieve, "{" + std::to_string(n) + "}, " + label, &n, 1, flags, fn, nullptr);
                const int32_t many[] = {1, 1, 2, 0};
                CHECK_CALL(upop_retrieve, "{1,1,2,0}, " + label, many, 4, flags, fn, nullptr);
                CHECK_CALL(upop_retrieve, "NULL, 0, " + label, nullptr, 0, flags, fn, nullptr);
                CHECK_CALL(upop_retrieve, "NULL, 3, " + label, nullptr, 3, flags, fn, nullptr);
                CHECK_CALL(upop_retrieve, "{1}, SIZE_MAX, " + label, many, SIZE_MAX, flags, fn, nullptr);
            }
        const int32_t one = 1;
        CHECK_CALL(upop_retrieve, "{1}, NULL fn", &one, 1, 0, nullptr, nullptr);
        CHECK_CALL(upop_retrieve, "NULL, 0, NULL fn", nullptr, 0, 0, nullptr, nullptr);
    }
    for (int32_t n : kInt32s) CHECK_CALL(upop_delete_mail, std::to_string(n), n);
    for (auto &u : S("uid-1")) {
        int32_t nr = -1;
        CHECK_CALL(upop_find_uidl, u.label, u.c(), &nr);
        CHECK_CALL(upop_find_uidl, u.label + ", NULL", u.c(), nullptr);
    }
    for (int server : kServers) {
        CHECK_CALL(upop_noop, std::to_string(server), server);
        CHECK_CALL(upop_reset, std::to_string(server), server);
    }

    // diagnostics
    for (auto &b : buffers()) {
        int32_t code = -1;
        CHECK_CALL(upop_get_smtp_response, "&code, cap " + std::to_string(b.cap), &code, b.p(), b.cap);
        CHECK_CALL(upop_get_smtp_response, "NULL, cap " + std::to_string(b.cap), nullptr, b.p(), b.cap);
        CHECK(b.intact());
        Buf c(b.null, b.cap), d(b.null, b.cap);
        CHECK_CALL(upop_get_recipient_details, "cap " + std::to_string(b.cap), b.p(), b.cap, c.p(), c.cap, d.p(), d.cap);
        CHECK((b.intact() && c.intact() && d.intact()));
    }
    chk.check("upop_clear_mail", h, upop_clear_mail(h), "");

    // sessions last: a refused or fake connection, then every server type
    for (int server : kServers) {
        for (auto &s : S(conn)) CHECK_CALL(upop_connect, std::to_string(server) + ", " + s.label, server, s.c(), "", "");
        for (auto &u : S("user"))
            CHECK_CALL(upop_connect, std::to_string(server) + ", user " + u.label, server, conn.c_str(), u.c(), "pw");
        for (auto &p : S("password"))
            CHECK_CALL(upop_connect, std::to_string(server) + ", password " + p.label, server, conn.c_str(), "", p.c());
        CHECK_CALL(upop_disconnect, std::to_string(server), server);
        CHECK_CALL(upop_disconnect, std::to_string(server) + " again", server);
    }
    chk.check("upop_cancel", h, upop_cancel(h), "");
#undef CHECK_CALL
}

// The functions without a handle (and upop_create / upop_destroy).
void misuse_global(Checker &chk) {
    chk.check("upop_create", nullptr, upop_create(nullptr), "NULL");
    upop *h = nullptr;
    chk.check("upop_create", nullptr, upop_create(&h), "&h");
    upop_destroy(h);
    upop_destroy(nullptr);
    chk.touch("upop_destroy");
    for (auto &s : strings("/nonexistent/upopmail-drivers"))
        chk.check("upop_registry_add_path", nullptr, upop_registry_add_path(s.c()), s.label);
    chk.check("upop_registry_add_path", nullptr, upop_registry_add_path("/"), "/");
    char *j = upop_drivers_json();
    CHECK(j != nullptr);
    if (j) CHECK(valid_utf8(j));
    upop_free(j);
    upop_free(nullptr);
    chk.touch("upop_drivers_json");
    chk.touch("upop_free");
    CHECK(upop_version() != nullptr);
    chk.touch("upop_version");
    CHECK(upop_abi_version() == UPOP_ABI_VERSION);
    chk.touch("upop_abi_version");
    for (int s : {INT_MIN, -19, -1, 0, 1, 4, INT_MAX}) CHECK(clean_sentence(upop_strerror(s)));
    chk.touch("upop_strerror");
    CHECK(upop_last_error(nullptr) != nullptr);
    chk.touch("upop_last_error");
}

} // namespace

TEST_SUITE("abi: misuse of every exported function") {

TEST_CASE("the header's Returns: clauses are complete and machine-readable; header and exports agree") {
    Header h = read_header();
    for (auto &p : h.problems) FAIL_CHECK(p);
    std::set<std::string> declared(h.declared.begin(), h.declared.end());
    CHECK(declared.size() == h.declared.size()); // each declared once
    std::set<std::string> exports = exported();
    REQUIRE_MESSAGE(!exports.empty(), "nm -D found no upop_ symbols in " UPOPMAIL_TEST_LIBRARY);
    for (auto &e : exports) CHECK_MESSAGE(declared.count(e), e << " is exported but not declared in upopmail.h");
    for (auto &d : declared) CHECK_MESSAGE(exports.count(d), d << " is declared in upopmail.h but not exported");
    // a few clauses, read as a person would
    CHECK(h.docs["upop_send"].pos_count);
    CHECK(h.docs["upop_list_mail"].nonneg_count);
    CHECK(h.docs["upop_get_mail"].codes.count(3));
    CHECK(h.docs["upop_set_subject"].codes == std::set<int>{0, -2, -6, -10, -18});
}

TEST_CASE("every exported function, misused in every wrong state, returns only documented statuses") {
    Checker chk;
    for (auto &p : chk.header.problems) FAIL_CHECK(p);

    misuse_global(chk);

    ClosedPort closed;
    {
        // NULL handle: -10 for everything (and upop_last_error(NULL) names the function)
        misuse_handle(chk, nullptr, closed.conn(), true);
        for (auto &[name, statuses] : chk.seen)
            if (name != "upop_create" && name != "upop_registry_add_path")
                CHECK_MESSAGE(statuses == std::set<int>{UPOP_E_MISC}, name << " with a NULL handle");
    }
    {
        // a fresh handle: not logged on, nothing pending
        Handle h;
        misuse_handle(chk, h, closed.conn(), true);
    }
    {
        // a cancellation pending before every call, and a failed logon before that
        Handle h;
        CHECK(upop_connect(h, UPOP_SMTP, closed.conn().c_str(), "", "") == UPOP_E_NETWORK);
        CHECK(upop_cancel(h) == UPOP_OK);
        misuse_handle(chk, h, closed.conn(), false);
    }
    {
        // logged on to a fake SMTP server (SendMail then uses the session)
        upop_fake::FakeServer srv([](upop_fake::FakeConn &c) {
            c.send("220 fake ESMTP\r\n");
            upop_fake::serve_smtp(c, upop_fake::SmtpOpts{});
        }, std::chrono::seconds(120));
        Handle h;
        REQUIRE(upop_connect(h, UPOP_SMTP, srv.conn().c_str(), "", "") == UPOP_OK);
        misuse_handle(chk, h, closed.conn(), false); // the fake takes one connection only
        upop_disconnect(h, UPOP_SMTP);
        srv.join();
    }
    {
        // logged on to a fake POP3 mailbox: every receiving call with tiny buffers
        PopMailbox mb({"From: a@example.test\r\nSubject: \xE2\x82\xAC\xF0\x9D\x84\x9E\r\n\r\n\xF0\x9D\x84\x9E body\r\n"});
        misuse_handle(chk, mb.h, closed.conn(), false);
    }

    // every exported function was called
    for (auto &e : exported()) CHECK_MESSAGE(chk.covered.count(e), e << " is exported but this test never calls it");
    std::string seen;
    for (auto &[name, statuses] : chk.seen) {
        seen += "\n  " + name + ":";
        for (int st : statuses) seen += " " + std::to_string(st);
    }
    MESSAGE(chk.calls << " calls checked; the statuses seen:" << seen);
}

} // TEST_SUITE
