// A string that holds a secret: it cannot be streamed or formatted by accident, and its bytes are
// overwritten when it is destroyed or replaced.
#pragma once
#include <string>
#include <string_view>

namespace upopmail::security {

void wipe(std::string &s) noexcept;

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

} // namespace upopmail::security
