// The extern "C" entry points: argument checks, the exception barrier, status codes, and the
// caller-buffer outputs. Nothing C++ crosses this boundary.
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "component.hpp"
#include "error.hpp"
#include "printable.hpp"
#include "security/registry.hpp"
#include "secret.hpp"
#include "upopmail.h"

struct upop {
    upopmail::Component c;
};

namespace {

thread_local std::string g_error_without_handle;

std::string str(const char *s) { return s ? std::string(s) : std::string(); }

// Every sentence goes out through here: valid UTF-8, control characters escaped, whatever bytes
// of the caller's or a server's it repeats.
void set_sentence(std::string &into, std::string_view sentence) noexcept
{
    try {
        into = upopmail::printable(sentence);
    } catch (...) { // out of memory: a sentence that needs no allocation
        into.clear();
    }
}

// Runs f, turning every exception into a status and the handle's sentence.
template <class F> int call(upop *h, F &&f, int memory_status = UPOP_E_MEMORY)
{
    if (!h) return UPOP_E_MISC;
    std::string &sentence = h->c.last_error;
    sentence.clear();
    int status;
    try {
        status = f(h->c);
    } catch (const upopmail::Error &e) {
        sentence = e.what();
        // a cancellation is consumed by the blocking call it ended
        if (e.status() == UPOP_E_TIMEOUT && h->c.canceller().cancelled()) h->c.canceller().reset();
        status = e.status() == upopmail::kProtocolError ? UPOP_E_NETWORK : e.status();
    } catch (const std::bad_alloc &) {
        sentence.clear();
        status = memory_status;
    } catch (const std::exception &e) {
        sentence = std::string("internal error: ") + e.what();
        status = UPOP_E_MISC;
    } catch (...) {
        sentence = "internal error";
        status = UPOP_E_MISC;
    }
    if (status == memory_status && sentence.empty()) sentence = "out of memory";
    if (!sentence.empty()) set_sentence(sentence, sentence);
    return status;
}

// Copies value into (buf, cap), never splitting a UTF-8 sequence. 0 or UPOP_E_MORE.
int put(const std::string &value, char *buf, size_t cap)
{
    if (!buf || cap == 0) return value.empty() ? UPOP_OK : UPOP_E_MORE;
    if (value.size() < cap) {
        std::memcpy(buf, value.c_str(), value.size() + 1);
        return UPOP_OK;
    }
    size_t n = cap - 1;
    while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) --n; // value[n] starts the cut
    std::memcpy(buf, value.data(), n);
    buf[n] = 0;
    return UPOP_E_MORE;
}

} // namespace

