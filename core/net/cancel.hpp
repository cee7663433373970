// upopmail::net::Canceller — the cancellation event of one component handle.
// cancel() may be called from any thread; every wait of a Stream that was given this Canceller
// polls fd() next to its socket and ends promptly (status UPOP_E_TIMEOUT, "... cancelled").
#pragma once
#include <atomic>

namespace upopmail::net {

class Canceller {
public:
    // Creates the event (a non-blocking, close-on-exec eventfd).
    // Throws upopmail::Error(UPOP_E_MISC, ...) when the system refuses (for example EMFILE).
    Canceller();
    // Closes the eventfd. No Stream may still use it.
    ~Canceller();
    Canceller(const Canceller &) = delete;
    Canceller &operator=(const Canceller &) = delete;

    // Sets the flag and makes fd() readable, waking every poll() that watches it.
    // Async-signal-safe and thread-safe. The flag stays set until reset().
    void cancel() noexcept;
    // Clears the flag and drains fd(). Call it before starting a new operation that must not
    // be affected by an earlier cancel().
    void reset() noexcept;
    // True between cancel() and reset().
    bool cancelled() const noexcept;
    // The descriptor to poll for POLLIN; owned by the Canceller. -1 never happens after a
    // successful construction.
    int fd() const noexcept;

private:
    std::atomic<bool> flag_{false};
    int fd_ = -1;
};

} // namespace upopmail::net
