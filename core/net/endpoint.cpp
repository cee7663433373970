#include "net/endpoint.hpp"

#include "error.hpp"
#include "net/text.hpp"
#include "upopmail.h"

#include <algorithm>
#include <cctype>

namespace upopmail::net {
namespace {

bool istarts(std::string_view s, std::string_view prefix)
{
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

std::string_view trim_blanks(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

struct Parser {
    std::string_view original;
    int server;

    [[noreturn]] void fail(const std::string &what) const
    {
        throw Error(UPOP_E_NETWORK, "connection string " + quote(original) + ": " + what);
    }

    const char *server_name() const { return server == UPOP_SMTP ? "SMTP" : "POP3"; }

    uint16_t parse_port(std::string_view p) const
    {
        if (p.empty()) fail("the port number is missing");
        if (p.size() > 10) fail("the port " + quote(p) + " is not a number from 1 to 65535");
        unsigned long v = 0;
        for (char c : p) {
            if (c < '0' || c > '9')
                fail("the port " + quote(p) + " is not a number from 1 to 65535");
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        if (v == 0 || v > 65535)
            fail("the port " + quote(p) + " is out of range (1 to 65535)");
        return static_cast<uint16_t>(v);
    }

    // Checks a host that is not in brackets: an IP literal or a DNS name.
    void check_host(std::string_view h) const
    {
        if (h.empty()) fail("the host name is empty");
        if (is_ip_literal(h)) return;
        for (unsigned char c : h) {
            if (c == ' ' || c == '\t') fail("the host name " + quote(h) + " contains a blank");
            if (c == '\r' || c == '\n')
                fail("the host name " + quote(h) + " contains a line break");
            if (c < 0x20 || c == 0x7F)
                fail("the host name " + quote(h) + " contains a control character");
            if (c >= 0x80)
                fail("the host name " + quote(h) +
                     " contains a non-ASCII character (use its xn-- form)");
            if (!std::isalnum(c) && c != '-' && c != '.' && c != '_')
                fail("the host name " + quote(h) + " contains the character '" +
                     std::string(1, static_cast<char>(c)) + "'");
        }
        if (h.size() > 253) fail("the host name is longer than 253 characters");
        std::string_view body = h.back() == '.' ? h.substr(0, h.size() - 1) : h;
        if (body.empty() || body.front() == '.' || body.find("..") != std::string_view::npos)
            fail("the host name " + quote(h) + " has an empty label");
    }

    void check_profile(std::string_view p) const
    {
        if (p.empty()) fail("the TLS profile name after ':' is empty");
        for (unsigned char c : p)
            if (c <= 0x20 || c == 0x7F || c == ':')
                fail("the TLS profile name " + quote(p) + " contains a blank, ':' or a control character");
    }

    Endpoint url(std::string_view scheme, std::string_view rest) const
    {
        Endpoint e;
        std::string s;
        for (char c : scheme) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        int for_server = 0;
        if (s == "smtp") for_server = UPOP_SMTP;
        else if (s == "smtps") for_server = UPOP_SMTP, e.tls = true;
        else if (s == "pop3") for_server = UPOP_POP;
        else if (s == "pop3s") for_server = UPOP_POP, e.tls = true;
        else
            fail("unknown URL scheme " + quote(scheme) +
                 " (expected smtp://, smtps://, pop3:// or pop3s://)");
        if (for_server != server)
            fail("a " + s + ":// URL cannot be used for a " + server_name() + " connection");

        if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
        auto end = rest.find_first_of("/?#");
        if (end != std::string_view::npos)
            fail("a path, query or fragment (" + quote(rest.substr(end)) + ") is not allowed");
        if (rest.find('@') != std::string_view::npos)
            fail("user information ('user@') is not allowed in the URL: give credentials to "
                 "the logon or the security context");
        std::string_view host, port;
        bool has_port = false;
        if (!rest.empty() && rest.front() == '[') {
            auto close = rest.find(']');
            if (close == std::string_view::npos) fail("the '[' of the IPv6 address is not closed");
            host = rest.substr(1, close - 1);
            auto tail = rest.substr(close + 1);
            if (!host.empty() && (host.find(':') == std::string_view::npos || !is_ip_literal(host)))
                fail(quote(host) + " in brackets is not an IPv6 address");
            if (!tail.empty()) {
                if (tail.front() != ':') fail("unexpected " + quote(tail) + " after ']'");
                port = tail.substr(1), has_port = true;
            }
        } else {
            auto colon = rest.find(':');
            if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos)
                fail("an IPv6 address in a URL must be in [brackets]");
            host = rest.substr(0, colon);
            if (colon != std::string_view::npos) port = rest.substr(colon + 1), has_port = true;
            check_host(host);
        }
        if (host.empty()) fail("the host name is empty");
        e.host = std::string(host);
        e.port = has_port ? parse_port(port) : default_port(e.tls);
        return e;
    }

    uint16_t default_port(bool tls) const
    {
        if (server == UPOP_SMTP) return tls ? 465 : 25;
        return tls ? 995 : 110;
    }

    Endpoint classic(std::string_view s) const
    {
        Endpoint e;
        bool connector = false;
        if (istarts(s, "tls:")) e.tls = true, connector = true, s.remove_prefix(4);
        else if (istarts(s, "tcp:")) connector = true, s.remove_prefix(4);

        std::string_view host, tail;
        bool bracketed = false;
        if (!s.empty() && s.front() == '[') {
            auto close = s.find(']');
            if (close == std::string_view::npos) fail("the '[' of the IPv6 address is not closed");
            host = s.substr(1, close - 1);
            tail = s.substr(close + 1);
            bracketed = true;
            if (host.empty()) fail("the host name is empty");
            if (!is_ip_literal(host) || host.find(':') == std::string_view::npos)
                fail(quote(host) + " in brackets is not an IPv6 address");
        } else if (looks_like_bare_ipv6(s)) {
            // A bare IPv6 literal, optionally followed by +port and :profile.
            auto plus = s.find('+');
            std::string_view hp = s.substr(0, plus);
            tail = plus == std::string_view::npos ? std::string_view() : s.substr(plus);
            if (is_ip_literal(hp)) {
                host = hp;
            } else {
                auto last = hp.rfind(':');
                if (tail.empty() && last != std::string_view::npos && is_ip_literal(hp.substr(0, last))) {
                    host = hp.substr(0, last);
                    tail = s.substr(last);
                } else {
                    if (!connector) check_connector_word(hp.substr(0, hp.find(':')));
                    fail(quote(hp) + " is neither a host name nor an IPv6 address "
                         "(write IPv6 addresses in [brackets])");
                }
            }
            bracketed = true; // already checked as an address
        } else {
            auto cut = s.find_first_of("+:");
            host = s.substr(0, cut);
            tail = cut == std::string_view::npos ? std::string_view() : s.substr(cut);
        }
        if (!bracketed) check_host(host);

        std::string_view port, profile;
        bool has_port = false, has_profile = false;
        if (!tail.empty() && tail.front() == '+') {
            auto colon = tail.find(':');
            port = tail.substr(1, colon == std::string_view::npos ? std::string_view::npos : colon - 1);
            has_port = true;
            tail = colon == std::string_view::npos ? std::string_view() : tail.substr(colon);
        }
        if (!tail.empty() && tail.front() == ':') {
            // host:port, the form of every other tool: digits alone after the ':' are a port
            // (a TLS profile name is never digits alone: TlsConfig refuses such names)
            std::string_view after = tail.substr(1);
            size_t digits = after.find_first_not_of("0123456789");
            if (!after.empty() && digits == std::string_view::npos) {
                if (has_port)
                    fail("the port is given twice (" + quote(port) + " after '+' and " + quote(after) +
                         " after ':')");
                port = after, has_port = true;
                tail = std::string_view();
            } else if (digits > 0 && digits != std::string_view::npos && after[digits] == ':') {
                fail("a port and a TLS profile are written host+port:profile (TLS:" + std::string(host) + "+" +
                     std::string(after.substr(0, digits)) + ":" + std::string(after.substr(digits + 1)) + ")");
            }
        }
        if (!tail.empty()) {
            if (tail.front() != ':') fail("unexpected " + quote(tail) + " after the host name");
            profile = tail.substr(1);
            has_profile = true;
        }
        if (has_profile && !e.tls) {
            if (!connector && !has_port) check_connector_word(host);
            fail("a TLS profile (" + quote(profile) + ") is only allowed with the TLS: connector; for a port "
                 "write host+port, host:port (digits only) or " + std::string(server == UPOP_SMTP ? "smtp" : "pop3") +
                 "://host:port");
        }
        if (has_profile) check_profile(profile);
        e.host = std::string(host);
        e.port = has_port ? parse_port(port) : default_port(e.tls);
        e.profile = std::string(profile);
        return e;
    }

    // Several ':' before any '+', and hex digits (or nothing) before the first ':'.
    static bool looks_like_bare_ipv6(std::string_view s)
    {
        std::string_view hp = s.substr(0, s.find('+'));
        if (std::count(hp.begin(), hp.end(), ':') < 2) return false;
        for (char c : hp.substr(0, hp.find(':')))
            if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
        return true;
    }

    // "udp:host" and "host:profile" look alike: a short word before ':' is taken for a
    // mistyped connector.
    void check_connector_word(std::string_view first) const
    {
        bool word = !first.empty() && first.size() <= 8;
        for (unsigned char c : first) word = word && std::isalpha(c);
        if (word)
            fail("unknown connector " + quote(first) +
                 " (expected TCP: or TLS:; a TLS profile after the host also needs TLS:)");
    }
};

} // namespace

Endpoint parse_endpoint(std::string_view connection, int server)
{
    if (server != UPOP_SMTP && server != UPOP_POP)
        throw Error(UPOP_E_MISC, "server type " + std::to_string(server) +
                                     " is neither UPOP_SMTP (1) nor UPOP_POP (2)");
    Parser p{connection, server};
    std::string_view s = trim_blanks(connection);
    if (s.empty()) throw Error(UPOP_E_NETWORK, "the connection string is empty");
    for (unsigned char c : s) {
        if (c == '\r' || c == '\n') p.fail("it contains a line break (CR or LF)");
        if (c < 0x20 || c == 0x7F) p.fail("it contains a control character");
    }
    auto sep = s.find("://");
    if (sep != std::string_view::npos) return p.url(s.substr(0, sep), s.substr(sep + 3));
    return p.classic(s);
}

} // namespace upopmail::net
