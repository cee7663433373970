#include "trace/trace.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace upopmail::trace {

Tracer::Tracer()
{
    // Ignored in set-uid/set-gid programs (secure_getenv): the caller could otherwise make the
    // process create or append to any file. Created for the user alone, never through a link.
    const char *path = ::secure_getenv("UPOPMAIL_TRACE");
    if (!path || !*path) return;
    int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return;
    file_ = ::fdopen(fd, "a");
    if (!file_) ::close(fd);
}

Tracer::~Tracer()
{
    if (file_) std::fclose(file_);
}

void Tracer::line(int server, char direction, std::string_view text)
{
    if (!enabled()) return;
    std::string shown = printable(text);
    if (fn_) fn_(user_, server, direction, shown.c_str());
    if (file_) {
        std::fprintf(file_, "%s %c %s\n", server == UPOP_POP ? "POP " : "SMTP", direction, shown.c_str());
        std::fflush(file_);
    }
}

void Tracer::sent_redacted(int server, std::string_view text, size_t visible)
{
    if (!enabled()) return;
    if (visible >= text.size()) return line(server, '>', text);
    std::string shown(text.substr(0, visible));
    shown += "<redacted>";
    line(server, '>', shown);
}

} // namespace upopmail::trace
