// relay.hpp -- a one-connection TCP relay on loopback in front of a real server, for the few
// integration tests that need to see or change what passes (a QUIT that never arrives, an EHLO
// keyword the real server offers and the test wants hidden). Plain TCP only: what it filters
// must travel before any TLS.
#pragma once

#include "mailtest.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <functional>

namespace mailtest {

class Relay {
public:
    // Each hook sees the bytes of one read and may change them; returning false ends the relay
    // (both connections closed) without forwarding them.
    using Hook = std::function<bool(std::string &)>;

    Relay(const std::string &server_port, Hook from_client, Hook from_server)
        : server_port_(server_port), from_client_(std::move(from_client)), from_server_(std::move(from_server)) {
        lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(lfd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(lfd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
        REQUIRE(::listen(lfd_, 1) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(lfd_, reinterpret_cast<sockaddr *>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~Relay() {
        if (thread_.joinable()) thread_.join();
        ::close(lfd_);
    }
    Relay(const Relay &) = delete;
    Relay &operator=(const Relay &) = delete;
    std::string conn() const { return "localhost+" + std::to_string(port_); }

private:
    void run() {
        pollfd p{lfd_, POLLIN, 0};
        if (::poll(&p, 1, 30000) != 1) return;
        int c = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(std::stoi(server_port_)));
        if (::connect(s, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0) {
            for (bool on = true; on;) {
                pollfd fds[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
                if (::poll(fds, 2, 30000) <= 0) break;
                if (fds[1].revents) on = pass(s, c, from_server_);
                if (on && fds[0].revents) on = pass(c, s, from_client_);
            }
        }
        ::close(s);
        ::close(c);
    }
    static bool pass(int from, int to, const Hook &hook) {
        char buf[65536];
        ssize_t n = ::read(from, buf, sizeof buf);
        if (n <= 0) return false;
        std::string got(buf, static_cast<size_t>(n));
        if (hook && !hook(got)) return false;
        for (size_t off = 0; off < got.size();) {
            ssize_t w = ::write(to, got.data() + off, got.size() - off);
            if (w <= 0) return false;
            off += static_cast<size_t>(w);
        }
        return true;
    }

    std::string server_port_;
    Hook from_client_, from_server_;
    int lfd_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
};

} // namespace mailtest
