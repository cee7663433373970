#include "net/cancel.hpp"

#include "error.hpp"
#include "upopmail.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <sys/eventfd.h>
#include <unistd.h>

namespace upopmail::net {

Canceller::Canceller()
{
    fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0)
        throw Error(UPOP_E_MISC,
                    std::string("cannot create the cancellation event: ") + std::strerror(errno));
}

Canceller::~Canceller()
{
    if (fd_ >= 0) ::close(fd_);
}

void Canceller::cancel() noexcept
{
    flag_.store(true, std::memory_order_seq_cst);
    uint64_t one = 1;
    // EAGAIN only when the counter is saturated, i.e. already readable: nothing to do then.
    ssize_t r = ::write(fd_, &one, sizeof one);
    (void)r;
}

void Canceller::reset() noexcept
{
    flag_.store(false, std::memory_order_seq_cst);
    uint64_t v;
    while (::read(fd_, &v, sizeof v) == static_cast<ssize_t>(sizeof v)) {
    }
}

bool Canceller::cancelled() const noexcept { return flag_.load(std::memory_order_seq_cst); }

int Canceller::fd() const noexcept { return fd_; }

} // namespace upopmail::net
