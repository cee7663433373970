// A string that holds a secret: it cannot be streamed or formatted by accident, and its bytes are
// overwritten when it is destroyed or replaced.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace upopmail {

// Overwrites the whole buffer of s (capacity, not only size) and empties it.
void wipe(std::string &s) noexcept;
// Overwrites n bytes at p (stores that the compiler may not drop).
void wipe(void *p, size_t n) noexcept;

class Secret {
public:
    Secret() = default;
    explicit Secret(std::string v) : v_(std::move(v)) {}
    Secret(const Secret &o) : v_(o.v_) {}
    Secret &operator=(const Secret &o)
    {
        if (this != &o) {
            wipe(v_);
            v_ = o.v_;
        }
        return *this;
    }
    ~Secret() { wipe(v_); }
    // The only way to the bytes: say so at the call site.
    const std::string &reveal() const { return v_; }

private:
    std::string v_;
};

// An allocator that overwrites every block before it is released: for containers whose
// temporaries we do not control (the JSON parser's token buffer, its DOM strings).
template <class T> struct WipingAllocator {
    using value_type = T;
    WipingAllocator() = default;
    template <class U> WipingAllocator(const WipingAllocator<U> &) noexcept {}
    T *allocate(size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T *p, size_t n) noexcept
    {
        wipe(p, n * sizeof(T));
        std::allocator<T>().deallocate(p, n);
    }
    template <class U> bool operator==(const WipingAllocator<U> &) const noexcept { return true; }
};

// A string whose heap buffer is wiped whenever it is released (growth included).
using SecretString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

} // namespace upopmail
