// krb5.hpp -- what the Kerberos tests share: whether the servers run the test realm
// (tests/servers/tools/mkrealm.sh, MAILTEST_KRB5*), and credential caches filled by kinit
// (krb5-user) in the test's temporary directory.
#pragma once

#include "mailtest.hpp"

namespace mailtest {

inline bool krb5_available() {
    if (getenv_or("MAILTEST_KRB5") == "yes" && !getenv_or("KRB5_CONFIG").empty()) return true;
    MESSAGE("GSSAPI skipped: MAILTEST_KRB5 is '" << getenv_or("MAILTEST_KRB5")
                                                 << "', not 'yes' (install krb5-kdc, krb5-admin-server, krb5-user and "
                                                    "dovecot-gssapi, and restart the servers)");
    return false;
}

inline std::string shell_quote(const std::string &s) { return "'" + s + "'"; } // test paths hold no quote

// Runs a shell command, output discarded; its exit status.
inline int shell(const std::string &cmd) {
    int st = std::system((cmd + " >/dev/null 2>&1").c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// A fresh credential cache (FILE:) in this process's temp dir; with_ticket: kinit testuser with
// the test password into it (lifetime: kinit -l, e.g. "2s").
inline std::string ccache(const std::string &name, bool with_ticket, const std::string &lifetime = "") {
    std::string path = temp_dir() + "/" + name;
    std::error_code ec;
    fs::remove(path, ec);
    if (with_ticket) {
        std::string cmd = "printf '%s\\n' " + shell_quote(env().pass) + " | KRB5CCNAME=FILE:" + shell_quote(path) +
                          " kinit " + (lifetime.empty() ? "" : "-l " + lifetime + " ") + shell_quote(env().user);
        REQUIRE_MESSAGE(shell(cmd) == 0, "kinit " << env().user << " failed (is the test KDC running?)");
    }
    return "FILE:" + path;
}

inline std::string realm() { return getenv_or("MAILTEST_KRB5_REALM", "UPOPMAIL.TEST"); }

}  // namespace mailtest
