// Small helpers shared by the files of core/net (internal to the transport layer).
#pragma once
#include <string>
#include <string_view>

#include "printable.hpp"

namespace upopmail::net {

// quote() for error sentences is upopmail::quote (core/text.hpp).
using upopmail::quote;

// True when s is an IPv4 address ("192.0.2.1") or an IPv6 address ("::1", "fe80::1%eth0";
// no brackets). bin, if given, receives the 4 or 16 address bytes (zone ignored).
bool is_ip_literal(std::string_view s, std::string *bin = nullptr);

// "host+port", with an IPv6 host in brackets: the form used in every transport message.
std::string host_port(const std::string &host, unsigned port);

} // namespace upopmail::net
