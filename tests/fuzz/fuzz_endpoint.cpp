// Connection strings and TLS option strings (both typed by people, both from files): any text
// gives a value or an upopmail::Error.
#include <cstdint>
#include <string>

#include "error.hpp"
#include "net/endpoint.hpp"
#include "net/tls_profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string s(reinterpret_cast<const char *>(data), size);
    for (int server : {1, 2}) {
        try {
            (void)upopmail::net::parse_endpoint(s, server);
        } catch (const upopmail::Error &) {
        }
    }
    try {
        (void)upopmail::net::parse_profile_options(s, "fuzz");
    } catch (const upopmail::Error &) {
    }
    try {
        (void)upopmail::net::TlsConfig::from_json_text(s, "fuzz input");
    } catch (const upopmail::Error &) {
    }
    return 0;
}
