// The extern "C" entry points: argument checks, the exception barrier, status codes, and the
// caller-buffer outputs. Nothing C++ crosses this boundary.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "component.hpp"
#include "error.hpp"
#include "mime/charset.hpp"
#include "printable.hpp"
#include "security/registry.hpp"
#include "secret.hpp"
#include "upopmail.h"

namespace upopmail {
// What ListMail, GetMail or GetRawMail produced and has not handed out yet: the X protocol.
struct PendingOutput {
    bool active = false;
    std::string out[3];
    size_t done[3] = {0, 0, 0}; // bytes of out[i] handed out
    int status = 0;             // the operation's final status, returned with the last part
    std::string sentence;       // and its sentence (GetMail's warnings)
    void clear() noexcept
    {
        active = false;
        for (auto &o : out) std::string().swap(o);
        std::fill(std::begin(done), std::end(done), 0);
        status = 0;
        sentence.clear();
    }
};
} // namespace upopmail

struct upop {
    upopmail::Component c;
    upopmail::PendingOutput list, raw, mail;
    // LogonMail and LogoffMail discard what was not handed out.
    void discard_pending() noexcept
    {
        list.clear();
        raw.clear();
        mail.clear();
    }
};

namespace {

// upop_last_error(NULL): the sentence of the last call without a handle on this thread
// (upop_create, upop_registry_add_path, or any call given a NULL handle); "" after a success.
thread_local std::string g_error_without_handle = "no handle: no call without a handle (upop_create, "
                                                  "upop_registry_add_path, or a call given a NULL handle) "
                                                  "was made on this thread";

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

// A function given a NULL handle: -10, and the sentence for upop_last_error(NULL).
int null_handle(const char *function) noexcept
{
    try {
        g_error_without_handle = std::string(function) + ": the handle is NULL (upop_create makes one)";
    } catch (...) {
        g_error_without_handle.clear();
    }
    return UPOP_E_MISC;
}

// Runs f, turning every exception into a status and the handle's sentence. function names the
// entry point for the sentence of a NULL handle.
template <class F> int call(upop *h, const char *function, F &&f, int memory_status = UPOP_E_MEMORY)
{
    if (!h) return null_handle(function);
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

// One caller buffer of an output.
struct Out {
    char *buf;
    size_t cap;
    const char *name; // "the properties", for sentences
};

// The length of the character that starts v: a well-formed UTF-8 sequence, or one byte that is
// none (raw mail need not be UTF-8).
size_t char_length(std::string_view v, size_t i)
{
    return std::max<size_t>(1, upopmail::mime::utf8_sequence_length(v, i));
}

// How many bytes of v fit a buffer of cap bytes (its NUL included) without cutting a character.
size_t fitting(std::string_view v, size_t cap)
{
    if (cap == 0) return 0;
    size_t room = cap - 1;
    if (v.size() <= room) return v.size();
    // the character that crosses the cut starts at most 3 bytes before it
    for (size_t k = 1; k <= 3 && k <= room; ++k) {
        size_t p = room - k;
        if ((static_cast<unsigned char>(v[p]) & 0xC0) == 0x80) continue;
        return p + char_length(v, p) > room ? p : room;
    }
    return room;
}

// Writes the next part of every output, all or nothing: a buffer that cannot hold the next
// character of its output (NULL, cap 0, or smaller than the sequence and its NUL) writes and
// consumes nothing in any output and is UPOP_E_MISC. An output with nothing left writes ""
// (when there is room for the NUL). taken[i] receives the bytes written; true when everything
// left was written.
bool write_parts(const std::string_view *rest, const Out *outs, size_t n, size_t *taken, const char *continue_with)
{
    for (size_t i = 0; i < n; ++i) {
        size_t cap = outs[i].buf ? outs[i].cap : 0;
        if (!rest[i].empty() && fitting(rest[i], cap) == 0)
            throw upopmail::Error(
                UPOP_E_MISC, std::string("the buffer for ") + outs[i].name + " (" +
                                 (outs[i].buf ? "cap " + std::to_string(outs[i].cap) : std::string("NULL")) +
                                 ") cannot hold its next character (" + std::to_string(char_length(rest[i], 0)) +
                                 " bytes and the NUL); nothing was consumed" +
                                 (continue_with ? std::string(": call ") + continue_with + " with a larger buffer" : ""));
    }
    bool all = true;
    for (size_t i = 0; i < n; ++i) {
        taken[i] = 0;
        if (outs[i].buf && outs[i].cap > 0) {
            taken[i] = fitting(rest[i], outs[i].cap);
            std::memcpy(outs[i].buf, rest[i].data(), taken[i]);
            outs[i].buf[taken[i]] = 0;
        }
        if (taken[i] < rest[i].size()) all = false;
    }
    return all;
}

// The small outputs (GetSecurity, GetSMTPResponse, GetRecipientDetails): what fits, else -16.
void put(std::initializer_list<std::string_view> values, std::initializer_list<Out> outs, const char *what)
{
    size_t taken[3];
    if (!write_parts(values.begin(), outs.begin(), outs.size(), taken, nullptr))
        throw upopmail::Error(UPOP_E_MORE, std::string(what) + " did not fit the buffer and " +
                                               (outs.size() > 1 ? "were" : "was") + " truncated");
}

// Hands out the next parts of a pending output: -16 while more remains, else the final status.
int next_parts(upop *h, upopmail::PendingOutput &p, std::initializer_list<Out> outs, const char *x_name)
{
    if (!p.active)
        throw upopmail::Error(UPOP_E_MISC, std::string(x_name) +
                                               ": nothing is pending (the output of the earlier call was handed out "
                                               "completely or discarded by LogonMail/LogoffMail, or there was none)");
    std::string_view rest[3];
    size_t n = outs.size(), taken[3];
    for (size_t i = 0; i < n; ++i) rest[i] = std::string_view(p.out[i]).substr(p.done[i]);
    bool all = write_parts(rest, outs.begin(), n, taken, x_name);
    size_t left = 0;
    for (size_t i = 0; i < n; ++i) p.done[i] += taken[i], left += rest[i].size() - taken[i];
    if (!all) {
        h->c.last_error = "the output did not fit the buffer: " + std::to_string(left) + " more bytes; call " +
                          x_name + " for the next part";
        return UPOP_E_MORE;
    }
    int status = p.status;
    h->c.last_error = p.sentence;
    p.clear();
    return status;
}

// The sentence of a successful Send, SendRaw or SendMail: the refused recipients
// (IgnoreRcptError) and a DSN that the server could not be asked for; "" when neither.
int sent(upopmail::Component &c, int refused)
{
    std::string s;
    if (refused > 0)
        s = std::to_string(refused) + (refused == 1 ? " recipient was" : " recipients were") +
            " refused and left out (IgnoreRcptError); upop_get_recipient_details lists them";
    if (c.dsn_not_requested())
        s += std::string(s.empty() ? "" : "; ") +
             "DSN not requested: the server does not offer DSN (RFC 3461), so Notify, Ret and EnvId were not sent; "
             "the message was sent";
    c.last_error = s;
    return refused;
}

} // namespace

extern "C" {

UPOP_API int upop_create(upop **out)
{
    if (!out) {
        set_sentence(g_error_without_handle, "upop_create: out is NULL (give the address of a upop * variable)");
        return UPOP_E_MISC;
    }
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
    return call(h, __func__, [&](upopmail::Component &c) {
        upopmail::Secret params(str(parameters)); // may hold passwords: wiped
        c.set_security(str(properties), params.reveal());
        return UPOP_OK;
    }, UPOP_E_SIZE);
}

UPOP_API int upop_get_security(upop *h, int32_t driver_number, const char *server, char *properties,
                               size_t properties_cap, char *runtime_info, size_t runtime_info_cap)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        std::string p, r;
        c.get_security(driver_number, str(server), p, r);
        put({p, r}, {{properties, properties_cap, "the properties"}, {runtime_info, runtime_info_cap, "the runtime info"}},
            "the properties or the runtime info");
        return UPOP_OK;
    }, UPOP_E_SIZE);
}

