// upop_retrieve against real Dovecot (issue 11, "What it must show" 2): 5,000 messages written
// straight into the maildir arrive intact, un-stuffed, with CRLF line ends, pipelined; one 250 MB
// message arrives intact (byte count and checksum) with the peak RSS of the retrieving process
// under 32 MiB, measured in a process of its own (this executable run again, for one test case
// only, so that no earlier test's peak counts; VmHWM of that process image). The messages are removed from the maildir at the
// end, whatever happened, so that the other tests that scan the maildir are not slowed.
#include "mailtest.hpp"

#include <sys/wait.h>

#include <cstring>
#include <map>

using namespace mailtest;

namespace {

std::string pop_tls() { return "TLS:localhost+" + getenv_or("PORT_POP3S", "24995"); }

void logon(Handle &h) {
    REQUIRE_MESSAGE(upop_connect(h, UPOP_POP, pop_tls().c_str(), env().user.c_str(), env().pass.c_str()) == UPOP_OK,
                    h.error());
}

// A POP3 logon makes Dovecot create the maildir of a fresh server directory.
void ensure_maildir() {
    struct stat st {};
    if (::stat((env().maildir + "/new").c_str(), &st) == 0) return;
    Handle h;
    logon(h);
    CHECK(upop_disconnect(h, UPOP_POP) == UPOP_OK);
}

// The maildir files whose names carry tag, removed at the end of the scope (new/ and cur/: Dovecot
// moves and renames them "name:2,flags").
struct Injected {
    std::string tag;
    explicit Injected(std::string t) : tag(std::move(t)) { ensure_maildir(); }
    ~Injected() {
        for (const char *sub : {"new", "cur", "tmp"}) {
            std::error_code ec;
            for (fs::directory_iterator it(env().maildir + "/" + sub, ec), end; !ec && it != end; it.increment(ec))
                if (it->path().filename().string().find(tag) != std::string::npos) fs::remove(it->path(), ec);
        }
    }
    // Writes one message through tmp/ into new/, owned like the maildir; write(FILE*) fills it.
    template <class W> void add(int n, W &&write) {
        const std::string &md = env().maildir;
        struct stat st {};
        REQUIRE_MESSAGE(::stat((md + "/new").c_str(), &st) == 0, md << "/new does not exist");
        std::string name = std::to_string(std::time(nullptr)) + ".P" + std::to_string(getpid()) + "Q" +
                           std::to_string(n) + "." + tag;
        std::string tmp = md + "/tmp/" + name;
        FILE *f = std::fopen(tmp.c_str(), "wb");
        REQUIRE(f != nullptr);
        write(f);
        REQUIRE(std::fclose(f) == 0);
        if (::geteuid() == 0) REQUIRE(::chown(tmp.c_str(), st.st_uid, st.st_gid) == 0);
        ::chmod(tmp.c_str(), 0600);
        REQUIRE(::rename(tmp.c_str(), (md + "/new/" + name).c_str()) == 0);
    }
};

// Message i of the 5,000: LF line ends in the file (as a delivery agent may store them), lines
// that POP3 must stuff, a NUL-free body of a few hundred bytes.
std::string small_message(const std::string &token, int i, const char *eol) {
    std::string m;
    auto line = [&](const std::string &l) { m += l + eol; };
    line("From: Sender <sender@example.test>");
    line("To: testuser@example.test");
    line("Subject: " + token + " #" + std::to_string(i));
    line("Message-ID: <" + std::to_string(i) + "." + token + "@example.test>");
    line("");
    line("message " + std::to_string(i) + " of the retrieve test");
    line(".a line that POP3 stuffs");
    line(".");
    line("..");
    for (int k = 0; k < 4 + i % 7; ++k) line(std::string(60, static_cast<char>('a' + (i + k) % 26)));
    return m;
}

// FNV-1a, 64 bits.
struct Fnv {
    uint64_t h = 1469598103934665603ull;
    void add(const char *p, size_t n) {
        for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
    }
};

// Line k of the big message (without its line end): 78 characters, some starting with '.'.
void big_line(uint64_t k, char *out) {
    uint64_t x = k * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < 78; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        out[i] = static_cast<char>('!' + x % 94);
    }
    if (k % 97 == 0) out[0] = '.'; // stuffed on the wire
}
constexpr uint64_t kBigLines = 3125000; // 80 bytes per line with CRLF: 250,000,000 bytes
constexpr uint64_t kBigBytes = kBigLines * 80;

