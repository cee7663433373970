#include "net/peer_check.hpp"

#include "net/text.hpp"

#include <arpa/inet.h>
#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>

#include <cctype>
#include <cstring>

namespace upopmail::net {
namespace {

struct Ids {
    std::vector<std::string> dns, ip, uri, email; // ip: raw 4/16 bytes
    std::vector<std::string> cn, subject_email;
};

std::string lower(std::string_view s)
{
    std::string r(s);
    for (auto &c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::string buf_str(const mbedtls_x509_buf &b)
{
    return std::string(reinterpret_cast<const char *>(b.p), b.len);
}

Ids collect(const mbedtls_x509_crt &crt)
{
    Ids ids;
    for (const mbedtls_x509_sequence *s = &crt.subject_alt_names; s; s = s->next) {
        if (!s->buf.p || (s->buf.tag & 0xC0) != MBEDTLS_ASN1_CONTEXT_SPECIFIC) continue;
        switch (s->buf.tag & 0x1F) {
        case 1: ids.email.push_back(buf_str(s->buf)); break;
        case 2: ids.dns.push_back(buf_str(s->buf)); break;
        case 6: ids.uri.push_back(buf_str(s->buf)); break;
        case 7: ids.ip.push_back(buf_str(s->buf)); break;
        default: break;
        }
    }
    for (const mbedtls_x509_name *n = &crt.subject; n; n = n->next) {
        if (!n->oid.p) continue;
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) ids.cn.push_back(buf_str(n->val));
        else if (MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS9_EMAIL, &n->oid) == 0)
            ids.subject_email.push_back(buf_str(n->val));
    }
    return ids;
}

std::string strip_dot(std::string s)
{
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

// "1.2.3.4" (trailing dot already stripped): every label digits only. Such a name is an IPv4
// address in disguise and is never covered by a wildcard ("*.0.0.1").
bool all_numeric(const std::string &name)
{
    bool digit_seen = false;
    for (char c : name) {
        if (c == '.') {
            if (!digit_seen) return false;
            digit_seen = false;
        } else if (c >= '0' && c <= '9') {
            digit_seen = true;
        } else {
            return false;
        }
    }
    return digit_seen;
}

// "a.b.c" matches "*.b.c": exactly one non-empty left-most label replaced.
bool wildcard_covers(const std::string &pattern, const std::string &name)
{
    if (pattern.size() < 3 || pattern.compare(0, 2, "*.") != 0) return false;
    if (all_numeric(name)) return false;
    std::string suffix = pattern.substr(1); // ".b.c"
    if (suffix.find('.', 1) == std::string::npos) return false; // "*.com" is too wide
    if (name.find('*') != std::string::npos) return false;
    if (name.size() <= suffix.size()) return false;
    if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
    std::string label = name.substr(0, name.size() - suffix.size());
    return !label.empty() && label.find('.') == std::string::npos;
}

bool dns_match(const std::string &expected_raw, const std::string &cert_raw)
{
    std::string e = strip_dot(lower(expected_raw)), c = strip_dot(lower(cert_raw));
    if (e.empty() || c.empty()) return false;
    // A NUL ("a.example\0.evil.example") or '%' (an encoding or an IPv6 zone) has no place in
    // a DNS name: such a certificate name matches nothing.
    if (c.find_first_of(std::string("\0%", 2)) != std::string::npos) return false;
    if (e == c) return true;
    return wildcard_covers(c, e) || wildcard_covers(e, c);
}

std::string canonical_ip(const std::string &bin)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (bin.size() == 16 && std::memcmp(bin.data(), mapped, 12) == 0) return bin.substr(12);
    return bin;
}

bool matches(const Ids &ids, const PeerName &n)
{
    bool no_san = ids.dns.empty() && ids.ip.empty() && ids.uri.empty();
    switch (n.type) {
    case PeerName::DNS:
        for (auto &d : ids.dns)
            if (dns_match(n.name, d)) return true;
        if (no_san)
            for (auto &cn : ids.cn)
                if (dns_match(n.name, cn)) return true;
        return false;
    case PeerName::IP: {
        std::string want;
        std::string name = n.name;
        if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
        if (!is_ip_literal(name, &want)) return false;
        want = canonical_ip(want);
        // Only iPAddress entries: the CN is never read as an address (RFC 6125 §6.2.1 has no
        // CN fallback for IP-IDs, and "127.0.0.1\0.evil.example" must not pass as one).
        for (auto &ip : ids.ip)
            if ((ip.size() == 4 || ip.size() == 16) && canonical_ip(ip) == want) return true;
        return false;
    }
    case PeerName::URI:
        for (auto &u : ids.uri)
            if (lower(u) == lower(n.name)) return true;
        return false;
    case PeerName::Email:
        for (auto &m : ids.email)
            if (lower(m) == lower(n.name)) return true;
        for (auto &m : ids.subject_email)
            if (lower(m) == lower(n.name)) return true;
        return false;
    }
    return false;
}

std::string ip_text(const std::string &bin)
{
    char buf[64] = "?";
    if (bin.size() == 4) ::inet_ntop(AF_INET, bin.data(), buf, sizeof buf);
    else if (bin.size() == 16) ::inet_ntop(AF_INET6, bin.data(), buf, sizeof buf);
    else return "(" + std::to_string(bin.size()) + " bytes)";
    return buf;
}

std::string clean(const std::string &s)
{
    std::string q = quote(s, 80);
    return q.substr(1, q.size() - 2);
}

} // namespace

bool certificate_matches(const mbedtls_x509_crt &crt, const std::vector<PeerName> &expected)
{
    Ids ids = collect(crt);
    for (auto &n : expected)
        if (matches(ids, n)) return true;
    return false;
}

std::string certificate_names(const mbedtls_x509_crt &crt)
{
    Ids ids = collect(crt);
    std::vector<std::string> all;
    for (auto &d : ids.dns) all.push_back("DNS:" + clean(d));
    for (auto &i : ids.ip) all.push_back("IP:" + ip_text(i));
    for (auto &u : ids.uri) all.push_back("URI:" + clean(u));
    for (auto &m : ids.email) all.push_back("Email:" + clean(m));
    for (auto &c : ids.cn) all.push_back("CN=" + clean(c));
    if (all.empty()) return "no names";
    std::string out;
    for (size_t i = 0; i < all.size(); ++i) {
        if (i == 8) {
            out += ", ... (" + std::to_string(all.size() - 8) + " more)";
            break;
        }
        if (i) out += ", ";
        out += all[i];
    }
    return out;
}

std::string describe_names(const std::vector<PeerName> &names)
{
    static const char *const kType[] = {"DNS", "IP", "URI", "Email"};
    std::string out;
    for (auto &n : names) {
        if (!out.empty()) out += "; ";
        out += std::string(kType[n.type]) + ":" + clean(n.name);
    }
    return out;
}

std::vector<PeerName> expected_names(const TlsProfile &profile, const std::string &host)
{
    if (!profile.names.empty()) return profile.names;
    return {PeerName{is_ip_literal(host) ? PeerName::IP : PeerName::DNS, host}};
}

} // namespace upopmail::net
