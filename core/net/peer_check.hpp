// Server identity check of a TLS certificate against the expected names of a profile
// (reference §3.3 verify_server_name; RFC 6125 / RFC 7817). Internal to the transport layer.
#pragma once
#include <mbedtls/x509_crt.h>

#include <string>
#include <vector>

#include "net/tls_profile.hpp"

namespace upopmail::net {

// True when the certificate matches at least one expected name:
//   DNS    subjectAltName dNSName (case-insensitive, a trailing dot ignored; a certificate
//          wildcard "*.a.b" covers one left-most label; an expected "*.a.b" accepts any one
//          label; a wildcard never covers an all-numeric name such as "127.0.0.1."); the subject
//          CN only when the certificate has no DNS/IP/URI subjectAltName. A certificate name
//          containing NUL or '%' matches nothing.
//   IP     subjectAltName iPAddress only, compared as 4/16 bytes (any textual IPv6 form,
//          IPv4-mapped IPv6 equals IPv4); the CN is never read as an address
//   URI    subjectAltName URI, case-insensitive whole string
//   Email  subjectAltName rfc822Name or subject emailAddress, case-insensitive
bool certificate_matches(const mbedtls_x509_crt &crt, const std::vector<PeerName> &expected);

// "DNS:a.example, IP:192.0.2.1, CN=a.example" for messages: at most 8 names, each sanitised
// and shortened (the certificate is untrusted input). "no names" when it has none.
std::string certificate_names(const mbedtls_x509_crt &crt);

// "DNS:mail.example.com" / "IP:::1; DNS:x" for messages.
std::string describe_names(const std::vector<PeerName> &names);

// The expected names of a profile for a connection to host: profile.names, or else host as
// an IP name when it is an address and as a DNS name otherwise.
std::vector<PeerName> expected_names(const TlsProfile &profile, const std::string &host);

} // namespace upopmail::net
