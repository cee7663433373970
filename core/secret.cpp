#include "secret.hpp"

#include <cstring>

namespace upopmail {

void wipe(void *p, size_t n) noexcept
{
    if (p && n) ::explicit_bzero(p, n);
}

void wipe(std::string &s) noexcept
{
    wipe(s.data(), s.capacity());
    s.clear();
}

} // namespace upopmail
