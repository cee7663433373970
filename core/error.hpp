// upopmail::Error — the one exception type of the core: a status code of the C ABI and a sentence.
// Only c_api.cpp catches it (and everything else) and turns it into a status + upop_last_error.
#pragma once
#include <stdexcept>
#include <string>

// NOTE: the C++ namespace is `upopmail`, not `upop`: the C ABI's handle type is `struct upop`
// (API.md), and a namespace and a struct of the same name cannot both live in the global scope.
namespace upopmail {

// Internal status of a server that broke the protocol (malformed or oversized reply). It never
// reaches the C ABI: the component maps it to -8 at logon ("the security context could not be
// established") and to -9 elsewhere (the connection is closed).
constexpr int kProtocolError = -1000;

class Error : public std::runtime_error {
public:
    Error(int status, std::string sentence) : std::runtime_error(std::move(sentence)), status_(status) {}
    int status() const noexcept { return status_; }

private:
    int status_;
};

} // namespace upopmail