UPOP_API int upop_connect(upop *h, int server, const char *connection, const char *user, const char *password)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        if (server == UPOP_POP) h->discard_pending();
        upopmail::Secret pass(str(password));
        c.connect(server, str(connection), str(user), pass.reveal());
        return UPOP_OK;
    });
}

UPOP_API int upop_disconnect(upop *h, int server)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        if (server == UPOP_POP) h->discard_pending();
        c.disconnect(server);
        return UPOP_OK;
    });
}

UPOP_API int upop_set_to_list(upop *h, const char *list)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_list(&upopmail::mime::Message::to, str(list)), UPOP_OK; });
}
UPOP_API int upop_set_cc_list(upop *h, const char *list)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_list(&upopmail::mime::Message::cc, str(list)), UPOP_OK; });
}
UPOP_API int upop_set_bcc_list(upop *h, const char *list)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_list(&upopmail::mime::Message::bcc, str(list)), UPOP_OK; });
}
UPOP_API int upop_set_reply_to(upop *h, const char *address)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_reply_to(str(address)), UPOP_OK; });
}
UPOP_API int upop_set_from(upop *h, const char *address)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_from(str(address)), UPOP_OK; });
}
UPOP_API int upop_set_subject(upop *h, const char *subject)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_subject(str(subject)), UPOP_OK; });
}
UPOP_API int upop_set_priority(upop *h, int32_t priority)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_priority(priority), UPOP_OK; });
}
UPOP_API int upop_set_message_id(upop *h, const char *message_id)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_message_id(str(message_id)), UPOP_OK; });
}
UPOP_API int upop_set_message(upop *h, const char *text, const char *options)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_message(str(text), str(options)), UPOP_OK; });
}

