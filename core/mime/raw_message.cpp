#include "mime/raw_message.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "mime/compose.hpp"
#include "mime/list.hpp"
#include "mime/message.hpp"
#include "printable.hpp"
#include "upopmail.h"

namespace upopmail::mime {

namespace {

int64_t mtime_of(const struct stat &st)
{
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// Skips a comment starting at v[i] == '(' (nested, with quoted pairs); returns the index after it.
size_t skip_comment(std::string_view v, size_t i)
{
    int depth = 0;
    for (; i < v.size(); ++i) {
        if (v[i] == '\\') ++i;
        else if (v[i] == '(') ++depth;
        else if (v[i] == ')' && --depth == 0) return i + 1;
    }
    throw Error(UPOP_E_PARAM, "a comment in an address field of the message is not closed: " + quote(v, 80));
}

// Reads a quoted string starting at v[i] == '"'; appends it with its quotes; returns the index after it.
size_t take_quoted(std::string_view v, size_t i, std::string &out)
{
    out += '"';
    for (++i; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
            out += v[i];
            out += v[++i];
        } else if (v[i] == '"') {
            out += '"';
            return i + 1;
        } else {
            out += v[i];
        }
    }
    throw Error(UPOP_E_PARAM, "a quoted string in an address field of the message is not closed: " + quote(v, 80));
}

bool is_field(const HeaderField &f, std::string_view name) { return f.name == name; }

} // namespace

std::vector<std::string> field_addresses(std::string_view v)
{
    std::vector<std::string> out;
    std::string plain;  // the addr-spec of a mailbox without angle brackets (blanks and comments dropped)
    std::string angle;  // the address inside <...>
    bool has_angle = false;
    auto flush = [&] {
        std::string a = has_angle ? angle : plain;
        // an obsolete route "@a,@b:local@domain" before the address
        if (has_angle && !a.empty() && a[0] == '@') {
            auto colon = a.find(':');
            a = colon == std::string::npos ? std::string() : a.substr(colon + 1);
        }
        if (!a.empty() || has_angle) out.push_back(parse_address(a).addr);
        plain.clear();
        angle.clear();
        has_angle = false;
    };
    for (size_t i = 0; i < v.size();) {
        char c = v[i];
        if (c == '(') {
            i = skip_comment(v, i);
        } else if (c == '"') {
            i = take_quoted(v, i, plain);
        } else if (c == '<') {
            size_t j = i + 1;
            angle.clear();
            while (j < v.size() && v[j] != '>') {
                if (v[j] == '"') j = take_quoted(v, j, angle);
                else if (v[j] == '(') j = skip_comment(v, j);
                else if (v[j] == ' ' || v[j] == '\t') ++j;
                else angle += v[j++];
            }
            if (j >= v.size())
                throw Error(UPOP_E_PARAM, "a '<' in an address field of the message is not closed: " + quote(v, 80));
            has_angle = true;
            plain.clear(); // what came before was the display name
            i = j + 1;
        } else if (c == ':') {
            plain.clear(); // a group's display name; its mailboxes follow
            ++i;
        } else if (c == ',' || c == ';') {
            flush();
            ++i;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++i;
        } else {
            if (has_angle) // text after <...>: not an address (e.g. "a <b@c> d")
                throw Error(UPOP_E_PARAM, "an address field of the message has text after '>': " + quote(v, 80));
            plain += c;
            ++i;
        }
    }
    flush();
    return out;
}

RawMessage::RawMessage(std::string_view data) : mem_(data), total_(data.size()) {}

RawMessage::RawMessage(const std::string &path) : path_(path)
{
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) {
        int e = errno;
        throw Error(UPOP_E_FILE, "the message file '" + path + "' cannot be opened: " + std::strerror(e));
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd_);
        fd_ = -1;
        throw Error(UPOP_E_FILE, "the message file '" + path + "' is not a regular file");
    }
    total_ = static_cast<uint64_t>(st.st_size);
    mtime_ns_ = mtime_of(st);
}

RawMessage::~RawMessage()
{
    if (fd_ >= 0) ::close(fd_);
}

size_t RawMessage::pull(char *buf, size_t cap)
{
    size_t want = static_cast<size_t>(std::min<uint64_t>(cap, total_ - taken_));
    if (want == 0) return 0;
    if (fd_ < 0) {
        std::memcpy(buf, mem_.data() + taken_, want);
        taken_ += want;
        return want;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = ::read(fd_, buf + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            throw Error(UPOP_E_FILE, "reading the message file '" + path_ + "' failed: " + std::strerror(e));
        }
        if (r == 0)
            throw Error(UPOP_E_FILE, "the message file '" + path_ + "' became shorter while it was sent (" +
                                         std::to_string(total_) + " bytes when it was opened)");
        got += static_cast<size_t>(r);
    }
    taken_ += got;
    return got;
}

