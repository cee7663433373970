#include "security/secret.hpp"

namespace upopmail::security {

void wipe(std::string &s) noexcept
{
    volatile char *p = s.data();
    for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
    s.clear();
}

} // namespace upopmail::security
