// Connection strings (reference §3.1, SPEC §4): every accepted form and every refusal.
#include <doctest/doctest.h>

#include "error.hpp"
#include "net/endpoint.hpp"
#include "upopmail.h"

#include <string>

using upopmail::net::Endpoint;
using upopmail::net::parse_endpoint;

namespace {

// The error of parsing s for server, or "" if it parsed. Checks the status is -9.
std::string parse_error(const std::string &s, int server = UPOP_SMTP)
{
    try {
        parse_endpoint(s, server);
    } catch (const upopmail::Error &e) {
        CHECK_MESSAGE(e.status() == UPOP_E_NETWORK, s);
        return e.what();
    }
    return "";
}

void check_ep(const std::string &s, int server, bool tls, const std::string &host, int port,
              const std::string &profile = "")
{
    CAPTURE(s);
    Endpoint e = parse_endpoint(s, server);
    CHECK(e.tls == tls);
    CHECK(e.host == host);
    CHECK(e.port == port);
    CHECK(e.profile == profile);
}

} // namespace

TEST_SUITE("net.endpoint") {

TEST_CASE("original form: host, port, connector and profile")
{
    check_ep("mail.example.com", UPOP_SMTP, false, "mail.example.com", 25);
    check_ep("mail.example.com", UPOP_POP, false, "mail.example.com", 110);
    check_ep("mail.example.com+587", UPOP_SMTP, false, "mail.example.com", 587);
    check_ep("TCP:mail.example.com", UPOP_SMTP, false, "mail.example.com", 25);
    check_ep("tcp:mail.example.com+2525", UPOP_SMTP, false, "mail.example.com", 2525);
    check_ep("TLS:mail.example.com", UPOP_SMTP, true, "mail.example.com", 465);
    check_ep("tls:mail.example.com", UPOP_POP, true, "mail.example.com", 995);
    check_ep("Tls:mail.example.com+10465", UPOP_SMTP, true, "mail.example.com", 10465);
    check_ep("TLS:mail.example.com:smtp_profile", UPOP_SMTP, true, "mail.example.com", 465, "smtp_profile");
    check_ep("TLS:mail.example.com+4650:smtp_profile", UPOP_SMTP, true, "mail.example.com", 4650,
             "smtp_profile");
    check_ep("192.0.2.7+25", UPOP_SMTP, false, "192.0.2.7", 25);
    check_ep("TLS:192.0.2.7:p", UPOP_POP, true, "192.0.2.7", 995, "p");
    check_ep("localhost+65535", UPOP_POP, false, "localhost", 65535);
    check_ep("  localhost+1  ", UPOP_POP, false, "localhost", 1); // outer blanks ignored
    check_ep("mail_relay.internal.", UPOP_SMTP, false, "mail_relay.internal.", 25);
}

TEST_CASE("original form: IPv6 literals, bracketed and bare")
{
    check_ep("[::1]", UPOP_SMTP, false, "::1", 25);
    check_ep("[::1]+2525", UPOP_SMTP, false, "::1", 2525);
    check_ep("TLS:[2001:db8::5]+995:pop_profile", UPOP_POP, true, "2001:db8::5", 995, "pop_profile");
    check_ep("TLS:[::1]:p", UPOP_SMTP, true, "::1", 465, "p");
    // Bare literals with several ':' are addresses, not host:profile.
    check_ep("::1", UPOP_SMTP, false, "::1", 25);
    check_ep("2001:db8::25", UPOP_POP, false, "2001:db8::25", 110);
    check_ep("TLS:2001:db8::25", UPOP_POP, true, "2001:db8::25", 995);
    check_ep("fe80::1+2525", UPOP_SMTP, false, "fe80::1", 2525);
    check_ep("TLS:fe80::1+995:prof", UPOP_POP, true, "fe80::1", 995, "prof");
    check_ep("TLS:::1:prof", UPOP_POP, true, "::1", 995, "prof"); // "::1:prof" is no address
    check_ep("fe80::1%eth0+25", UPOP_SMTP, false, "fe80::1%eth0", 25);
}

TEST_CASE("URL forms and their defaults")
{
    check_ep("smtp://mail.example.com", UPOP_SMTP, false, "mail.example.com", 25);
    check_ep("smtp://mail.example.com:587", UPOP_SMTP, false, "mail.example.com", 587);
    check_ep("SMTPS://mail.example.com", UPOP_SMTP, true, "mail.example.com", 465);
    check_ep("smtps://mail.example.com:4465/", UPOP_SMTP, true, "mail.example.com", 4465);
    check_ep("pop3://mail.example.com", UPOP_POP, false, "mail.example.com", 110);
    check_ep("pop3s://mail.example.com", UPOP_POP, true, "mail.example.com", 995);
    check_ep("pop3s://[::1]:1995", UPOP_POP, true, "::1", 1995);
    check_ep("smtp://[2001:db8::1]", UPOP_SMTP, false, "2001:db8::1", 25);
    check_ep("smtp://127.0.0.1:2525", UPOP_SMTP, false, "127.0.0.1", 2525);
}

TEST_CASE("host:port and [v6]:port: digits alone after the ':' are a port")
{
    check_ep("localhost:2525", UPOP_SMTP, false, "localhost", 2525);
    check_ep("mail.example.com:110", UPOP_POP, false, "mail.example.com", 110);
    check_ep("TCP:mail.example.com:587", UPOP_SMTP, false, "mail.example.com", 587);
    check_ep("192.0.2.7:25", UPOP_SMTP, false, "192.0.2.7", 25);
    check_ep("[::1]:2525", UPOP_SMTP, false, "::1", 2525);
    check_ep("[2001:db8::5]:110", UPOP_POP, false, "2001:db8::5", 110);
    // with TLS too: a profile name is never digits alone (TlsConfig refuses such names)
    check_ep("TLS:mail.example.com:995", UPOP_POP, true, "mail.example.com", 995);
    check_ep("TLS:[::1]:4465", UPOP_SMTP, true, "::1", 4465);
    check_ep("TLS:mail.example.com:p995", UPOP_POP, true, "mail.example.com", 995, "p995");
    check_ep("TLS:mail.example.com:995p", UPOP_POP, true, "mail.example.com", 995, "995p");
    check_ep("TLS:[::1]:p", UPOP_SMTP, true, "::1", 465, "p");
    // a bare IPv6 literal keeps every ':' (the last group is part of the address)
    check_ep("::1:2525", UPOP_SMTP, false, "::1:2525", 25);
    check_ep("fe80::1:25", UPOP_SMTP, false, "fe80::1:25", 25);
    // what stays ambiguous or wrong names the forms to write instead
    CHECK(parse_error("localhost:smtp").find("for a port write host+port, host:port (digits only) or "
                                             "smtp://host:port") != std::string::npos);
    CHECK(parse_error("localhost:25x", UPOP_POP).find("pop3://host:port") != std::string::npos);
    CHECK(parse_error("localhost+25:587").find("the port is given twice") != std::string::npos);
    CHECK(parse_error("TLS:localhost+465:995").find("the port is given twice") != std::string::npos);
    CHECK(parse_error("TLS:localhost:465:prof").find("host+port:profile (TLS:localhost+465:prof)") !=
          std::string::npos);
    CHECK(parse_error("localhost:0").find("out of range") != std::string::npos);
    CHECK(parse_error("localhost:65536").find("out of range") != std::string::npos);
    CHECK(parse_error("localhost:99999999999").find("not a number") != std::string::npos);
    CHECK(parse_error("localhost:").find("host:port (digits only)") != std::string::npos);
    CHECK(parse_error("[::1]:").find("host:port (digits only)") != std::string::npos);
    CHECK(parse_error("TLS:localhost:").find("profile name after ':' is empty") != std::string::npos);
}

TEST_CASE("URL for the wrong server type is refused")
{
    CHECK(parse_error("smtp://mail.example.com", UPOP_POP).find("cannot be used for a POP3 connection") !=
          std::string::npos);
    CHECK(parse_error("pop3s://mail.example.com", UPOP_SMTP).find("cannot be used for a SMTP connection") !=
          std::string::npos);
}

TEST_CASE("syntax errors: -9 with a sentence quoting the string and naming the fault")
{
    struct Case {
        const char *input;
        const char *says;
    };
    const Case cases[] = {
        {"", "empty"},
        {"   ", "empty"},
        {"TLS:", "host name is empty"},
        {"+25", "host name is empty"},
        {"mail.example.com+", "port number is missing"},
        {"mail.example.com+0", "out of range"},
        {"mail.example.com+65536", "out of range"},
        {"mail.example.com+99999999999", "not a number"},
        {"mail.example.com+2x5", "not a number"},
        {"mail.example.com+-25", "not a number"},
        {"TCP:mail.example.com:prof", "only allowed with the TLS: connector"},
        {"mail.example.com:prof", "only allowed with the TLS: connector"},
        {"mail.example.com+25:prof", "only allowed with the TLS: connector"},
        {"UDP:mail.example.com", "unknown connector 'UDP'"},
        {"SSL:mail.example.com+465", "unknown connector 'SSL'"},
        {"TLS:mail.example.com:", "profile name after ':' is empty"},
        {"TLS:mail.example.com:a:b", "contains a blank, ':'"},
        {"mail example.com", "contains a blank"},
        {"mail.example.com\r\nRCPT TO:<x>", "line break"},
        {"mail.example.com\n", "line break"},
        {"mail\x01.example.com", "control character"},
        {"m\xC3\xA4il.example.com", "non-ASCII"},
        {"mail/example.com", "character '/'"},
        {"mail..example.com", "empty label"},
        {"[::1", "not closed"},
        {"[mail.example.com]", "not an IPv6 address"},
        {"[::1]x", "unexpected"},
        {"1:2:zz::1", "neither a host name nor an IPv6 address"},
        {"imap://mail.example.com", "unknown URL scheme 'imap'"},
        {"smtp://", "host name is empty"},
        {"smtp://mail.example.com:0", "out of range"},
        {"smtp://mail.example.com:", "port number is missing"},
        {"smtp://user@mail.example.com", "user information"},
        {"smtp://mail.example.com/path", "path, query or fragment"},
        {"smtp://::1", "[brackets]"},
        {"smtp://[::1", "not closed"},
    };
    for (auto &c : cases) {
        CAPTURE(c.input);
        std::string msg = parse_error(c.input);
        REQUIRE_MESSAGE(!msg.empty(), "accepted: ", c.input);
        CHECK_MESSAGE(msg.find(c.says) != std::string::npos, msg);
        // The string is quoted (escaped) in the sentence, which stays on one line.
        CHECK(msg.find('\n') == std::string::npos);
        CHECK(msg.find('\r') == std::string::npos);
    }
    CHECK(parse_error("mail.example.com\r\nRCPT").find("'mail.example.com\\r\\nRCPT'") != std::string::npos);
}

TEST_CASE("an unknown server type is a programming error (-10)")
{
    try {
        parse_endpoint("mail.example.com", 3);
        FAIL("accepted");
    } catch (const upopmail::Error &e) {
        CHECK(e.status() == UPOP_E_MISC);
    }
}

} // TEST_SUITE