// The message numbers whose header (TOP n 0) contains token.
std::vector<int32_t> find_by_header(Handle &h, const std::string &token) {
    struct Scan {
        std::string token;
        std::map<int32_t, std::string> head;
        static int cb(void *u, int32_t nr, const char *d, size_t n, int) {
            static_cast<Scan *>(u)->head[nr].append(d, n);
            return 0;
        }
    } scan{token, {}};
    int rc = upop_retrieve(h, nullptr, 0, UPOP_RETRIEVE_HEADERS, &Scan::cb, &scan);
    REQUIRE_MESSAGE(rc == UPOP_OK, h.error());
    std::vector<int32_t> out;
    for (auto &[nr, head] : scan.head)
        if (head.find(token) != std::string::npos) out.push_back(nr);
    return out;
}


double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

TEST_CASE("upop_retrieve: 5,000 messages from Dovecot, pipelined, un-stuffed, intact") {
    const int kCount = 5000;
    std::string token = unique_token("retrieve5k");
    Injected files(token);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCount; ++i) {
        std::string m = small_message(token, i, "\n");
        files.add(i, [&](FILE *f) { std::fwrite(m.data(), 1, m.size(), f); });
    }
    double t_inject = seconds_since(t0);

    Handle h;
    logon(h);
    struct Check {
        std::string token, cur;
        std::map<int, std::string> got; // by the #i of the subject
        int32_t cur_nr = 0;
        size_t others = 0, chunk_calls = 0;
        bool interleaved = false;
        static int cb(void *u, int32_t nr, const char *d, size_t n, int end) {
            auto *c = static_cast<Check *>(u);
            if (c->cur_nr && nr != c->cur_nr) c->interleaved = true;
            c->cur_nr = nr;
            if (!end) {
                ++c->chunk_calls;
                c->cur.append(d, n);
                return 0;
            }
            auto at = c->cur.find("Subject: " + c->token + " #");
            if (at == std::string::npos) ++c->others;
            else c->got[std::atoi(c->cur.c_str() + at + 10 + c->token.size() + 1)] = c->cur;
            c->cur.clear();
            c->cur_nr = 0;
            return 0;
        }
    } check;
    check.token = token;
    auto t1 = std::chrono::steady_clock::now();
    int rc = upop_retrieve(h, nullptr, 0, 0, &Check::cb, &check);
    double t_retrieve = seconds_since(t1);
    REQUIRE_MESSAGE(rc == UPOP_OK, h.error());
    CHECK_FALSE(check.interleaved);
    CHECK(check.got.size() == static_cast<size_t>(kCount));
    int wrong = 0;
    for (int i = 0; i < kCount; ++i)
        if (check.got[i] != small_message(token, i, "\r\n")) ++wrong;
    CHECK_MESSAGE(wrong == 0, wrong << " messages differ from what was written (CRLF, un-stuffed)");
    // the commands went out pipelined (Dovecot offers PIPELINING): one LIST, no LIST n
    size_t list_n = 0;
    for (auto &l : h.trace)
        if (l.direction == '>' && l.text.rfind("LIST ", 0) == 0) ++list_n;
    CHECK(list_n == 0);
    CHECK(upop_disconnect(h, UPOP_POP) == UPOP_OK);
    MESSAGE("5,000 messages: written in " << t_inject << " s; upop_retrieve (logged on, TLS) in " << t_retrieve
                                          << " s, " << check.chunk_calls << " chunk calls, " << check.others
                                          << " other messages of the mailbox");
}

// The child of the next test: this executable run again with UPOP_RETRIEVE_RSS_CHILD=<msg nr> and
// UPOP_RETRIEVE_RSS_OUT=<file>, for this test case only. It retrieves the message, and writes
// "bytes checksum peak_rss_kib seconds rss_before_kib" into the file (rss_before: logged on, before
// the retrieval). Without the variable it does nothing.
TEST_CASE("upop_retrieve child: one large message, its checksum and the peak RSS of this process") {
    const char *nr_s = std::getenv("UPOP_RETRIEVE_RSS_CHILD");
    const char *out = std::getenv("UPOP_RETRIEVE_RSS_OUT");
    if (!nr_s || !out) return;
    const int32_t nr = std::atoi(nr_s);
    Handle h;
    REQUIRE(upop_set_trace(h, nullptr, nullptr) == UPOP_OK); // the trace is kept in memory
    logon(h);
    const long before = status_kib("VmRSS:");
    struct Sum {
        Fnv fnv;
        uint64_t bytes = 0;
        int ends = 0;
        static int cb(void *u, int32_t, const char *d, size_t n, int end) {
            auto *s = static_cast<Sum *>(u);
            s->fnv.add(d, n);
            s->bytes += n;
            s->ends += end;
            return 0;
        }
    } sum;
    auto t0 = std::chrono::steady_clock::now();
    int rc = upop_retrieve(h, &nr, 1, 0, &Sum::cb, &sum);
    double took = seconds_since(t0);
    REQUIRE_MESSAGE(rc == UPOP_OK, upop_last_error(h));
    CHECK(sum.ends == 1);
    CHECK(upop_disconnect(h, UPOP_POP) == UPOP_OK);
    std::ofstream(out) << sum.bytes << " " << sum.fnv.h << " " << status_kib("VmHWM:") << " " << took << " "
                       << before << "\n";
}

