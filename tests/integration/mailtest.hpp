// mailtest.hpp -- what the real-server tests share: the servers' environment (written by
// tests/servers/start.sh into DIR/env.sh and exported by scripts/check), a TLS configuration
// trusting the test CA, a handle with a captured trace, and waiting for a delivered message.
// Public C ABI only.
#pragma once

#include <doctest/doctest.h>
#include <upopmail.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace mailtest {

namespace fs = std::filesystem;

inline std::string getenv_or(const char *name, const char *fallback = "") {
    const char *v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string(fallback);
}

// The running servers, from the environment. FAILs the calling test when the servers are not
// there: these tests are meant to run under scripts/check, never to pass silently without it.
struct Env {
    std::string dir, user, pass, addr, ca, maildir, strict_addr;
    std::string port_submission, port_submissions, port_strict_submission, port_bad_submission;
};

inline const Env &env() {
    static const Env e = [] {
        Env v;
        v.dir = getenv_or("MAILTEST_DIR");
        v.user = getenv_or("MAILTEST_USER", "testuser");
        v.pass = getenv_or("MAILTEST_PASS", "testpass");
        v.addr = getenv_or("MAILTEST_ADDR", "testuser@example.test");
        v.ca = getenv_or("MAILTEST_CA");
        v.maildir = getenv_or("MAILTEST_MAILDIR", (v.dir + "/mail/" + v.user + "/Maildir").c_str());
        v.strict_addr = getenv_or("MAILTEST_STRICT_ADDR", "127.0.0.2");
        v.port_submission = getenv_or("PORT_SUBMISSION", "24587");
        v.port_submissions = getenv_or("PORT_SUBMISSIONS", "24465");
        v.port_strict_submission = getenv_or("PORT_STRICT_SUBMISSION", "24588");
        v.port_bad_submission = getenv_or("PORT_BAD_SUBMISSION", "24589");
        return v;
    }();
    if (e.dir.empty())
        FAIL("MAILTEST_DIR is not set: these tests need the real mail servers. Run scripts/check "
             "(it starts them with tests/servers/start.sh and exports DIR/env.sh to the tests).");
    if (e.ca.empty() || !fs::exists(e.ca))
        FAIL("MAILTEST_CA (" << e.ca << ") does not exist: are the servers of " << e.dir
                             << " running? Run scripts/check.");
    return e;
}

// A private temporary directory for this test process, removed at exit.
inline const std::string &temp_dir() {
    struct Dir {
        std::string path;
        Dir() {
            char tmpl[] = "/tmp/upop-it.XXXXXX";
            if (mkdtemp(tmpl) != nullptr)
                path = tmpl;
        }
        ~Dir() {
            std::error_code ec;
            if (!path.empty())
                fs::remove_all(path, ec);
        }
    };
    static Dir d;
    REQUIRE_MESSAGE(!d.path.empty(), "cannot create a temporary directory under /tmp");
    return d.path;
}

