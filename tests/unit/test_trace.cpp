// The trace file named by UPOPMAIL_TRACE: created for the user alone, never through a symbolic
// link.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "trace/trace.hpp"

using upopmail::trace::Tracer;
namespace fs = std::filesystem;

namespace {
struct TraceEnv {
    std::string dir;
    TraceEnv()
    {
        char tmpl[] = "/tmp/upop-trace.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
    }
    ~TraceEnv()
    {
        ::unsetenv("UPOPMAIL_TRACE");
        fs::remove_all(dir);
    }
    std::string read(const std::string &p) const
    {
        std::ifstream f(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(f), {});
    }
};
} // namespace

TEST_CASE("the UPOPMAIL_TRACE file is created with mode 0600 and appended to")
{
    TraceEnv t;
    std::string path = t.dir + "/trace.log";
    ::setenv("UPOPMAIL_TRACE", path.c_str(), 1);
    ::mode_t old_mask = ::umask(022);
    {
        Tracer tr;
        CHECK(tr.enabled());
        tr.event(UPOP_SMTP, "first");
    }
    ::umask(old_mask);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    {
        Tracer tr;
        tr.event(UPOP_POP, "second");
    }
    CHECK(t.read(path) == "SMTP * first\nPOP  * second\n");
}

TEST_CASE("the UPOPMAIL_TRACE file is never opened through a symbolic link")
{
    TraceEnv t;
    std::string target = t.dir + "/target", link = t.dir + "/link.log";
    std::ofstream(target) << "keep\n";
    fs::create_symlink(target, link);
    ::setenv("UPOPMAIL_TRACE", link.c_str(), 1);
    {
        Tracer tr;
        CHECK_FALSE(tr.enabled());
        tr.event(UPOP_SMTP, "evil");
    }
    CHECK(t.read(target) == "keep\n");
    // a dangling link does not create its target either
    fs::create_symlink(t.dir + "/nowhere", t.dir + "/dangling.log");
    ::setenv("UPOPMAIL_TRACE", (t.dir + "/dangling.log").c_str(), 1);
    {
        Tracer tr;
        tr.event(UPOP_SMTP, "evil");
    }
    CHECK_FALSE(fs::exists(t.dir + "/nowhere"));
}
