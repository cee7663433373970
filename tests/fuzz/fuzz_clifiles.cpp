// The CLI's readers of its own files (samples/cli/cli_files.c): the profile file and ~/.netrc.
// Input: the first byte picks the profile name ("default"/"work"), the protocol (smtp/pop), the
// netrc host and whether a user is asked for; the rest is the file, fed to both readers.
// Invariants (a violation aborts): the profile reader returns 0 or -1; -1 leaves no value and an
// error "LINE: sentence" of printable characters; 0 gives values that are pieces of the file,
// without line ends or surrounding blanks, and only when the section was found. The netrc
// reader returns 0 or 1; 1 gives a password, and a login that is the user asked for (if any).
#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_check.hpp"

extern "C" {
#include "cli_files.h"
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const unsigned sel = data[0];
    std::string text(reinterpret_cast<const char *>(data) + 1, size - 1);

    cli_profile p;
    char err[300];
    std::memset(err, 'X', sizeof err);
    err[0] = 0;
    int rc = cli_profile_parse(text.data(), text.size(), (sel & 1) ? "work" : "default", (sel & 2) ? "pop" : "smtp",
                               &p, err, sizeof err);
    FUZZ_REQUIRE(rc == 0 || rc == -1);
    if (rc == -1) {
        for (int i = 0; i < CLI_PROFILE_KEYS; ++i) FUZZ_REQUIRE(p.values[i] == nullptr);
        size_t n = strnlen(err, sizeof err);
        FUZZ_REQUIRE(n > 2 && n < sizeof err);
        FUZZ_REQUIRE(std::isdigit(static_cast<unsigned char>(err[0])));
        FUZZ_REQUIRE(std::strchr(err, ':') != nullptr);
        for (size_t i = 0; i < n; ++i) FUZZ_REQUIRE(err[i] >= 0x20 && err[i] != 0x7f);
    } else {
        for (int i = 0; i < CLI_PROFILE_KEYS; ++i) {
            const char *v = p.values[i];
            if (v == nullptr) continue;
            FUZZ_REQUIRE(p.found);
            std::string s(v);
            FUZZ_REQUIRE(s.find('\n') == std::string::npos);
            if (!s.empty()) {
                FUZZ_REQUIRE(text.find(s) != std::string::npos);
                FUZZ_REQUIRE(s.front() != ' ' && s.front() != '\t');
                FUZZ_REQUIRE(s.back() != ' ' && s.back() != '\t' && s.back() != '\r');
            }
        }
        cli_profile_free(&p);
    }

    cli_netrc n;
    const char *user = (sel & 8) ? "me" : nullptr;
    rc = cli_netrc_find(text.data(), text.size(), (sel & 4) ? "mail.example.org" : "localhost", user, &n);
    FUZZ_REQUIRE(rc == 0 || rc == 1);
    if (rc == 1) {
        FUZZ_REQUIRE(n.password != nullptr);
        FUZZ_REQUIRE(std::strlen(n.password) <= text.size());
        if (user && n.login) FUZZ_REQUIRE(std::strcmp(n.login, user) == 0);
        cli_netrc_free(&n);
    } else {
        FUZZ_REQUIRE(n.login == nullptr && n.password == nullptr);
    }
    return 0;
}