UPOP_API int upop_add_attachment_from_file(upop *h, const char *path, const char *options)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.add_file(false, str(path), str(options)), UPOP_OK; });
}

UPOP_API int upop_add_inline_from_file(upop *h, const char *path, const char *options)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.add_file(true, str(path), str(options)), UPOP_OK; });
}

UPOP_API int upop_send(upop *h, const char *options)
{
    return call(h, __func__, [&](upopmail::Component &c) { return sent(c, c.send(str(options))); });
}

UPOP_API int upop_send_raw(upop *h, const void *message, size_t len, const char *recipients, const char *options)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        if (!message && len > 0)
            throw upopmail::Error(UPOP_E_MISC, "upop_send_raw: message is NULL but len is " + std::to_string(len));
        std::string_view m(static_cast<const char *>(message), message ? len : 0);
        return sent(c, c.send_raw(m, str(recipients), str(options)));
    });
}

UPOP_API int upop_send_raw_file(upop *h, const char *path, const char *recipients, const char *options)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        return sent(c, c.send_raw_file(str(path), str(recipients), str(options)));
    });
}

UPOP_API int upop_set_envelope_from(upop *h, const char *address)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_envelope_from(str(address)), UPOP_OK; });
}

UPOP_API int upop_add_header(upop *h, const char *name, const char *value)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.add_header(str(name), str(value)), UPOP_OK; });
}

UPOP_API int upop_add_attachment_from_memory(upop *h, const void *data, size_t len, const char *name,
                                             const char *options)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        if (!data && len > 0)
            throw upopmail::Error(UPOP_E_MISC, "upop_add_attachment_from_memory: data is NULL but len is " +
                                                   std::to_string(len));
        std::string_view d(static_cast<const char *>(data), data ? len : 0);
        return c.add_memory(d, str(name), str(options)), UPOP_OK;
    });
}

UPOP_API int upop_send_mail(upop *h, const char *server, const char *header_list, const char *text,
                            const char *att_list, int64_t mail_size)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        return sent(c, c.send_mail(str(server), str(header_list), str(text), str(att_list), mail_size));
    });
}

UPOP_API int upop_clear_mail(upop *h)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.clear_mail(), UPOP_OK; });
}

UPOP_API int upop_list_mail(upop *h, char *list_info, size_t cap)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        auto &p = h->list;
        p.clear();
        p.status = c.list_mail(p.out[0]);
        p.active = true;
        return next_parts(h, p, {{list_info, cap, "the list"}}, "upop_list_mail_x");
    });
}

UPOP_API int upop_list_mail_x(upop *h, char *list_info, size_t cap)
{
    return call(h, __func__, [&](upopmail::Component &) {
        return next_parts(h, h->list, {{list_info, cap, "the list"}}, "upop_list_mail_x");
    });
}