inline std::string json_quote(const std::string &s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

// The TLS configuration whose default profile trusts only the test CA.
inline const std::string &tls_config() {
    static std::string path;
    if (path.empty()) {
        const std::string ca = json_quote(env().ca);
        std::string p = temp_dir() + "/tls.json";
        std::ofstream(p) << "{\"default\": {\"ca_certificate\": " << ca << "}}\n";
        path = p;
    }
    return path;
}

// Driver parameters for the test account (JSON form), optionally with extra "key": value text.
inline std::string credentials(const std::string &password, const std::string &extra = "") {
    std::string s = "{\"user\": " + json_quote(env().user) + ", \"password\": " + json_quote(password);
    if (!extra.empty())
        s += ", " + extra;
    return s + "}";
}
inline std::string credentials() { return credentials(env().pass); }

struct TraceLine {
    int server;
    char direction;
    std::string text;
};

// One component instance configured for the test servers, with its trace captured.
struct Handle {
    upop *h = nullptr;
    std::vector<TraceLine> trace;

    Handle() {
        const std::string &config = tls_config();  // FAILs the test first without the servers
        REQUIRE(upop_create(&h) == UPOP_OK);
        REQUIRE(h != nullptr);
        REQUIRE_MESSAGE(upop_set_option(h, "config", config.c_str()) == UPOP_OK, error());
        REQUIRE(upop_set_option(h, "timeout_ms", "20000") == UPOP_OK);
        REQUIRE(upop_set_trace(h, &Handle::on_trace, this) == UPOP_OK);
    }
    ~Handle() { upop_destroy(h); }
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    operator upop *() const { return h; }

    static void on_trace(void *user, int server, char direction, const char *line) {
        static_cast<Handle *>(user)->trace.push_back({server, direction, line ? line : ""});
    }
    std::string error() const { return upop_last_error(h); }
    std::string trace_text() const {
        std::string s;
        for (const auto &l : trace)
            s += std::string(1, l.direction) + " " + l.text + "\n";
        return s;
    }
    bool trace_has(char direction) const {
        for (const auto &l : trace)
            if (l.direction == direction)
                return true;
        return false;
    }
    // The runtime info of SMTP driver n (1-based); "" when there is none.
    std::string runtime_info(int n) {
        char props[UPOP_PROPERTIES_MAX] = "", rt[UPOP_RUNTIME_INFO_MAX] = "";
        if (upop_get_security(h, n, "SMTP=", props, sizeof props, rt, sizeof rt) != UPOP_OK)
            return "";
        return rt;
    }
    int reply_code() {
        int32_t code = 0;
        char msg[UPOP_REPLY_MAX] = "";
        upop_get_smtp_response(h, &code, msg, sizeof msg);
        return code;
    }
};

// A token unique across runs and tests, to find "our" message in the shared mailbox.
inline std::string unique_token(const char *tag) {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    std::ostringstream s;
    s << "upop-" << tag << "-" << getpid() << "-"
      << std::chrono::system_clock::now().time_since_epoch().count() << "-" << counter++ << "-"
      << std::hex << rd();
    return s.str();
}

inline std::string read_file(const fs::path &p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Polls the test mailbox (new/ and cur/) until `count` messages whose text holds token are
// there; returns their paths (fewer after timeout_s). Each file is read once (a maildir file
// appears in new/ only once it is complete; a move to cur/ is a new path).
inline std::vector<fs::path> wait_for_deliveries(const std::string &token, size_t count, int timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    std::map<fs::path, bool> seen;  // path -> holds token
    for (;;) {
        for (const char *sub : {"new", "cur"}) {
            std::error_code ec;
            for (fs::directory_iterator it(env().maildir + "/" + sub, ec), end; !ec && it != end;
                 it.increment(ec))
                if (!seen.count(it->path()) && it->is_regular_file(ec))
                    seen[it->path()] = read_file(it->path()).find(token) != std::string::npos;
        }
        std::vector<fs::path> ours;
        for (auto &kv : seen)
            if (kv.second && fs::exists(kv.first)) ours.push_back(kv.first);
        if (ours.size() >= count || std::chrono::steady_clock::now() >= deadline)
            return ours;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll interval, not a wait
    }
}

// The path of the first delivered message containing token, or "" after timeout_s.
inline std::string wait_for_delivery(const std::string &token, int timeout_s = 20) {
    auto found = wait_for_deliveries(token, 1, timeout_s);
    return found.empty() ? std::string() : found.front().string();
}

// A delivered message decoded with Python's email package (transfer encodings and RFC 2047
// undone, line endings normalised to \n).
struct Delivered {
    std::string path, raw, subject, from, to, body;
};

inline const char *kParseScript = R"PY(
import email, email.policy, json, sys
with open(sys.argv[1], 'rb') as f:
    m = email.message_from_binary_file(f, policy=email.policy.default)
part = m.get_body(preferencelist=('plain',)) if m.is_multipart() else m
body = part.get_content() if part is not None else ''
sys.stdout.write(json.dumps({'subject': str(m['subject'] or ''), 'from': str(m['from'] or ''),
                             'to': str(m['to'] or ''), 'body': body.replace('\r\n', '\n')}))
)PY";

// Minimal reader for the flat JSON object of string values that kParseScript prints.
inline std::string json_field(const std::string &json, const std::string &key) {
    const std::string k = "\"" + key + "\": \"";
    auto pos = json.find(k);
    if (pos == std::string::npos)
        return "";
    std::string out;
    for (pos += k.size(); pos < json.size() && json[pos] != '"'; ++pos) {
        char c = json[pos];
        if (c != '\\') {
            out += c;
            continue;
        }
        if (++pos >= json.size())
            break;
        switch (json[pos]) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
            unsigned cp = std::stoul(json.substr(pos + 1, 4), nullptr, 16);
            pos += 4;
            if (cp < 0x80) {
                out += static_cast<char>(cp);
            } else if (cp < 0x800) {
                out += static_cast<char>(0xC0 | (cp >> 6));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            } else {  // BMP only; surrogate pairs are not needed by these tests
                out += static_cast<char>(0xE0 | (cp >> 12));
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: out += json[pos];
        }
    }
    return out;
}

// Waits for the message containing token and decodes it; FAILs the test if it never arrives.
inline Delivered delivered(const std::string &token) {
    Delivered d;
    d.path = wait_for_delivery(token);
    if (d.path.empty())
        FAIL("no message containing " << token << " arrived in " << env().maildir
                                      << " within 20 s");
    d.raw = read_file(d.path);
    static std::string script;
    if (script.empty()) {
        std::string p = temp_dir() + "/parse_mail.py";
        std::ofstream(p) << kParseScript;
        script = p;
    }
    std::string cmd = "python3 '" + script + "' '" + d.path + "'";
    FILE *pipe = popen(cmd.c_str(), "r");
    REQUIRE_MESSAGE(pipe != nullptr, "cannot run python3");
    std::string json;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0)
        json.append(buf, n);
    int status = pclose(pipe);
    REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0),
                    "python3 could not parse " << d.path);
    d.subject = json_field(json, "subject");
    d.from = json_field(json, "from");
    d.to = json_field(json, "to");
    d.body = json_field(json, "body");
    return d;
}

