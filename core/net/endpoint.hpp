// Connection strings of LogonSMTP / LogonMail (reference §3.1, SPEC §4).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace upopmail::net {

// Where to connect and how.
struct Endpoint {
    bool tls = false;     // implicit TLS (TLS: connector, smtps://, pop3s://)
    std::string host;     // DNS name or IP address; an IPv6 address without brackets
    uint16_t port = 0;    // never 0 after parse_endpoint
    std::string profile;  // TLS profile name; "" = the default profile (always "" when !tls)
};

// Parses a connection string for server 1 (UPOP_SMTP: default ports 25 / 465 with TLS) or
// 2 (UPOP_POP: 110 / 995). Accepted forms:
//   {TCP:|TLS:}host{+port}{:profile}   connector case-insensitive, default TCP; profile only
//                                      with TLS; host may be an IPv6 literal, in [brackets]
//                                      ("TLS:[::1]+995:p") or bare ("::1", "fe80::1+25") —
//                                      a bare literal is never split into host:profile when
//                                      the whole text is an IPv6 address
//   {TCP:|TLS:}host:port  [v6]:port    digits alone after the ':' are a port (a profile name is
//                                      never digits alone: TlsConfig refuses them), so
//                                      "localhost:2525" and "TLS:[::1]:995"; a bare IPv6 literal
//                                      takes no ":port" (it would be part of the address)
//   smtp://host[:port]  smtps://...  pop3://...  pop3s://...   (scheme case-insensitive,
//                                      IPv6 in brackets, an optional final '/'); an SMTP URL
//                                      for server POP (or the reverse) is an error
// Leading and trailing blanks are ignored. Host names are ASCII letters, digits, '-', '_' and
// '.' (use the xn-- form for international names), at most 253 bytes.
// Throws upopmail::Error(UPOP_E_NETWORK, sentence quoting the string and saying what is wrong) on
// any syntax error; upopmail::Error(UPOP_E_MISC) when server is neither 1 nor 2.
Endpoint parse_endpoint(std::string_view connection, int server);

} // namespace upopmail::net
