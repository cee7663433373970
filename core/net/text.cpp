#include "net/text.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <cstring>

namespace upopmail::net {

std::string quote(std::string_view s, size_t max)
{
    std::string out = "'";
    size_t n = 0;
    for (unsigned char c : s) {
        if (n++ == max) {
            out += "...";
            break;
        }
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7F) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02X", c);
            out += b;
        } else out += static_cast<char>(c); // UTF-8 kept as it is
    }
    out += '\'';
    return out;
}

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
