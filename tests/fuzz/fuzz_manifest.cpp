// Driver manifests (files anyone who can write a driver directory controls): any text gives a
// manifest of a plain library file name and at least one named driver, or an upopmail::Error.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "error.hpp"
#include "security/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view text(reinterpret_cast<const char *>(data), size);
    try {
        auto m = upopmail::security::parse_manifest(text);
        if (m.library.empty() || m.library.find('/') != std::string::npos || m.drivers.empty()) std::abort();
        for (auto &d : m.drivers)
            if (d.name.empty()) std::abort();
    } catch (const upopmail::Error &) {
    }
    return 0;
}