extern "C" {

UPOP_API int upop_create(upop **out)
{
    if (!out) return UPOP_E_MISC;
    *out = nullptr;
    try {
        *out = new upop();
        g_error_without_handle.clear();
        return UPOP_OK;
    } catch (const std::bad_alloc &) {
        g_error_without_handle = "out of memory";
        return UPOP_E_MEMORY;
    } catch (const std::exception &e) {
        set_sentence(g_error_without_handle, e.what());
        return UPOP_E_MISC;
    }
}

UPOP_API void upop_destroy(upop *h)
{
    try {
        delete h;
    } catch (...) {
    }
}

UPOP_API const char *upop_version(void) { return UPOPMAIL_VERSION_STRING; }
UPOP_API int upop_abi_version(void) { return UPOP_ABI_VERSION; }

UPOP_API const char *upop_last_error(const upop *h)
{
    return h ? h->c.last_error.c_str() : g_error_without_handle.c_str();
}

UPOP_API int upop_set_security(upop *h, const char *properties, const char *parameters)
{
    return call(h, [&](upopmail::Component &c) {
        upopmail::Secret params(str(parameters)); // may hold passwords: wiped
        c.set_security(str(properties), params.reveal());
        return UPOP_OK;
    }, UPOP_E_SIZE);
}

UPOP_API int upop_get_security(upop *h, int32_t driver_number, const char *server, char *properties,
                               size_t properties_cap, char *runtime_info, size_t runtime_info_cap)
{
    return call(h, [&](upopmail::Component &c) {
        std::string p, r;
        c.get_security(driver_number, str(server), p, r);
        int a = put(p, properties, properties_cap);
        int b = put(r, runtime_info, runtime_info_cap);
        if (a || b) throw upopmail::Error(UPOP_E_MORE, "the properties or runtime info did not fit the buffer");
        return UPOP_OK;
    }, UPOP_E_SIZE);
}

UPOP_API int upop_connect(upop *h, int server, const char *connection, const char *user, const char *password)
{
    return call(h, [&](upopmail::Component &c) {
        upopmail::Secret pass(str(password));
        c.connect(server, str(connection), str(user), pass.reveal());
        return UPOP_OK;
    });
}

UPOP_API int upop_disconnect(upop *h, int server)
{
    return call(h, [&](upopmail::Component &c) {
        c.disconnect(server);
        return UPOP_OK;
    });
}

UPOP_API int upop_set_to_list(upop *h, const char *list)
{
    return call(h, [&](upopmail::Component &c) { return c.set_list(&upopmail::mime::Message::to, str(list)), UPOP_OK; });
}
UPOP_API int upop_set_cc_list(upop *h, const char *list)
{
    return call(h, [&](upopmail::Component &c) { return c.set_list(&upopmail::mime::Message::cc, str(list)), UPOP_OK; });
}
UPOP_API int upop_set_bcc_list(upop *h, const char *list)
{
    return call(h, [&](upopmail::Component &c) { return c.set_list(&upopmail::mime::Message::bcc, str(list)), UPOP_OK; });
}
UPOP_API int upop_set_reply_to(upop *h, const char *address)
{
    return call(h, [&](upopmail::Component &c) { return c.set_reply_to(str(address)), UPOP_OK; });
}
UPOP_API int upop_set_from(upop *h, const char *address)
{
    return call(h, [&](upopmail::Component &c) { return c.set_from(str(address)), UPOP_OK; });
}
UPOP_API int upop_set_subject(upop *h, const char *subject)
{
    return call(h, [&](upopmail::Component &c) { return c.set_subject(str(subject)), UPOP_OK; });
}
UPOP_API int upop_set_priority(upop *h, int32_t priority)
{
    return call(h, [&](upopmail::Component &c) { return c.set_priority(priority), UPOP_OK; });
}
UPOP_API int upop_set_message_id(upop *h, const char *message_id)
{
    return call(h, [&](upopmail::Component &c) { return c.set_message_id(str(message_id)), UPOP_OK; });
}
UPOP_API int upop_set_message(upop *h, const char *text, const char *options)
{
    return call(h, [&](upopmail::Component &c) { return c.set_message(str(text), str(options)), UPOP_OK; });
}

UPOP_API int upop_add_attachment_from_file(upop *h, const char *path, const char *options)
{
    return call(h, [&](upopmail::Component &c) { return c.add_file(false, str(path), str(options)), UPOP_OK; });
}

UPOP_API int upop_add_inline_from_file(upop *h, const char *path, const char *options)
{
    return call(h, [&](upopmail::Component &c) { return c.add_file(true, str(path), str(options)), UPOP_OK; });
}

UPOP_API int upop_send(upop *h, const char *options)
{
    return call(h, [&](upopmail::Component &c) { return c.send(str(options)); });
}

UPOP_API int upop_send_mail(upop *h, const char *server, const char *header_list, const char *text,
                            const char *att_list, int64_t mail_size)
{
    return call(h, [&](upopmail::Component &c) {
        return c.send_mail(str(server), str(header_list), str(text), str(att_list), mail_size);
    });
}

UPOP_API int upop_clear_mail(upop *h)
{
    return call(h, [&](upopmail::Component &c) { return c.clear_mail(), UPOP_OK; });
}

namespace {
// Hands out the next part of a pending output: -16 while more remains.
int next_part(std::string &pending, char *buf, size_t cap)
{
    if (!buf || cap == 0) throw upopmail::Error(UPOP_E_MISC, "the output buffer is NULL or has no room");
    if (pending.size() < cap) {
        std::memcpy(buf, pending.c_str(), pending.size() + 1);
        pending.clear();
        return UPOP_OK;
    }
    size_t n = cap - 1;
    while (n > 0 && (static_cast<unsigned char>(pending[n]) & 0xC0) == 0x80) --n;
    if (n == 0) n = cap - 1; // not UTF-8 at all: split where the buffer ends
    std::memcpy(buf, pending.data(), n);
    buf[n] = 0;
    pending.erase(0, n);
    return UPOP_E_MORE;
}
} // namespace

UPOP_API int upop_list_mail(upop *h, char *list_info, size_t cap)
{
    return call(h, [&](upopmail::Component &c) {
        c.pending_list.clear();
        c.pending_list_count = c.list_mail(c.pending_list);
        int r = next_part(c.pending_list, list_info, cap);
        return r == UPOP_E_MORE ? r : c.pending_list_count;
    });
}

UPOP_API int upop_list_mail_x(upop *h, char *list_info, size_t cap)
{
    return call(h, [&](upopmail::Component &c) {
        int r = next_part(c.pending_list, list_info, cap);
        return r == UPOP_E_MORE ? r : c.pending_list_count;
    });
}

namespace {
// The three outputs of GetMail, part by part: -16 while any of them has more.
int mail_parts(upopmail::Component &c, char *header_list, size_t header_cap, char *text, size_t text_cap,
               char *att_list, size_t att_cap)
{
    int a = next_part(c.pending_headers, header_list, header_cap);
    int b = next_part(c.pending_text, text, text_cap);
    int d = next_part(c.pending_atts, att_list, att_cap);
    return (a || b || d) ? UPOP_E_MORE : c.pending_mail_status;
}
} // namespace

UPOP_API int upop_get_mail(upop *h, int32_t msg_nr, const char *att_loc, int64_t mail_size, char *header_list,
                           size_t header_cap, char *text, size_t text_cap, char *att_list, size_t att_cap)
{
    return call(h, [&](upopmail::Component &c) {
        c.pending_headers.clear(), c.pending_text.clear(), c.pending_atts.clear();
        c.pending_mail_status = c.get_mail(msg_nr, str(att_loc), mail_size, c.pending_headers, c.pending_text,
                                           c.pending_atts);
        return mail_parts(c, header_list, header_cap, text, text_cap, att_list, att_cap);
    });
}

UPOP_API int upop_get_mail_x(upop *h, char *header_list, size_t header_cap, char *text, size_t text_cap,
                             char *att_list, size_t att_cap)
{
    return call(h, [&](upopmail::Component &c) {
        return mail_parts(c, header_list, header_cap, text, text_cap, att_list, att_cap);
    });
}

UPOP_API int upop_get_raw_mail(upop *h, int32_t msg_nr, int64_t mail_size, char *message, size_t cap)
{
    return call(h, [&](upopmail::Component &c) {
        c.pending_raw.clear();
        c.get_raw_mail(msg_nr, mail_size, c.pending_raw);
        return next_part(c.pending_raw, message, cap);
    });
}

UPOP_API int upop_get_raw_mail_x(upop *h, char *message, size_t cap)
{
    return call(h, [&](upopmail::Component &c) { return next_part(c.pending_raw, message, cap); });
}

UPOP_API int upop_delete_mail(upop *h, int32_t msg_nr)
{
    return call(h, [&](upopmail::Component &c) { return c.delete_mail(msg_nr), UPOP_OK; });
}

UPOP_API int upop_get_smtp_response(upop *h, int32_t *reply_code, char *reply_message, size_t cap)
{
    return call(h, [&](upopmail::Component &c) {
        if (reply_code) *reply_code = c.reply_code();
        if (put(c.reply_text(), reply_message, cap))
            throw upopmail::Error(UPOP_E_MORE, "the reply text did not fit the buffer");
        return UPOP_OK;
    });
}

UPOP_API int upop_get_recipient_details(upop *h, char *to, size_t to_cap, char *cc, size_t cc_cap, char *bcc,
                                        size_t bcc_cap)
{
    return call(h, [&](upopmail::Component &c) {
        std::string t, cc_s, b;
        c.recipient_details(t, cc_s, b);
        int r = put(t, to, to_cap) | put(cc_s, cc, cc_cap) | put(b, bcc, bcc_cap);
        if (r) throw upopmail::Error(UPOP_E_MORE, "the recipient details did not fit the buffers");
        return UPOP_OK;
    });
}

UPOP_API int upop_set_option(upop *h, const char *name, const char *value)
{
    return call(h, [&](upopmail::Component &c) { return c.set_option(str(name), str(value)), UPOP_OK; });
}

UPOP_API int upop_set_trace(upop *h, upop_trace_fn fn, void *user)
{
    return call(h, [&](upopmail::Component &c) { return c.set_trace(fn, user), UPOP_OK; });
}

UPOP_API int upop_set_progress(upop *h, upop_progress_fn fn, void *user)
{
    return call(h, [&](upopmail::Component &c) { return c.set_progress(fn, user), UPOP_OK; });
}

UPOP_API int upop_cancel(upop *h)
{
    if (!h) return UPOP_E_MISC;
    h->c.canceller().cancel(); // touches only the canceller: safe from another thread
    return UPOP_OK;
}

UPOP_API int upop_registry_add_path(const char *dir)
{
    try {
        upopmail::security::Registry::instance().add_path(str(dir));
        g_error_without_handle.clear();
        return UPOP_OK;
    } catch (const upopmail::Error &e) {
        set_sentence(g_error_without_handle, e.what());
        return e.status();
    } catch (const std::bad_alloc &) {
        g_error_without_handle = "out of memory";
        return UPOP_E_MEMORY;
    } catch (...) {
        g_error_without_handle = "internal error";
        return UPOP_E_MISC;
    }
}

UPOP_API char *upop_drivers_json(void)
{
    try {
        std::string j = upopmail::security::Registry::instance().to_json();
        char *p = static_cast<char *>(std::malloc(j.size() + 1));
        if (p) std::memcpy(p, j.c_str(), j.size() + 1);
        return p;
    } catch (...) {
        return nullptr;
    }
}

UPOP_API void upop_free(void *p) { std::free(p); }

} // extern "C"