UPOP_API int upop_get_mail(upop *h, int32_t msg_nr, const char *att_loc, int64_t mail_size, char *header_list,
                           size_t header_cap, char *text, size_t text_cap, char *att_list, size_t att_cap)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        auto &p = h->mail;
        p.clear();
        p.status = c.get_mail(msg_nr, str(att_loc), mail_size, p.out[0], p.out[1], p.out[2]);
        p.sentence = c.last_error; // the warnings
        p.active = true;
        return next_parts(h, p, {{header_list, header_cap, "the header list"}, {text, text_cap, "the text"},
                                 {att_list, att_cap, "the attachment list"}},
                          "upop_get_mail_x");
    });
}

UPOP_API int upop_get_mail_x(upop *h, char *header_list, size_t header_cap, char *text, size_t text_cap,
                             char *att_list, size_t att_cap)
{
    return call(h, __func__, [&](upopmail::Component &) {
        return next_parts(h, h->mail, {{header_list, header_cap, "the header list"}, {text, text_cap, "the text"},
                                       {att_list, att_cap, "the attachment list"}},
                          "upop_get_mail_x");
    });
}

UPOP_API int upop_get_raw_mail(upop *h, int32_t msg_nr, int64_t mail_size, char *message, size_t cap)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        auto &p = h->raw;
        p.clear();
        c.get_raw_mail(msg_nr, mail_size, p.out[0]);
        p.active = true;
        return next_parts(h, p, {{message, cap, "the message"}}, "upop_get_raw_mail_x");
    });
}

UPOP_API int upop_get_raw_mail_x(upop *h, char *message, size_t cap)
{
    return call(h, __func__, [&](upopmail::Component &) {
        return next_parts(h, h->raw, {{message, cap, "the message"}}, "upop_get_raw_mail_x");
    });
}

UPOP_API int upop_retrieve(upop *h, const int32_t *msg_nrs, size_t count, int flags, upop_chunk_fn fn, void *user)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        if (!fn) throw upopmail::Error(UPOP_E_MISC, "upop_retrieve: fn is NULL (the callback that receives the data)");
        if (!msg_nrs && count > 0)
            throw upopmail::Error(UPOP_E_MISC, "upop_retrieve: msg_nrs is NULL but count is " + std::to_string(count) +
                                                   " (NULL with count 0 retrieves every message)");
        if (count > 1000000)
            throw upopmail::Error(UPOP_E_MISC, "upop_retrieve: count " + std::to_string(count) +
                                                   " is more than 1000000 message numbers");
        if (flags & ~UPOP_RETRIEVE_HEADERS)
            throw upopmail::Error(UPOP_E_PARAM, "upop_retrieve: flags " + std::to_string(flags) +
                                                    " has a bit other than UPOP_RETRIEVE_HEADERS (1)");
        return c.retrieve(msg_nrs, count, (flags & UPOP_RETRIEVE_HEADERS) != 0, fn, user);
    });
}

UPOP_API int upop_delete_mail(upop *h, int32_t msg_nr)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.delete_mail(msg_nr), UPOP_OK; });
}

UPOP_API int upop_find_uidl(upop *h, const char *uidl, int32_t *msg_nr)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        if (!msg_nr) throw upopmail::Error(UPOP_E_MISC, "upop_find_uidl: msg_nr is NULL (where the number is written)");
        *msg_nr = 0;
        *msg_nr = c.find_uidl(str(uidl));
        return UPOP_OK;
    });
}

UPOP_API int upop_noop(upop *h, int server)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.noop(server), UPOP_OK; });
}

UPOP_API int upop_reset(upop *h, int server)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.reset(server), UPOP_OK; });
}

UPOP_API int upop_get_smtp_response(upop *h, int32_t *reply_code, char *reply_message, size_t cap)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        if (reply_code) *reply_code = c.reply_code();
        put({c.reply_text()}, {{reply_message, cap, "the reply text"}}, "the reply text");
        return UPOP_OK;
    });
}

