#include "net/text.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <cstring>

namespace upopmail::net {

bool is_ip_literal(std::string_view s, std::string *bin)
{
    if (s.empty() || s.size() > 100) return false;
    std::string t(s);
    unsigned char buf[16];
    if (t.find(':') == std::string::npos) {
        if (::inet_pton(AF_INET, t.c_str(), buf) != 1) return false;
        if (bin) bin->assign(reinterpret_cast<char *>(buf), 4);
        return true;
    }
    auto pct = t.find('%');
    if (pct != std::string::npos) {
        if (pct + 1 == t.size()) return false; // empty zone
        t.resize(pct);
    }
    if (::inet_pton(AF_INET6, t.c_str(), buf) != 1) return false;
    if (bin) bin->assign(reinterpret_cast<char *>(buf), 16);
    return true;
}

std::string host_port(const std::string &host, unsigned port)
{
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return h + "+" + std::to_string(port);
}

} // namespace upopmail::net
