// GetMail: fetch a message and decode it (headers, plain text, parts written as files).
#include "component.hpp"
#include "error.hpp"

namespace upopmail {

int Component::get_mail(int32_t n, const std::string &att_loc, int64_t mail_size, std::string &headers,
                        std::string &text, std::string &atts)
{
    (void)n, (void)att_loc, (void)mail_size, (void)headers, (void)text, (void)atts;
    throw Error(UPOP_E_MISC, "GetMail (MIME decoding) is not implemented yet; use GetRawMail");
}

} // namespace upopmail
