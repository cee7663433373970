#include "trace/trace.hpp"

#include <cstdlib>

namespace upopmail::trace {

Tracer::Tracer()
{
    if (const char *path = std::getenv("UPOPMAIL_TRACE"); path && *path) file_ = std::fopen(path, "a");
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
