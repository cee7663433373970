// The library in a set-uid-root program run by an unprivileged user (ctest: setuid).
//
// Run as root, this program copies itself into a fresh directory, makes the copy set-uid root
// (mode 4755) and runs it as nobody (setpriv). The copy loads the library the way a careless
// program does, dlopen("./libupopmail.so.1") from the library's folder, and shows that the caller
// cannot steer it through the environment or the current directory:
//   (a) UPOPMAIL_TRACE names a file: none is created;
//   (b) UPOPMAIL_DRIVER_PATH names a folder with a planted plugin: it is not listed, not loaded;
//   (c) UPOPMAIL_CONFIG names a broken configuration: it is not read;
//   (d) after a chdir into a folder holding a planted upopmail/drivers/ that claims AUTH PLAIN,
//       asking for AUTH PLAIN does not load it.
// A control run of the same checks without set-uid shows that (a)-(c) are honoured there, so
// the set-uid run cannot pass by accident. Not root: prints why and exits 77 (ctest SKIP).
// Works in the ASan build too (the sanitizer runtime runs in a set-uid program; it only has to
// be found in the system library directory, which it is).
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "upopmail.h"

namespace fs = std::filesystem;

namespace {

const std::string kLibDir = UPOPMAIL_TEST_LIBRARY_DIR;
const std::string kLibName = UPOPMAIL_TEST_LIBRARY_NAME;
// tests/plugins: a folder holding upopmail/drivers/{upopt_planted.json, libupopt_planted.so}
const std::string kPlantedRoot = std::string(UPOPMAIL_TEST_PLUGIN_DIR) + "/planted";
const std::string kPlantedDrivers = kPlantedRoot + "/upopmail/drivers";
constexpr int kSkip = 77;

int failures = 0;

void check(bool ok, const std::string &what)
{
    std::printf("%s %s\n", ok ? "ok:    " : "FAILED:", what.c_str());
    if (!ok) ++failures;
}

struct Api {
    int (*create)(upop **);
    void (*destroy)(upop *);
    int (*set_security)(upop *, const char *, const char *);
    int (*connect)(upop *, int, const char *, const char *, const char *);
    const char *(*last_error)(const upop *);
    char *(*drivers_json)();
    void (*free)(void *);
};

template <class F> void resolve(void *lib, const char *name, F &fn)
{
    fn = reinterpret_cast<F>(::dlsym(lib, name));
    if (!fn) {
        std::printf("FAILED: %s not found in the library\n", name);
        std::exit(1);
    }
}

// dlopen("./libupopmail.so.1") with the library's folder as the current directory.
Api load_by_relative_path()
{
    if (::chdir(kLibDir.c_str()) != 0) std::perror(kLibDir.c_str()), std::exit(1);
    void *lib = ::dlopen(("./" + kLibName).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) std::printf("FAILED: dlopen: %s\n", ::dlerror()), std::exit(1);
    Api a{};
    resolve(lib, "upop_create", a.create);
    resolve(lib, "upop_destroy", a.destroy);
    resolve(lib, "upop_set_security", a.set_security);
    resolve(lib, "upop_connect", a.connect);
    resolve(lib, "upop_last_error", a.last_error);
    resolve(lib, "upop_drivers_json", a.drivers_json);
    resolve(lib, "upop_free", a.free);
    return a;
}

// A loopback port nobody listens on (bound, then closed).
int closed_port()
{
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr *>(&a), &n) != 0)
        std::perror("loopback socket"), std::exit(1);
    ::close(s);
    return ntohs(a.sin_port);
}

struct Outcome {
    int security = 0;
    std::string json, connect_error;
};

// What the library does for a caller: a handle, AUTH PLAIN looked up (loads its plugin), a
// connection attempt (traced; reads the TLS configuration), the registry's listing.
Outcome exercise(const Api &api)
{
    Outcome o;
    upop *h = nullptr;
    if (api.create(&h) != UPOP_OK) std::printf("FAILED: upop_create\n"), std::exit(1);
    o.security = api.set_security(h, "SMTP=AUTH PLAIN", "user=u;password=p");
    std::string conn = "127.0.0.1+" + std::to_string(closed_port());
    api.connect(h, UPOP_SMTP, conn.c_str(), "", "");
    o.connect_error = api.last_error(h);
    api.destroy(h);
    char *j = api.drivers_json();
    o.json = j ? j : "";
    api.free(j);
    return o;
}