TEST_CASE("upop_retrieve: one 250 MB message from Dovecot arrives intact with a peak RSS under 32 MiB") {
    std::string token = unique_token("retrieve250m");
    Injected files(token);
    Fnv want; // of the message as POP3 hands it out: CRLF line ends, un-stuffed
    uint64_t want_bytes = 0;
    auto t0 = std::chrono::steady_clock::now();
    files.add(0, [&](FILE *f) {
        std::string head = "From: Sender <sender@example.test>\nTo: testuser@example.test\nSubject: " + token +
                           "\nMessage-ID: <" + token + "@example.test>\n";
        // the header lines count in the 250,000,000 bytes: the body has that many lines fewer
        std::string head_crlf;
        for (char c : head) head_crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
        head_crlf += "\r\n";
        std::fwrite(head.data(), 1, head.size(), f);
        std::fputc('\n', f);
        want.add(head_crlf.data(), head_crlf.size());
        want_bytes += head_crlf.size();
        std::vector<char> block;
        char line[80];
        for (uint64_t k = 0; k < kBigLines; ++k) {
            big_line(k, line);
            block.insert(block.end(), line, line + 78);
            block.push_back('\n');
            line[78] = '\r', line[79] = '\n';
            want.add(line, 80);
            want_bytes += 80;
            if (block.size() >= (1u << 20)) {
                std::fwrite(block.data(), 1, block.size(), f);
                block.clear();
            }
        }
        std::fwrite(block.data(), 1, block.size(), f);
    });
    double t_write = seconds_since(t0);
    REQUIRE(want_bytes > kBigBytes);

    int32_t nr = 0;
    {
        Handle h;
        logon(h);
        auto found = find_by_header(h, token);
        REQUIRE(found.size() == 1);
        nr = found[0];
        CHECK(upop_disconnect(h, UPOP_POP) == UPOP_OK);
    }

    // the child: this executable again, for the child test case only
    std::string out = temp_dir() + "/rss-" + token;
    auto t1 = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::setenv("UPOP_RETRIEVE_RSS_CHILD", std::to_string(nr).c_str(), 1);
        ::setenv("UPOP_RETRIEVE_RSS_OUT", out.c_str(), 1);
        if (kAsan) { // ASan's quarantine keeps freed memory resident: without it, what the library holds
            std::string opts = getenv_or("ASAN_OPTIONS");
            ::setenv("ASAN_OPTIONS", (opts + (opts.empty() ? "" : ":") + "quarantine_size_mb=0").c_str(), 1);
        }
        ::execl("/proc/self/exe", "upop_integration", "--test-case=upop_retrieve child*", "--no-version",
                static_cast<char *>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    double t_child = seconds_since(t1);
    REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), "the child failed: status " << status);
    std::ifstream in(out);
    uint64_t bytes = 0, fnv = 0;
    long rss_kib = 0, before_kib = 0;
    double took = 0;
    in >> bytes >> fnv >> rss_kib >> took >> before_kib;
    REQUIRE(in);
    CHECK(bytes == want_bytes);
    CHECK(fnv == want.h);
    if (!kAsan) {
        CHECK_MESSAGE(rss_kib < 32 * 1024, "peak RSS " << rss_kib << " KiB");
    } else {
        // under ASan the runtime alone is ~30 MiB resident (shadow memory, allocator metadata):
        // what the retrieval added to the process is checked instead
        CHECK_MESSAGE(rss_kib - before_kib < 32 * 1024,
                      "peak RSS " << rss_kib << " KiB, " << before_kib << " KiB before the retrieval (ASan)");
    }
    MESSAGE("250 MB message (" << want_bytes << " bytes as POP3 hands it out): written in " << t_write
                               << " s; the child process took " << t_child << " s, upop_retrieve " << took
                               << " s (" << (want_bytes / took / 1e6) << " MB/s), peak RSS " << rss_kib << " KiB ("
                               << before_kib << " KiB before the retrieval" << std::string(kAsan ? ", ASan" : "") << ")");
}
