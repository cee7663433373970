// RFC 6761 §6.3: "localhost" and the names under ".localhost" are the loopback addresses; the
// stream connects to them without asking a resolver (127.0.0.1 first, then ::1).
#include <doctest/doctest.h>

#include "error.hpp"
#include "fake/fake_server.hpp"
#include "net/stream.hpp"
#include "upopmail.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using upopmail::net::Clock;
using upopmail::net::Stream;

namespace {

// A listening socket on ::1 only (IPv6 only), -1 when this machine has no IPv6 loopback.
int listen_v6_only(uint16_t &port)
{
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
        ::close(fd);
        return -1;
    }
    port = ntohs(a.sin6_port);
    return fd;
}

} // namespace

TEST_SUITE("net.localhost") {

TEST_CASE("localhost names reach the loopback server, in any case and with a final dot")
{
    for (const char *name : {"localhost", "LocalHost.", "mail.localhost", "a.b.LOCALHOST."}) {
        CAPTURE(name);
        FakeServer srv([](FakeConn &c) { c.wait_for_close(); });
        Stream st(nullptr);
        st.connect(name, srv.port(), Clock::now() + 5s);
        CHECK(st.is_open());
        st.close();
        srv.join();
    }
}

TEST_CASE("a name that only ends like localhost goes to the resolver")
{
    FakeServer srv([](FakeConn &c) { c.wait_for_close(1s); });
    Stream st(nullptr);
    try {
        st.connect("notlocalhost.invalid", srv.port(), Clock::now() + 5s);
        FAIL("notlocalhost.invalid was resolved");
    } catch (const upopmail::Error &e) {
        CHECK(e.status() == UPOP_E_NETWORK);
    }
    // let the server's script end
    Stream other(nullptr);
    other.connect("127.0.0.1", srv.port(), Clock::now() + 5s);
    other.close();
    srv.join();
}

TEST_CASE("localhost: ::1 is tried when nothing listens on 127.0.0.1")
{
    uint16_t port = 0;
    int fd = listen_v6_only(port);
    if (fd < 0) {
        MESSAGE("no IPv6 loopback here");
        return;
    }
    Stream st(nullptr);
    st.connect("localhost", port, Clock::now() + 5s); // 127.0.0.1 refuses, ::1 accepts
    CHECK(st.is_open());
    st.close();
    ::close(fd);
}

} // TEST_SUITE
