// AddAttachmentFromFile / AddInlineFromFile. (Kept apart from component.cpp: the composing
// operations that deal with files.)
#include "component.hpp"
#include "error.hpp"

namespace upopmail {

void Component::add_file(bool as_inline, const std::string &path, const std::string &options)
{
    (void)as_inline, (void)path, (void)options;
    throw Error(UPOP_E_MISC, "attachments and inline objects are not implemented yet");
}

} // namespace upopmail
