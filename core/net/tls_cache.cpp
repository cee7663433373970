#include "net/tls_cache.hpp"

#include "error.hpp"
#include "net/text.hpp"
#include "trace/trace.hpp"
#include "upopmail.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/x509_crt.h>

#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

namespace upopmail::net {

TrustStore::TrustStore() : crt_(std::make_unique<mbedtls_x509_crt>()) { mbedtls_x509_crt_init(crt_.get()); }

TrustStore::~TrustStore() { mbedtls_x509_crt_free(crt_.get()); }

EntropySource::EntropySource() : ctx_(std::make_unique<mbedtls_entropy_context>())
{
    mbedtls_entropy_init(ctx_.get());
}

EntropySource::~EntropySource() { mbedtls_entropy_free(ctx_.get()); }

mbedtls_entropy_context *TlsCache::entropy()
{
    if (!entropy_) entropy_ = std::make_unique<EntropySource>();
    return entropy_->get();
}

mbedtls_ctr_drbg_context *TlsCache::random(int *error)
{
    *error = 0;
    const long pid = static_cast<long>(::getpid());
    if (drbg_ && drbg_pid_ == pid) return drbg_.get();
    drbg_.reset();
    auto *ctx = new mbedtls_ctr_drbg_context;
    mbedtls_ctr_drbg_init(ctx);
    std::unique_ptr<mbedtls_ctr_drbg_context, void (*)(mbedtls_ctr_drbg_context *)> d(
        ctx, [](mbedtls_ctr_drbg_context *c) {
            mbedtls_ctr_drbg_free(c);
            delete c;
        });
    static const unsigned char pers[] = "upopmail tls client";
    int r = mbedtls_ctr_drbg_seed(d.get(), mbedtls_entropy_func, entropy(), pers, sizeof pers - 1);
    if (r != 0) {
        *error = r;
        return nullptr;
    }
    drbg_ = std::move(d);
    drbg_pid_ = pid;
    return drbg_.get();
}

namespace {

std::string mbed_error(int code)
{
    char buf[256];
    mbedtls_strerror(code, buf, sizeof buf);
    return buf;
}

int64_t realtime_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Regular files only (and directories when is_dir is given): the stamps of a pipe or a device
// say nothing about what reading it gives.
bool stamp(const std::string &path, FileStamp &out, bool *is_dir = nullptr)
{
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return false;
    if (!S_ISREG(st.st_mode) && !(is_dir && S_ISDIR(st.st_mode))) return false;
    out.dev = st.st_dev;
    out.ino = st.st_ino;
    out.size = static_cast<uint64_t>(st.st_size);
    out.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (is_dir) *is_dir = S_ISDIR(st.st_mode);
    return true;
}

} // namespace

std::shared_ptr<const TrustStore> load_trust_store(const TlsProfile &profile)
{
    auto store = std::make_shared<TrustStore>();
    mbedtls_x509_crt *ca = store->chain();
    const std::string prof = "TLS profile " + quote(profile.name) + ": ";
    bool any = false;
    if (!profile.ca_certificate.empty()) {
        int r = mbedtls_x509_crt_parse_file(ca, profile.ca_certificate.c_str());
        if (r < 0)
            throw Error(UPOP_E_SECURITY, prof + "cannot load ca_certificate " + quote(profile.ca_certificate) + ": " +
                                             mbed_error(r));
        any = true;
    }
    if (!profile.ca_location.empty()) {
        int r = mbedtls_x509_crt_parse_path(ca, profile.ca_location.c_str());
        if (r < 0)
            throw Error(UPOP_E_SECURITY, prof + "cannot load the certificates of ca_location " +
                                             quote(profile.ca_location) + ": " + mbed_error(r));
        any = true;
    }
    if (!any) {
        int r = mbedtls_x509_crt_parse_file(ca, kSystemCaFile);
        if (r < 0)
            throw Error(UPOP_E_SECURITY, prof + "cannot load the system trust store " + quote(kSystemCaFile) + ": " +
                                             mbed_error(r) + " (set ca_certificate or ca_location)");
    }
    if (ca->version == 0) throw Error(UPOP_E_SECURITY, prof + "the trust store contains no usable CA certificate");
    return store;
}

std::vector<std::pair<std::string, FileStamp>> TlsCache::stamps(const std::string &path, bool directory)
{
    std::vector<std::pair<std::string, FileStamp>> out;
    FileStamp s;
    bool is_dir = false;
    if (!stamp(path, s, &is_dir) || is_dir != directory) return {};
    out.emplace_back(path, s);
    if (!directory) return out;
    // What mbedtls_x509_crt_parse_path reads: every regular file of the directory (followed
    // through links).
    DIR *d = ::opendir(path.c_str());
    if (!d) return {};
    std::vector<std::string> names;
    while (const dirent *e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (auto &n : names) {
        std::string p = path + "/" + n;
        struct stat st;
        if (::stat(p.c_str(), &st) != 0) return {}; // mbedTLS fails on it too: read again, fail there
        if (!S_ISREG(st.st_mode)) continue;         // skipped by mbedTLS
        if (!stamp(p, s)) return {};
        out.emplace_back(std::move(p), s);
    }
    return out;
}

std::vector<std::pair<std::string, FileStamp>>
TlsCache::stamps_of(const std::vector<std::pair<std::string, bool>> &paths)
{
    std::vector<std::pair<std::string, FileStamp>> all;
    for (auto &[path, dir] : paths) {
        auto one = stamps(path, dir);
        if (one.empty()) return {};
        all.insert(all.end(), one.begin(), one.end());
    }
    return all;
}

void TlsCache::settle(Entry &e, std::vector<std::pair<std::string, FileStamp>> stamps, int64_t read_at_ns)
{
    // A change after read_at gets a modification time of at least read_at minus the clock's
    // granularity; only when every file's time is older than that can the stamps tell it apart
    // (and stamps taken after the read cannot hide a change made during it).
    // Granularity: a kernel tick (well under 50 ms) where times have nanoseconds, else up to
    // 2 s (whole seconds, FAT's two).
    bool settled = !stamps.empty();
    for (auto &[path, s] : stamps) {
        const int64_t grain = s.mtime_ns % 1000000000 == 0 ? 2000000000 : 50000000;
        if (s.mtime_ns >= read_at_ns - grain) settled = false;
    }
    e.stamps = std::move(stamps);
    e.settled = settled;
}

void TlsCache::note(int server, const std::string &text)
{
    if (tracer_) tracer_->event(server, text);
}

std::shared_ptr<const TlsConfig> TlsCache::config(const std::string &path_or_empty, int server)
{
    std::string path = path_or_empty;
    if (path.empty()) {
        const char *env = ::secure_getenv("UPOPMAIL_CONFIG");
        if (env) path = env;
    }
    if (path.empty()) {
        if (!config_.config || !config_path_.empty()) {
            config_ = Entry{};
            config_.config = std::make_shared<const TlsConfig>();
            config_path_.clear();
        }
        return config_.config;
    }
    // The files the profiles name are checked when the configuration is read (they must exist
    // and be readable): the configuration is read again when one of them changes, so that a
    // file gone since is reported as it was before there was a cache.
    if (config_.config && config_path_ == path && config_.settled &&
        stamps_of(config_paths_) == config_.stamps)
        return config_.config;
    config_ = Entry{};
    config_path_.clear();
    config_paths_.clear();
    const int64_t at = realtime_ns();
    auto cfg = std::make_shared<const TlsConfig>(TlsConfig::load_file(path));
    std::vector<std::pair<std::string, bool>> paths{{path, false}};
    for (const TlsProfile *p : cfg->profiles()) {
        for (auto *f : {&p->ca_certificate, &p->client_certificate, &p->client_key})
            if (!f->empty()) paths.emplace_back(*f, false);
        if (!p->ca_location.empty()) paths.emplace_back(p->ca_location, true);
    }
    // Taken after the read: a change in between has a time after `at`, which settle() does not
    // trust, so the next connect reads again.
    auto st = stamps_of(paths);
    config_paths_ = std::move(paths);
    ++config_reads_;
    note(server, "TLS configuration read from " + quote(path));
    settle(config_, std::move(st), at);
    config_.config = std::move(cfg);
    config_path_ = path;
    return config_.config;
}

std::shared_ptr<const TrustStore> TlsCache::trust(const TlsProfile &profile, int server)
{
    std::vector<std::pair<std::string, bool>> paths;
    if (!profile.ca_certificate.empty()) paths.emplace_back(profile.ca_certificate, false);
    if (!profile.ca_location.empty()) paths.emplace_back(profile.ca_location, true);
    if (paths.empty()) paths.emplace_back(kSystemCaFile, false);
    const auto key = std::make_pair(profile.ca_certificate, profile.ca_location);
    auto it = trust_.find(key);
    if (it != trust_.end() && it->second.settled && !it->second.stamps.empty() &&
        stamps_of(paths) == it->second.stamps)
        return it->second.trust;
    if (it != trust_.end()) trust_.erase(it);
    // A handle uses a few profiles; should it cycle through many, start again.
    if (trust_.size() >= 16) trust_.clear();
    const int64_t at = realtime_ns();
    auto store = load_trust_store(profile);
    auto st = stamps_of(paths); // after the read, as in config()
    ++trust_reads_;
    std::string what;
    for (auto &[p, dir] : paths) what += (what.empty() ? "" : " and ") + quote(p);
    note(server, "TLS trust store read from " + what + " (profile " + quote(profile.name) + ")");
    Entry &e = trust_[key];
    settle(e, std::move(st), at);
    e.trust = std::move(store);
    return e.trust;
}

} // namespace upopmail::net