UPOP_API int upop_get_recipient_details(upop *h, char *to, size_t to_cap, char *cc, size_t cc_cap, char *bcc,
                                        size_t bcc_cap)
{
    return call(h, __func__, [&](upopmail::Component &c) {
        std::string t, cc_s, b;
        c.recipient_details(t, cc_s, b);
        put({t, cc_s, b}, {{to, to_cap, "the To details"}, {cc, cc_cap, "the Cc details"}, {bcc, bcc_cap, "the Bcc details"}},
            "the recipient details");
        return UPOP_OK;
    });
}

UPOP_API int upop_set_option(upop *h, const char *name, const char *value)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_option(str(name), str(value)), UPOP_OK; });
}

UPOP_API int upop_set_trace(upop *h, upop_trace_fn fn, void *user)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_trace(fn, user), UPOP_OK; });
}

UPOP_API int upop_set_progress(upop *h, upop_progress_fn fn, void *user)
{
    return call(h, __func__, [&](upopmail::Component &c) { return c.set_progress(fn, user), UPOP_OK; });
}

UPOP_API int upop_cancel(upop *h)
{
    if (!h) return null_handle(__func__);
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

UPOP_API const char *upop_strerror(int status)
{
    // The table at the status enum of upopmail.h, in sentences.
    switch (status) {
    case 0: return "success";
    case 1:
        return "GetMail warning 1: a part could not be decoded and was written as received (Send: 1 recipient was "
               "refused; ListMail: 1 message)";
    case 2:
        return "GetMail warning 2: a part could not be written into the attachment directory (Send: 2 recipients were "
               "refused; ListMail: 2 messages)";
    case 3:
        return "GetMail warning 3: a file name existed already and the part was written under another (Send: 3 "
               "recipients were refused; ListMail: 3 messages)";
    case UPOP_E_INIT:
        return "a security driver refused: SetSecurity: the driver rejected its parameters; GetSecurity: no such "
               "driver number";
    case UPOP_E_PARAM:
        return "a value given is refused (a bad keyword, option, value, address, path, or CR/LF in a header field); "
               "LogonMail: the server refused the credentials or the mailbox is locked; Send: the server refused "
               "the sender or the recipients";
    case UPOP_E_ACTIVE:
        return "already logged on, or SetSecurity during a connection lifetime";
    case UPOP_E_TIMEOUT: return "network time-out or cancelled: the connection is closed";
    case UPOP_E_ENTRY: return "no security driver of that name (for that server type)";
    case UPOP_E_SIZE:
        return "a size limit was exceeded (an argument, or a message larger than MaxSize, MailSize or the server's "
               "SIZE); SetSecurity, GetSecurity: memory allocation failed";
    case UPOP_E_UNSUPPORTED:
        return "logon: the server does not support what a mandatory security driver needs; GetMail, GetRawMail, "
               "DeleteMail, Retrieve: no such message number; FindUIDL: no message with that unique-id";
    case UPOP_E_SECURITY:
        return "logon: the security context could not be established (TLS, authentication or a protocol error); "
               "other session operations: not logged on";
    case UPOP_E_NETWORK:
        return "network error: socket error, connection lost, bad host name or connection string, unusable TLS "
               "configuration, or the server broke the protocol";
    case UPOP_E_MISC:
        return "miscellaneous: a NULL handle or pointer, a bad server type, a buffer too small for the next "
               "character, nothing pending for an _x call, stopped by the progress or chunk callback, a server reply the "
               "operation cannot go on from, or an internal error";
    case UPOP_E_RETRIEVAL: return "a listing or message could not be retrieved";
    case UPOP_E_MISSING: return "the sender (From) or every recipient is missing";
    case UPOP_E_FILE: return "a file cannot be opened or read";
    case UPOP_E_MIME: return "MIME encoding failed";
    case UPOP_E_QUOTA: return "the server's quota is exceeded (SMTP 452/552)";
    case UPOP_E_MORE:
        return "an output did not fit its buffer: a first part was written (ListMail, GetMail, GetRawMail: the _x "
               "call gives the next part)";
    case UPOP_E_CHARSET: return "the text's character set is not supported";
    case UPOP_E_MEMORY: return "memory allocation failed";
    default: break;
    }
    if (status > 0)
        return "a count, not an error: Send: the number of refused recipients; ListMail: the number of messages";
    return "not a status of upopmail (unknown code)";
}

} // extern "C"
