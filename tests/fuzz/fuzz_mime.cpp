// The MIME parser and GetMail's view of a message: any bytes give a view or an upopmail::Error,
// within the bounds (depth, part count, header size), never a crash.
#include <cstdint>
#include <string_view>

#include "error.hpp"
#include "mime/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view raw(reinterpret_cast<const char *>(data), size);
    try {
        upopmail::mime::MailView view;
        upopmail::mime::view_mail(raw, 1, view);
        for (auto &f : view.files) {
            bool ok = true;
            (void)upopmail::mime::decode_body(*f.part, ok);
        }
    } catch (const upopmail::Error &) {
    }
    (void)upopmail::mime::decode_header_text(raw.substr(0, 4096));
    return 0;
}