// Composes and sends a simple message on an open SMTP session; returns upop_send's status.
inline int send_message(Handle &h, const std::string &subject, const std::string &body) {
    REQUIRE(upop_set_from(h, env().addr.c_str()) == UPOP_OK);
    REQUIRE(upop_set_to_list(h, env().addr.c_str()) == UPOP_OK);
    REQUIRE(upop_set_subject(h, subject.c_str()) == UPOP_OK);
    REQUIRE(upop_set_message(h, body.c_str(), "") == UPOP_OK);
    return upop_send(h, "");
}

inline std::string lower(std::string s) {
    for (auto &c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Connection strings for the test servers.
inline std::string submission() { return "localhost+" + env().port_submission; }
inline std::string submissions() { return "TLS:localhost+" + env().port_submissions; }
inline std::string strict_submission() {
    return env().strict_addr + "+" + env().port_strict_submission;
}
inline std::string badcert_submission() { return "localhost+" + env().port_bad_submission; }
// Postfix's submission-style port: STARTTLS mandatory, AUTH after it.
inline std::string postfix_submission() { return "localhost+" + getenv_or("PORT_PF_SUBMISSION", "24525"); }
inline std::string pop_plain() { return "localhost+" + getenv_or("PORT_POP3", "24110"); }

// LogonSMTP to Dovecot submission with STARTTLS + AUTH PLAIN (the test account).
inline void logon_submission(Handle &h) {
    REQUIRE(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK);
    REQUIRE(upop_set_security(h, "SMTP=AUTH PLAIN", credentials().c_str()) == UPOP_OK);
    REQUIRE_MESSAGE(upop_connect(h, UPOP_SMTP, submission().c_str(), "", "") == UPOP_OK, h.error());
}

// LogonMail to Dovecot's plain POP3 port with STLS, then USER/PASS (the test account).
inline void logon_pop(Handle &h) {
    REQUIRE(upop_set_security(h, "POP=STARTTLS", "") == UPOP_OK);
    REQUIRE_MESSAGE(upop_connect(h, UPOP_POP, pop_plain().c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK,
                    h.error());
}

// STARTTLS/STLS, then the security driver with params, on Dovecot's submission or POP3 port
// (plain, STARTTLS/STLS offered); returns upop_connect's status.
inline int starttls_logon(Handle &h, int server, const std::string &driver, const std::string &params) {
    std::string s = server == UPOP_POP ? "POP" : "SMTP";
    std::string conn = server == UPOP_POP ? "localhost+" + getenv_or("PORT_POP3", "24110") : submission();
    REQUIRE(upop_set_security(h, (s + "=STARTTLS").c_str(), "") == UPOP_OK);
    REQUIRE_MESSAGE(upop_set_security(h, (s + "=" + driver).c_str(), params.c_str()) == UPOP_OK, h.error());
    return upop_connect(h, server, conn.c_str(), "", "");
}

// STARTTLS + AUTH PLAIN (the test account) on the SMTP server at conn; the logon must succeed.
inline void smtp_logon(Handle &h, const std::string &conn) {
    REQUIRE(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK);
    REQUIRE(upop_set_security(h, "SMTP=AUTH PLAIN", credentials().c_str()) == UPOP_OK);
    REQUIRE_MESSAGE(upop_connect(h, UPOP_SMTP, conn.c_str(), "", "") == UPOP_OK, h.error());
}

// A field of /proc/self/status in KiB: VmRSS (resident now) or VmHWM (the peak resident set of
// this process image). Not getrusage's ru_maxrss: that keeps, across exec, the peak of the image
// before it, which for a child forked from this test process is the test process's own size.
inline long status_kib(const char *field) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
    return -1;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;  // memory figures mean little under ASan
#else
constexpr bool kAsan = false;
#endif

}  // namespace mailtest
