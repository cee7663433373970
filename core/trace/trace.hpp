// The protocol trace: every line sent ('>') and received ('<') and every event ('*'), redacted
// before anyone sees it. Goes to the application's callback and/or to the file named by the
// UPOPMAIL_TRACE environment variable (created with mode 0600, never through a symbolic link,
// and ignored in set-uid/set-gid programs).
#pragma once
#include <cstdio>
#include <string>
#include <string_view>

#include "printable.hpp"
#include "upopmail.h"

namespace upopmail::trace {

class Tracer {
public:
    Tracer();
    ~Tracer();
    Tracer(const Tracer &) = delete;
    Tracer &operator=(const Tracer &) = delete;

    void set_callback(upop_trace_fn fn, void *user) { fn_ = fn, user_ = user; }
    bool enabled() const { return fn_ || file_; }

    // A line as it is (already redacted by the caller when it carries a secret).
    void line(int server, char direction, std::string_view text);
    // A line sent whose part after `visible` characters is a secret: shown as "<redacted>".
    void sent_redacted(int server, std::string_view text, size_t visible);
    void event(int server, std::string_view text) { line(server, '*', text); }

private:
    upop_trace_fn fn_ = nullptr;
    void *user_ = nullptr;
    std::FILE *file_ = nullptr;
};


} // namespace upopmail::trace