void RawMessage::prepare(bool need_fields, bool remove_bcc)
{
    prepared_ = true;
    // Read ahead until the header section has visibly ended (an empty line, or a complete line
    // that is no header field), the input ends, or the bound is reached. A CR at the end of what
    // was read may be the first half of a CRLF: it is left out of the line ends made CRLF here,
    // and handed out after the header section as it is (the protocol's encoder pairs it).
    std::string raw;
    Limits limits;
    limits.max_header_bytes = 2 * kMaxHeaderSection + 2; // CRLF may double a bare-LF section
    limits.max_fields = kMaxHeaderSection / 4;
    size_t body = 0;
    bool found = false, cr_tail = false;
    for (;;) {
        const bool at_end = taken_ == total_;
        cr_tail = !at_end && !raw.empty() && raw.back() == '\r';
        head_ = normalise_crlf(std::string_view(raw).substr(0, raw.size() - cr_tail));
        try {
            body = parse_header_section(head_, fields_, limits);
        } catch (const Error &) {
            break; // more fields than a header section can hold: not found
        }
        const bool ended_by_empty_line = body >= 2 && head_.compare(body - 2, 2, "\r\n") == 0 &&
                                         (body == 2 || (body >= 4 && head_.compare(body - 4, 2, "\r\n") == 0));
        found = at_end || ended_by_empty_line || (body < head_.size() && head_.find('\n', body) != std::string::npos);
        if (found) break;
        if (at_end || raw.size() >= kMaxHeaderSection) break;
        size_t want = std::min<size_t>(64 * 1024, kMaxHeaderSection - raw.size());
        size_t old = raw.size();
        raw.resize(old + want);
        raw.resize(old + pull(raw.data() + old, want));
    }
    if (!found) {
        // Sent as it is read: the line ends are made CRLF on the way (a CR at the end of what was
        // read ahead stays the first half of a CRLF that may follow).
        fields_.clear();
        head_ = std::move(raw);
        if (need_fields)
            throw Error(UPOP_E_SIZE, "the header section of the message does not end within its first " +
                                         std::to_string(kMaxHeaderSection) +
                                         " bytes (no empty line after the header fields): the recipients or the "
                                         "sender cannot be taken from it");
        return;
    }
    if (auto nul = head_.find('\0'); nul < body) {
        size_t line = 1;
        for (size_t i = 0; i < nul; ++i) line += head_[i] == '\n';
        throw Error(UPOP_E_PARAM, "the header section of the message holds a NUL byte (line " + std::to_string(line) +
                                      "); refused");
    }
    if (remove_bcc) {
        std::string kept;
        kept.reserve(head_.size());
        size_t at = 0;
        for (const auto &f : fields_) {
            if (!is_field(f, "bcc")) continue;
            kept.append(head_, at, f.begin - at);
            at = f.end;
        }
        kept.append(head_, at, std::string::npos);
        head_.swap(kept);
    }
    if (cr_tail) head_ += '\r';
}

std::vector<RawRecipient> RawMessage::recipients() const
{
    std::vector<RawRecipient> out;
    static const char *names[] = {"to", "cc", "bcc"};
    static const char *shown[] = {"To", "Cc", "Bcc"};
    for (const auto &f : fields_) {
        for (int l = 0; l < 3; ++l) {
            if (!is_field(f, names[l])) continue;
            try {
                for (auto &a : field_addresses(f.value)) out.push_back({l, std::move(a)});
            } catch (const Error &e) {
                throw Error(e.status(), std::string("the ") + shown[l] + " field of the message: " + e.what());
            }
        }
    }
    return out;
}

std::string RawMessage::sender() const
{
    for (const char *name : {"sender", "from"}) {
        for (const auto &f : fields_) {
            if (!is_field(f, name)) continue;
            try {
                auto a = field_addresses(f.value);
                if (!a.empty()) return a.front();
            } catch (const Error &e) {
                throw Error(e.status(), std::string("the ") + (name[0] == 's' ? "Sender" : "From") +
                                            " field of the message: " + e.what());
            }
        }
    }
    return "";
}

size_t RawMessage::read(char *buf, size_t cap)
{
    if (!prepared_) prepare(false, false);
    size_t n = 0;
    if (head_pos_ < head_.size()) {
        n = std::min(cap, head_.size() - head_pos_);
        std::memcpy(buf, head_.data() + head_pos_, n);
        head_pos_ += n;
    }
    if (n < cap) n += pull(buf + n, cap - n);
    if (n == 0 && fd_ >= 0) {
        // the end: the file must still be the one that was measured
        struct stat st {};
        if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) != total_ || mtime_of(st) != mtime_ns_)
            throw Error(UPOP_E_FILE, "the message file '" + path_ + "' changed while it was sent (" +
                                         std::to_string(total_) + " bytes when it was opened)");
    }
    return n;
}

} // namespace upopmail::mime
