// SendRaw's reader of an existing message (mime/raw_message.hpp), fed the bytes both from memory
// and as a file (a memfd, through /proc/self/fd): any bytes give an Error with a status or a
// prepared message; then the recipients and the sender or an Error(UPOP_E_PARAM); what read()
// hands out is exactly size() bytes, the same for both inputs, and its header section holds no
// Bcc field any more.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "error.hpp"
#include "fuzz_check.hpp"
#include "mime/parse.hpp"
#include "mime/raw_message.hpp"
#include "upopmail.h"

namespace {

// Everything the message hands out, or "" with ok false after an Error.
std::string run(upopmail::mime::RawMessage &m, bool remove_bcc, bool &ok)
{
    ok = false;
    try {
        m.prepare(true, remove_bcc);
    } catch (const upopmail::Error &e) {
        FUZZ_REQUIRE(e.status() == UPOP_E_SIZE || e.status() == UPOP_E_PARAM);
        return "";
    }
    try {
        for (auto &r : m.recipients()) FUZZ_REQUIRE(r.list >= 0 && r.list <= 2 && r.addr.find('@') != std::string::npos);
        (void)m.sender();
    } catch (const upopmail::Error &e) {
        FUZZ_REQUIRE(e.status() == UPOP_E_PARAM);
    }
    const uint64_t size = m.size();
    std::string out;
    char buf[4096];
    for (size_t n; (n = m.read(buf, sizeof buf)) > 0;) out.append(buf, n);
    FUZZ_REQUIRE(out.size() == size);
    ok = true;
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view in(reinterpret_cast<const char *>(data), size);
    const bool remove_bcc = size % 2 == 0;
    bool ok_mem = false, ok_file = false;
    std::string from_mem;
    {
        upopmail::mime::RawMessage m(in);
        from_mem = run(m, remove_bcc, ok_mem);
    }
    int fd = memfd_create("fuzz_rawmsg", MFD_CLOEXEC);
    FUZZ_REQUIRE(fd >= 0);
    FUZZ_REQUIRE(write(fd, in.data(), in.size()) == static_cast<ssize_t>(in.size()));
    std::string from_file;
    try {
        upopmail::mime::RawMessage m("/proc/self/fd/" + std::to_string(fd));
        from_file = run(m, remove_bcc, ok_file);
    } catch (const upopmail::Error &) {
        FUZZ_REQUIRE(!"the memfd could not be read");
    }
    close(fd);
    FUZZ_REQUIRE(ok_mem == ok_file);
    FUZZ_REQUIRE(from_mem == from_file);
    if (ok_mem && remove_bcc) {
        std::vector<upopmail::mime::HeaderField> fields;
        upopmail::mime::Limits limits;
        limits.max_header_bytes = 4 * upopmail::mime::RawMessage::kMaxHeaderSection;
        limits.max_fields = upopmail::mime::RawMessage::kMaxHeaderSection;
        try {
            upopmail::mime::parse_header_section(from_mem, fields, limits);
        } catch (const upopmail::Error &) {
        }
        for (auto &f : fields) FUZZ_REQUIRE(f.name != "bcc");
    }
    return 0;
}
