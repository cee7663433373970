// The receiving operations: LogonMail / LogoffMail, ListMail, GetRawMail, DeleteMail.
#include <algorithm>
#include <cstdint>
#include <map>

#include "component.hpp"
#include "error.hpp"
#include "mime/list.hpp"
#include "mime/parse.hpp"
#include "net/endpoint.hpp"
#include "net/tls_profile.hpp"
#include "secret.hpp"

namespace upopmail {

namespace {

std::string clean(std::string v)
{
    for (auto &c : v)
        if (c == mime::kGold || c == '\r' || c == '\n' || c == '\t' || c == '\0') c = ' '; // NUL: C strings
    return std::string(mime::trim(v));
}

} // namespace

bool Component::pop_open() const { return pop_ && pop_->wire().is_open(); }

void Component::end_pop_lifetime() noexcept
{
    if (pop_) {
        pop_ctx_.close_all(pop_.get());
        pop_->wire().close(); // no QUIT: deletions are not committed when the connection is lost
    }
    pop_.reset();
    uidl_index_.reset();
    if (pop_ctx_.state() == security::Context::State::Locked) pop_ctx_.mark_used();
}

void Component::connect_pop(const std::string &connection, const std::string &user, const std::string &password)
{
    if (pop_open()) throw Error(UPOP_E_ACTIVE, "already logged on to a POP3 server (log off first)");
    for (auto *v : {&user, &password})
        if (v->find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
            throw Error(UPOP_E_PARAM, "the user name or password contains a line break or NUL byte");
    pop_.reset();
    uidl_index_.reset();
    net::Endpoint ep = net::parse_endpoint(connection, UPOP_POP);
    auto config = tls_cache_.config(config_path_, UPOP_POP);
    const net::TlsProfile &profile = config->profile(ep.profile);
    pop_ = std::make_unique<proto::Pop3Session>(tracer_, &cancel_, timeout_ms_);
    pop_->wire().set_low_speed_bytes(low_speed_bytes_);
    pop_->wire().stream().use_tls_cache(&tls_cache_, UPOP_POP);
    try {
        pop_->open(ep, profile);
        auto outcome = pop_ctx_.establish(*pop_, config->default_profile());
        if (!outcome.authenticated) {
            // The default mechanism: LogonMail's user and password with USER/PASS.
            if (user.empty())
                throw Error(UPOP_E_PARAM, "no user name was given and no authenticating driver was used");
            std::string exposure = pop_->credential_exposure();
            if (!exposure.empty() && !allow_plaintext_)
                throw Error(UPOP_E_SECURITY, "USER/PASS would send the password " + exposure + ": " +
                                                 (pop_->tls_active() ? "verify the server's certificate (verify_server=yes "
                                                                       "and its CA)"
                                                                     : "connect with TLS:, add the STARTTLS driver to the "
                                                                       "POP context") +
                                                 ", or set the option allow_plaintext=true");
            auto r = pop_->command("USER " + user);
            if (r.code == 1) r = pop_->command(upopmail::Secret("PASS " + password).reveal(), 5);
            if (r.code != 1)
                throw Error(UPOP_E_PARAM, "the server " + pop_->wire().peer() + " refused the logon: -ERR " +
                                              upopmail::printable(r.text()));
        }
        pop_ctx_.lock();
    } catch (const Error &e) {
        pop_ctx_.close_all(pop_.get());
        pop_->wire().close();
        pop_.reset();
        int status = e.status() == kProtocolError ? UPOP_E_SECURITY : e.status();
        if (status == UPOP_E_UNSUPPORTED || status == UPOP_E_SECURITY) pop_ctx_.mark_used();
        throw Error(status, e.what());
    }
}

void Component::disconnect_pop()
{
    if (!pop_open()) {
        pop_.reset();
        throw Error(UPOP_E_SECURITY, "not logged on to a POP3 server");
    }
    pop_ctx_.close_all(pop_.get());
    std::string why = pop_->quit(); // QUIT commits the deletions
    std::string peer = pop_->wire().peer();
    pop_.reset();
    uidl_index_.reset();
    pop_ctx_.mark_used();
    if (!why.empty())
        throw Error(UPOP_E_NETWORK, "the POP3 server " + peer + " did not confirm QUIT: " + why +
                                        "; the deletions of this session were not confirmed (the messages may still "
                                        "be in the mailbox); the connection is closed");
}

proto::Pop3Session &Component::pop_session(const char *op)
{
    if (!pop_open()) {
        end_pop_lifetime();
        throw Error(UPOP_E_SECURITY, std::string(op) + ": not logged on to a POP3 server (call upop_connect with UPOP_POP first)");
    }
    return *pop_;
}

int Component::list_mail(std::string &out)
{
    auto &s = pop_session("ListMail");
    try {
        auto stat = s.command("STAT");
        if (stat.code != 1) throw Error(UPOP_E_RETRIEVAL, "the server refused STAT: -ERR " + upopmail::printable(stat.text()));
        // "+OK count octets"
        long count = std::strtol(stat.text().c_str(), nullptr, 10);
        if (count < 0 || count > 1000000) throw Error(UPOP_E_RETRIEVAL, "the server reported an impossible message count");
        std::map<long, std::string> sizes;
        // Message numbers come from LIST: after a DELE in this session they have gaps, and STAT
        // counts only the messages left.
        const long max_nr = 10000000;
        auto scan = [&](const char *cmd, std::map<long, std::string> &into) {
            auto r = s.command(cmd);
            if (r.code != 1) return false;
            s.read_multiline([&](std::string_view l) {
                std::string line(l);
                auto sp = line.find(' ');
                if (sp == std::string::npos) return;
                long n = std::strtol(line.c_str(), nullptr, 10);
                if (n >= 1 && n <= max_nr && into.size() < 1000000) into[n] = clean(line.substr(sp + 1));
            }, 64ull * 1024 * 1024);
            return true;
        };
        bool listed = scan("LIST", sizes);
        // UIDL is optional too; ListMail shows the well-formed entries (upop_find_uidl is strict)
        std::map<int32_t, std::string> uidls;
        if (auto u = s.uidl_listing()) uidls = std::move(u->by_nr);
        std::vector<long> numbers; // without LIST: 1..count, one entry per message actually asked
        if (listed)
            for (auto &kv : sizes) numbers.push_back(kv.first);
        else
            for (long n = 1; n <= count; ++n) numbers.push_back(n);
        // headers of every message with TOP n 0, pipelined in batches when offered. TOP is
        // optional (RFC 1939): without it (CAPA lists no TOP, or the server refuses it) every
        // message is still listed, with empty FROM, SUBJECT, DATE and PRIORITY 0.
        bool use_top = s.capabilities().empty() || s.has_capability("TOP");
        if (!use_top) s.wire().trace_event("the server does not offer TOP: messages listed without header fields");
        std::vector<std::string> items;
        int entries = 0;
        const size_t batch = s.pipelining() ? 64 : 1;
        for (size_t first = 0; first < numbers.size(); first += batch) {
            size_t last = std::min(numbers.size(), first + batch);
            if (use_top && batch > 1) {
                std::string cmds;
                for (size_t i = first; i < last; ++i) {
                    long n = numbers[i];
                    std::string c = "TOP " + std::to_string(n) + " 0";
                    s.wire().tracer().line(UPOP_POP, '>', c);
                    cmds += c + "\r\n";
                }
                s.wire().send_raw(cmds);
            }
            for (size_t i = first; i < last; ++i) {
                long n = numbers[i];
                mime::Part h;
                if (use_top) {
                    auto r = batch > 1 ? s.read_reply() : s.command("TOP " + std::to_string(n) + " 0");
                    if (r.code == 1) {
                        std::string head;
                        s.read_multiline([&](std::string_view l) { head.append(l).append("\r\n"); }, 4ull * 1024 * 1024);
                        // the same header decoding as GetMail (RFC 2047, unfolding)
                        try {
                            h = mime::parse_message(head + "\r\n");
                        } catch (const Error &) {
                            // a header beyond the parser's bounds: listed with empty fields
                        }
                    } else if (!listed) {
                        continue; // numbered from STAT only: this one may not exist
                    }
                }
                ++entries;
                items.push_back("NMB=" + std::to_string(entries));
                items.push_back("ID=" + std::to_string(n));
                items.push_back("FROM=" + clean(mime::header_list_value(h, "from")));
                items.push_back("SUBJECT=" + clean(mime::header_list_value(h, "subject")));
                items.push_back("DATE=" + clean(mime::header_list_value(h, "date")));
                items.push_back("PRIORITY=" + std::to_string(mime::header_priority(h)));
                auto size = sizes.find(n);
                items.push_back("SIZE=" + (size == sizes.end() ? std::string() : size->second));
                if (auto u = n <= INT32_MAX ? uidls.find(static_cast<int32_t>(n)) : uidls.end(); u != uidls.end())
                    items.push_back("UIDL=" + u->second);
            }
        }
        out = mime::join_list(items);
        return entries;
    } catch (...) {
        if (!pop_open()) end_pop_lifetime(); // the connection is gone: so is the lifetime
        throw;                                // (c_api reports a protocol error as -9)
    }
}

void Component::check_msg_nr(int32_t n)
{
    if (n < 1) throw Error(UPOP_E_UNSUPPORTED, "message number " + std::to_string(n) + " is invalid (numbers start at 1)");
}

void Component::get_raw_mail(int32_t n, int64_t mail_size, std::string &out)
{
    auto &s = pop_session("GetRawMail");
    check_msg_nr(n);
    try {
        auto list = s.command("LIST " + std::to_string(n));
        if (list.code != 1)
            throw Error(UPOP_E_UNSUPPORTED, "there is no message number " + std::to_string(n) + ": -ERR " +
                                                upopmail::printable(list.text()));
        // "+OK n octets"
        std::string t = list.text();
        auto sp = t.find(' ');
        uint64_t size = sp == std::string::npos ? 0 : std::strtoull(t.c_str() + sp + 1, nullptr, 10);
        if (mail_size > 0 && size > static_cast<uint64_t>(mail_size))
            throw Error(UPOP_E_SIZE, "message " + std::to_string(n) + " has " + std::to_string(size) +
                                         " bytes, more than MailSize " + std::to_string(mail_size));
        auto r = s.command("RETR " + std::to_string(n));
        if (r.code != 1)
            throw Error(UPOP_E_RETRIEVAL, "the server refused RETR " + std::to_string(n) + ": -ERR " +
                                              upopmail::printable(r.text()));
        // The announced size is the server's claim: it may refuse the message early (above) and
        // be the progress total, but never decide an allocation alone. The buffer starts at 1 MiB
        // at most; once the data has outgrown it, the claim (bounded by kMaxMessageBytes and
        // MailSize) decides the next size, so that a large message is not copied at every
        // doubling. The data streams from the read buffer into out: one copy, no string per line.
        constexpr uint64_t kMaxReserve = 1024 * 1024;
        const uint64_t limit = mail_size > 0 ? static_cast<uint64_t>(mail_size) : 0;
        uint64_t bound = proto::kMaxMessageBytes;
        if (limit) bound = std::min(bound, limit);
        out.clear();
        out.reserve(static_cast<size_t>(std::min({size, kMaxReserve, bound})));
        const int64_t total = size > static_cast<uint64_t>(INT64_MAX) ? 0 : static_cast<int64_t>(size);
        uint64_t received = 0;
        bool cancelled = false;
        s.stream_multiline([&](std::string_view chunk) {
            received += chunk.size();
            if (limit && received > limit) return; // read on to the end: the session stays in step
            if (out.size() + chunk.size() > out.capacity()) {
                uint64_t want = std::max<uint64_t>(out.size() + chunk.size(), 2 * out.capacity());
                if (size > want) want = size + size / 64 + 4096; // the claim, once the data outgrew 1 MiB
                out.reserve(static_cast<size_t>(std::min(want, bound + 4096)));
            }
            out.append(chunk);
            if (progress_ && !cancelled && progress_(progress_user_, static_cast<int64_t>(out.size()), total) != 0)
                cancelled = true;
        });
        s.wire().trace_event("received " + std::to_string(received) + " bytes of message " + std::to_string(n));
        if (limit && received > limit) {
            out.clear();
            throw Error(UPOP_E_SIZE, "message " + std::to_string(n) + " has " + std::to_string(received) +
                                         " bytes, more than MailSize " + std::to_string(mail_size) +
                                         " (the server announced " + std::to_string(size) + ")");
        }
        if (cancelled) throw Error(UPOP_E_MISC, "GetRawMail was cancelled by the progress callback");
    } catch (...) {
        if (!pop_open()) end_pop_lifetime(); // the connection is gone: so is the lifetime
        throw;                                // (c_api reports a protocol error as -9)
    }
}

int Component::retrieve(const int32_t *nrs, size_t count, bool headers, upop_chunk_fn fn, void *user)
{
    auto &s = pop_session("upop_retrieve");
    for (size_t i = 0; i < count; ++i) check_msg_nr(nrs[i]);
    try {
        // One LIST when every message is asked or the progress callback wants a total: the
        // numbers (with gaps after DELE) and the sizes, which are the server's claims and only
        // ever the progress total, never an allocation.
        std::vector<int32_t> numbers;
        std::map<int32_t, uint64_t> sizes;
        if (nrs && count == 0) return UPOP_OK;
        const bool listed = !nrs || progress_;
        if (listed) {
            auto r = s.command("LIST");
            if (r.code != 1)
                throw Error(UPOP_E_RETRIEVAL, "upop_retrieve: the server refused LIST: -ERR " + upopmail::printable(r.text()));
            s.read_multiline([&](std::string_view l) {
                // "nr size": numbers past INT32_MAX or malformed lines are not messages of ours
                char *end = nullptr;
                std::string line(l.substr(0, 64));
                long long n = std::strtoll(line.c_str(), &end, 10);
                if (n < 1 || n > INT32_MAX || end == line.c_str() || *end != ' ' || sizes.size() >= 1000000) return;
                sizes[static_cast<int32_t>(n)] = std::strtoull(end + 1, nullptr, 10);
            }, 64ull * 1024 * 1024);
        }
        if (nrs) numbers.assign(nrs, nrs + count);
        else
            for (auto &kv : sizes) numbers.push_back(kv.first);
        int64_t total = 0;
        for (int32_t n : numbers) {
            auto it = sizes.find(n);
            if (it != sizes.end()) total += static_cast<int64_t>(std::min<uint64_t>(it->second, proto::kMaxMessageBytes));
        }

        const char *verb = headers ? "TOP " : "RETR ";
        const size_t window = s.pipelining() ? 32 : 1;
        const size_t window_bytes = 64 * 1024;
        std::vector<int32_t> asked; // commands sent, answers not read yet (in order)
        size_t next = 0, first = 0; // next number to ask; first outstanding in asked
        bool stopped = false;       // fn or the progress callback said stop
        std::string stop_sentence;
        int refused_status = 0;
        size_t refused = 0;
        std::string refused_sentence;
        int64_t done = 0;
        auto refuse = [&](int status, std::string sentence) {
            if (!refused_status) refused_status = status, refused_sentence = std::move(sentence);
            ++refused;
        };
        auto skip_unlisted = [&] {
            while (!stopped && next < numbers.size() && listed && !sizes.count(numbers[next])) {
                refuse(UPOP_E_UNSUPPORTED, "message " + std::to_string(numbers[next]) + " is not in the mailbox (LIST)");
                ++next;
            }
        };
        for (;;) {
            // keep the window full: refill when half of it is answered
            skip_unlisted();
            if (!stopped && next < numbers.size() && asked.size() - first <= window / 2) {
                std::string cmds;
                while (next < numbers.size() && asked.size() - first < window && cmds.size() < window_bytes) {
                    if (listed && !sizes.count(numbers[next])) {
                        skip_unlisted();
                        continue;
                    }
                    std::string c = verb + std::to_string(numbers[next]) + (headers ? " 0" : "");
                    s.wire().tracer().line(UPOP_POP, '>', c);
                    cmds.append(c).append("\r\n");
                    asked.push_back(numbers[next++]);
                }
                if (!cmds.empty()) s.wire().send_raw(cmds);
            }
            if (first == asked.size()) break;
            const int32_t n = asked[first++];
            auto r = s.read_reply();
            if (r.code != 1) {
                refuse(UPOP_E_RETRIEVAL, "the server refused " + std::string(verb) + std::to_string(n) + ": -ERR " +
                                             upopmail::printable(r.text()));
                continue;
            }
            uint64_t received = 0;
            s.stream_multiline([&](std::string_view chunk) {
                received += chunk.size();
                if (stopped) return; // read on to the end: the session stays in step
                if (fn(user, n, chunk.data(), chunk.size(), 0) != 0) {
                    stopped = true;
                    stop_sentence = "upop_retrieve was stopped by the callback (message " + std::to_string(n) + ")";
                    return;
                }
                done += static_cast<int64_t>(chunk.size());
                if (progress_ && progress_(progress_user_, done, total) != 0) {
                    stopped = true;
                    stop_sentence = "upop_retrieve was stopped by the progress callback (message " + std::to_string(n) + ")";
                }
            });
            if (!stopped && fn(user, n, "", 0, 1) != 0) {
                stopped = true;
                stop_sentence = "upop_retrieve was stopped by the callback (at the end of message " + std::to_string(n) + ")";
            }
            s.wire().trace_event("received " + std::to_string(received) + " bytes of message " + std::to_string(n));
        }
        if (stopped)
            throw Error(UPOP_E_MISC, stop_sentence + "; the responses already asked for were read to their end, the "
                                                     "session goes on");
        if (refused_status)
            throw Error(refused_status, "upop_retrieve: " + refused_sentence +
                                            (refused > 1 ? " (" + std::to_string(refused) + " messages skipped)" : "") +
                                            "; the other messages were handed out");
        return UPOP_OK;
    } catch (...) {
        if (!pop_open()) end_pop_lifetime(); // the connection is gone: so is the lifetime
        throw;
    }
}

void Component::delete_mail(int32_t n)
{
    auto &s = pop_session("DeleteMail");
    check_msg_nr(n);
    try {
        auto r = s.command("DELE " + std::to_string(n));
        if (r.code != 1)
            throw Error(UPOP_E_UNSUPPORTED, "the server refused to delete message " + std::to_string(n) + ": -ERR " +
                                                upopmail::printable(r.text()));
        if (uidl_index_) std::erase_if(*uidl_index_, [n](const auto &kv) { return kv.second == n; });
    } catch (...) {
        if (!pop_open()) end_pop_lifetime(); // the connection is gone: so is the lifetime
        throw;                                // (c_api reports a protocol error as -9)
    }
}

int32_t Component::find_uidl(const std::string &uidl)
{
    auto &s = pop_session("upop_find_uidl");
    if (uidl.empty()) throw Error(UPOP_E_PARAM, "upop_find_uidl: the unique-id is empty");
    if (uidl.size() > 70) throw Error(UPOP_E_PARAM, "upop_find_uidl: a unique-id has at most 70 characters (RFC 1939), this one has " + std::to_string(uidl.size()));
    for (unsigned char c : uidl)
        if (c < 0x21 || c > 0x7E)
            throw Error(UPOP_E_PARAM, "upop_find_uidl: the unique-id " + quote(uidl) +
                                          " has a blank, control or non-ASCII character (RFC 1939 allows 0x21 to 0x7E)");
    try {
        if (!uidl_index_) {
            std::string refusal;
            auto listing = s.uidl_listing(&refusal);
            if (!listing)
                throw Error(UPOP_E_RETRIEVAL, "upop_find_uidl: the server " + s.wire().peer() +
                                                  " refused UIDL (it may not support unique-ids): -ERR " +
                                                  upopmail::printable(refusal));
            if (listing->faults)
                throw Error(UPOP_E_RETRIEVAL, "upop_find_uidl: the server's UIDL listing is malformed: " +
                                                  listing->problem +
                                                  (listing->faults > 1 ? " (" + std::to_string(listing->faults) +
                                                                             " malformed lines)"
                                                                       : ""));
            std::unordered_map<std::string, int32_t> index;
            index.reserve(listing->by_nr.size());
            for (auto &[n, id] : listing->by_nr)
                if (auto [it, fresh] = index.emplace(id, n); !fresh)
                    throw Error(UPOP_E_RETRIEVAL, "upop_find_uidl: the server's UIDL listing is malformed: messages " +
                                                      std::to_string(it->second) + " and " + std::to_string(n) +
                                                      " have the same unique-id " + quote(id));
            uidl_index_ = std::move(index);
        }
    } catch (...) {
        if (!pop_open()) end_pop_lifetime(); // the connection is gone: so is the lifetime
        throw;
    }
    auto it = uidl_index_->find(uidl);
    if (it == uidl_index_->end())
        throw Error(UPOP_E_UNSUPPORTED, "upop_find_uidl: no message with the unique-id " + quote(uidl) +
                                            " is in the mailbox (or it was deleted in this session)");
    return it->second;
}

} // namespace upopmail
