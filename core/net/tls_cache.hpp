// What a handle keeps between connects so that each connect does not read and parse its files
// again: the TLS configuration (JSON) and the trust stores (CA certificates) of its profiles.
// Each is kept while its files are unchanged: every connect looks at them again (stat: device,
// inode, size, modification time; for a ca_location directory, the directory and each file in
// it) and reads them again when any of that differs. A file modified so recently that a later
// change could still carry the same modification time (timestamps are as coarse as the kernel's
// clock tick, or whole seconds on some file systems) is not trusted to be unchanged: it is read
// again at the next connect, until it is old enough.
// Besides the files, the handle's entropy source and its random generator (a CTR-DRBG seeded
// once, from which every connection of the handle draws; seeding it cost a quarter of the
// client's CPU per login). It is seeded again in a forked child, so parent and child never
// share a random stream. Client certificates and keys, session keys and every other secret of
// a connection are made per connection (net/stream.cpp); a key password in the configuration
// stays in its TlsProfile, which wipes it.
// A TlsCache belongs to one handle and is used by one thread at a time; what it hands out is
// immutable and stays valid as long as someone holds it, whatever the cache does afterwards.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/tls_profile.hpp"

struct mbedtls_x509_crt;
struct mbedtls_entropy_context;
struct mbedtls_ctr_drbg_context;

namespace upopmail::trace {
class Tracer;
}

namespace upopmail::net {

// The parsed CA certificates of a profile.
class TrustStore {
public:
    TrustStore();
    ~TrustStore();
    TrustStore(const TrustStore &) = delete;
    TrustStore &operator=(const TrustStore &) = delete;
    // For mbedtls_ssl_conf_ca_chain, which takes a non-const pointer; mbedTLS only reads it.
    mbedtls_x509_crt *chain() const { return crt_.get(); }

private:
    std::unique_ptr<mbedtls_x509_crt> crt_;
};

// An entropy source for random generators. Setting one up costs more than the rest of a
// handshake's set-up (Debian's mbedTLS runs HAVEGE's initialisation), so a handle keeps one for
// all its connections; each connection seeds a random generator of its own from it.
class EntropySource {
public:
    EntropySource();
    ~EntropySource();
    EntropySource(const EntropySource &) = delete;
    EntropySource &operator=(const EntropySource &) = delete;
    mbedtls_entropy_context *get() { return ctx_.get(); }

private:
    std::unique_ptr<mbedtls_entropy_context> ctx_;
};

// Reads the trust store of a profile with verify_server on: ca_certificate and/or ca_location,
// else kSystemCaFile. Throws Error(UPOP_E_SECURITY, "TLS profile '<name>': cannot load ...")
// naming the file and mbedTLS's reason, or when no usable CA certificate is in it.
std::shared_ptr<const TrustStore> load_trust_store(const TlsProfile &profile);

// One file's identity and version as stat(2) sees it; all zero when it cannot be looked at.
struct FileStamp {
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileStamp &o) const
    {
        return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns;
    }
};

class TlsCache {
public:
    // tracer (may be null; must outlive the cache) gets an event each time a file is read.
    explicit TlsCache(trace::Tracer *tracer = nullptr) : tracer_(tracer) {}

    // As TlsConfig::load(path_or_empty) (same errors), read again only when the file changed.
    // server: the session the trace event belongs to (UPOP_SMTP or UPOP_POP).
    std::shared_ptr<const TlsConfig> config(const std::string &path_or_empty, int server);
    // As load_trust_store(profile) (same errors), read again only when a file changed.
    std::shared_ptr<const TrustStore> trust(const TlsProfile &profile, int server);

    // The handle's entropy source (made at the first call).
    mbedtls_entropy_context *entropy();
    // The handle's random generator, seeded from entropy() at the first call and again in a
    // process forked since; nullptr when seeding failed (*error: mbedTLS's code).
    mbedtls_ctr_drbg_context *random(int *error);

    // How often each kind of file was read (for tests: an unchanged file is read once).
    uint64_t config_reads() const { return config_reads_; }
    uint64_t trust_reads() const { return trust_reads_; }

    // The stamps of what a path names (the file; or a directory and every file in it), in a
    // fixed order; empty when something cannot be looked at (then it is always read again).
    static std::vector<std::pair<std::string, FileStamp>> stamps(const std::string &path, bool directory);

private:
    struct Entry {
        std::vector<std::pair<std::string, FileStamp>> stamps;
        bool settled = false; // the stamps were old enough when read to stand for the content
        std::shared_ptr<const TlsConfig> config;
        std::shared_ptr<const TrustStore> trust;
    };
    // The stamps of the files behind paths ((path, is a directory) each), in order; empty when
    // one cannot be looked at.
    static std::vector<std::pair<std::string, FileStamp>> stamps_of(const std::vector<std::pair<std::string, bool>> &paths);
    // Records in e the stamps taken just before its files were read at read_at_ns (CLOCK_REALTIME).
    static void settle(Entry &e, std::vector<std::pair<std::string, FileStamp>> stamps, int64_t read_at_ns);
    void note(int server, const std::string &text);

    trace::Tracer *tracer_;
    std::string config_path_; // what config_ was read from ("" for the built-in defaults)
    std::vector<std::pair<std::string, bool>> config_paths_; // it and the files its profiles name
    Entry config_;
    std::map<std::pair<std::string, std::string>, Entry> trust_; // (ca_certificate, ca_location)
    uint64_t config_reads_ = 0, trust_reads_ = 0;
    std::unique_ptr<EntropySource> entropy_;
    std::unique_ptr<mbedtls_ctr_drbg_context, void (*)(mbedtls_ctr_drbg_context *)> drbg_{nullptr, nullptr};
    long drbg_pid_ = 0; // the process that seeded drbg_
};

} // namespace upopmail::net