// Child: (a)-(c), expecting the variables ignored (secure) or honoured (control).
int child_env(bool secure, const std::string &work)
{
    Api api = load_by_relative_path();
    if (::chdir(work.c_str()) != 0) return 1;
    Outcome o = exercise(api);
    const char *how = secure ? "ignored in a set-uid program" : "honoured without set-uid (control)";
    check(o.security == UPOP_OK, "AUTH PLAIN is found (" + std::to_string(o.security) + ")");
    check(fs::exists(work + "/trace.log") != secure, std::string("(a) UPOPMAIL_TRACE is ") + how);
    check((o.json.find(kPlantedDrivers) != std::string::npos) != secure,
          std::string("(b) UPOPMAIL_DRIVER_PATH is ") + how + " (upop_drivers_json)");
    check(fs::exists(work + "/marker") != secure,
          std::string("(b) the plugin planted in UPOPMAIL_DRIVER_PATH ") + (secure ? "never runs" : "runs"));
    check((o.connect_error.find("TLS configuration") != std::string::npos) != secure,
          std::string("(c) UPOPMAIL_CONFIG is ") + how + ": " + o.connect_error);
    return failures ? 1 : 0;
}

// Child: (d), library loaded by a relative path, then a chdir into the planted folder.
int child_cwd(const std::string &work)
{
    Api api = load_by_relative_path();
    if (::chdir(kPlantedRoot.c_str()) != 0) return 1;
    Outcome o = exercise(api);
    check(o.security == UPOP_OK, "AUTH PLAIN is found (" + std::to_string(o.security) + ")");
    check(!fs::exists(work + "/marker"), "(d) the plugin planted under the current directory never runs");
    check(o.json.find(kPlantedRoot + "/") == std::string::npos,
          "(d) upop_drivers_json lists nothing under the current directory");
    return failures ? 1 : 0;
}

// Runs argv with the environment variables env set (and every UPOPMAIL_* of ours unset first).
int run(const std::vector<std::string> &argv, const std::vector<std::pair<std::string, std::string>> &env)
{
    std::fflush(stdout);
    pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        for (auto v : {"UPOPMAIL_TRACE", "UPOPMAIL_DRIVER_PATH", "UPOPMAIL_CONFIG", "UPOPT_PLANTED_MARKER"})
            ::unsetenv(v);
        for (auto &[k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
        std::vector<char *> args;
        for (auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        std::perror(args[0]);
        ::_exit(127);
    }
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string make_dir(const std::string &parent, const char *name)
{
    std::string tmpl = parent + "/" + name + ".XXXXXX";
    if (!::mkdtemp(tmpl.data()) || ::chmod(tmpl.c_str(), 0755) != 0) std::perror("mkdtemp"), std::exit(1);
    return tmpl;
}

int parent()
{
    if (::geteuid() != 0) {
        std::printf("skipped: a set-uid-root copy can only be made by root (CI runs this as root)\n");
        return kSkip;
    }
    if (::access("/usr/bin/setpriv", X_OK) != 0) {
        std::printf("skipped: setpriv (util-linux) is needed to run the copy as nobody\n");
        return kSkip;
    }
    // Everything below /tmp/upop-setuid.XXXXXX, readable by all (nobody must reach the copy).
    std::string top = make_dir("/tmp", "upop-setuid");
    std::string copy = top + "/setuid_test";
    std::error_code ec;
    fs::copy_file("/proc/self/exe", copy, ec);
    if (ec || ::chown(copy.c_str(), 0, 0) != 0 || ::chmod(copy.c_str(), 04755) != 0) {
        std::printf("FAILED: cannot install the set-uid copy %s: %s\n", copy.c_str(), ec.message().c_str());
        fs::remove_all(top);
        return 1;
    }
    auto env_for = [&](const std::string &work) {
        std::ofstream(work + "/config.json") << "this is not a TLS configuration";
        return std::vector<std::pair<std::string, std::string>>{
            {"UPOPMAIL_TRACE", work + "/trace.log"},
            {"UPOPMAIL_DRIVER_PATH", kPlantedDrivers},
            {"UPOPMAIL_CONFIG", work + "/config.json"},
            {"UPOPT_PLANTED_MARKER", work + "/marker"},
        };
    };
    const std::vector<std::string> as_nobody = {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                                                "--clear-groups", "--"};
    int rc = 0;
    std::printf("== control: the same program without set-uid, run by root\n");
    std::string w = make_dir(top, "control");
    rc |= run({copy, "env-control", w}, env_for(w));
    std::printf("== set-uid root, run by nobody: environment\n");
    w = make_dir(top, "env");
    auto args = as_nobody;
    args.insert(args.end(), {copy, "env-secure", w});
    rc |= run(args, env_for(w));
    check(!fs::exists(w + "/trace.log") && !fs::exists(w + "/marker"), "(a)(b) nothing was created (seen from outside)");
    std::printf("== set-uid root, run by nobody: current directory\n");
    w = make_dir(top, "cwd");
    args = as_nobody;
    args.insert(args.end(), {copy, "cwd", w});
    rc |= run(args, {{"UPOPT_PLANTED_MARKER", w + "/marker"}});
    fs::remove_all(top, ec);
    return rc || failures ? 1 : 0;
}

} // namespace

int main(int argc, char **argv)
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::string mode = argc > 2 ? argv[1] : "";
    if (mode == "env-secure") return child_env(true, argv[2]);
    if (mode == "env-control") return child_env(false, argv[2]);
    if (mode == "cwd") return child_cwd(argv[2]);
    return parent();
}
