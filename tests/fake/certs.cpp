// certs.cpp — generates the test PKI with the openssl CLI into a temporary directory.
#include "fake/certs.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace upop_fake {
namespace {

void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) throw std::runtime_error("test certificates: cannot write " + path);
}

/** Runs openssl with args (no shell); output goes to <dir>/openssl.log. */
void openssl(const std::string& dir, const std::vector<std::string>& args) {
    std::vector<std::string> all{"openssl"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    const std::string log = dir + "/openssl.log";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, "openssl", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        throw std::runtime_error(std::string("test certificates: cannot run openssl: ") + std::strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw std::runtime_error("test certificates: waitpid failed");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::ifstream f(log);
        std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        std::string cmd;
        for (auto& a : all) cmd += a + " ";
        throw std::runtime_error("test certificates: '" + cmd + "' failed: " + text);
    }
}

std::string cnf(const std::string& cn, const std::string& ext) {
    return "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = " + cn + "\n[ext]\n" + ext;
}

const char* const kCaExt =
    "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\n";
const char* const kLeafExt =
    "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\n";

void make_ca(const std::string& dir, const std::string& name, const std::string& cn) {
    write_text(dir + "/" + name + ".cnf", cnf(cn, kCaExt));
    openssl(dir, {"req", "-x509", "-config", dir + "/" + name + ".cnf", "-extensions", "ext",
                  "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                  dir + "/" + name + ".key", "-out", dir + "/" + name + ".crt", "-days", "2"});
}

void make_leaf(const std::string& dir, const std::string& name, const std::string& cn,
               const std::string& san, int serial) {
    write_text(dir + "/" + name + ".cnf",
               cnf(cn, std::string(kLeafExt) + "subjectAltName = " + san +
                           "\nauthorityKeyIdentifier = keyid\n"));
    openssl(dir, {"req", "-new", "-config", dir + "/" + name + ".cnf", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/" + name + ".key",
                  "-out", dir + "/" + name + ".csr"});
    openssl(dir, {"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", dir + "/ca.crt", "-CAkey",
                  dir + "/ca.key", "-set_serial", std::to_string(serial), "-days", "2", "-extfile",
                  dir + "/" + name + ".cnf", "-extensions", "ext", "-out", dir + "/" + name + ".crt"});
}

void make_self_signed(const std::string& dir, const std::string& name, const std::string& cn,
                      const std::string& san) {
    write_text(dir + "/" + name + ".cnf",
               cnf(cn, std::string(kLeafExt) + "subjectAltName = " + san + "\n"));
    openssl(dir, {"req", "-x509", "-config", dir + "/" + name + ".cnf", "-extensions", "ext",
                  "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                  dir + "/" + name + ".key", "-out", dir + "/" + name + ".crt", "-days", "2"});
}

/** Owns the directory; removes it at process exit. */
struct CertDir {
    TestCerts certs;
    ~CertDir() {
        if (!certs.dir.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(certs.dir, ec);
        }
    }
};

CertDir& holder() {
    static CertDir d;
    return d;
}

std::atomic<unsigned> g_config_counter{0};

TestCerts generate() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/upop-test-certs-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("test certificates: mkdtemp failed");
    TestCerts c;
    c.dir = buf.data();
    holder().certs.dir = c.dir; // remove it at exit even if generation fails below

    const std::string san = "DNS:localhost, IP:127.0.0.1, IP:::1";
    make_ca(c.dir, "ca", "upopmail test CA");
    make_leaf(c.dir, "server", "localhost", san, 1001);
    make_leaf(c.dir, "wrong", "wrong.example.invalid", "DNS:wrong.example.invalid", 1002);
    make_ca(c.dir, "other_ca", "upopmail unrelated test CA");
    make_self_signed(c.dir, "self_signed", "localhost", san);

    c.ca_crt = c.dir + "/ca.crt";
    c.ca_key = c.dir + "/ca.key";
    c.server_crt = c.dir + "/server.crt";
    c.server_key = c.dir + "/server.key";
    c.wrong_crt = c.dir + "/wrong.crt";
    c.wrong_key = c.dir + "/wrong.key";
    c.other_ca_crt = c.dir + "/other_ca.crt";
    c.self_signed_crt = c.dir + "/self_signed.crt";
    c.self_signed_key = c.dir + "/self_signed.key";
    return c;
}

} // namespace

const TestCerts& make_test_certs() {
    static std::mutex mu;
    static bool done = false;
    std::lock_guard<std::mutex> lock(mu);
    if (!done) {
        CertDir& h = holder();
        h.certs = generate();
        done = true;
    }
    return holder().certs;
}

namespace {

/** DER length octets. */
std::string der_len(size_t n) {
    if (n < 0x80) return std::string(1, static_cast<char>(n));
    std::string b;
    for (; n; n >>= 8) b.insert(b.begin(), static_cast<char>(n & 0xFF));
    return std::string(1, static_cast<char>(0x80 | b.size())) + b;
}

void mbed_check(int rc, const std::string& what) {
    if (rc < 0) throw std::runtime_error("test certificates: " + what + " failed (mbedTLS " + std::to_string(rc) + ")");
}

/** Frees the mbedTLS objects of one certificate generation. */
struct LeafBuilder {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key, ca_key;
    mbedtls_x509write_cert crt;
    mbedtls_mpi serial;
    LeafBuilder() {
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
        mbedtls_pk_init(&key);
        mbedtls_pk_init(&ca_key);
        mbedtls_x509write_crt_init(&crt);
        mbedtls_mpi_init(&serial);
    }
    ~LeafBuilder() {
        mbedtls_mpi_free(&serial);
        mbedtls_x509write_crt_free(&crt);
        mbedtls_pk_free(&ca_key);
        mbedtls_pk_free(&key);
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
    }
};

std::atomic<unsigned> g_custom_serial{2000};

} // namespace

CertFiles make_custom_leaf(const std::string& name, const std::string& cn,
                           const std::vector<std::string>& san_dns) {
    const TestCerts& c = make_test_certs();
    LeafBuilder b;
    mbed_check(mbedtls_ctr_drbg_seed(&b.drbg, mbedtls_entropy_func, &b.entropy, nullptr, 0), "seeding");
    mbed_check(mbedtls_pk_setup(&b.key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), "pk_setup");
    mbed_check(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(b.key), mbedtls_ctr_drbg_random, &b.drbg),
               "key generation");
    mbed_check(mbedtls_pk_parse_keyfile(&b.ca_key, c.ca_key.c_str(), nullptr), "reading the CA key");

    mbedtls_x509write_crt_set_version(&b.crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&b.crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&b.crt, &b.key);
    mbedtls_x509write_crt_set_issuer_key(&b.crt, &b.ca_key);
    // The CN is written as a placeholder of the same length, then its bytes are replaced, so
    // that NUL and separators reach the certificate unchanged.
    std::string subject = "O=upopmail test";
    if (!cn.empty()) subject += ",CN=" + std::string(cn.size(), 'x');
    mbed_check(mbedtls_x509write_crt_set_subject_name(&b.crt, subject.c_str()), "subject name");
    if (!cn.empty()) {
        mbedtls_asn1_named_data* n = mbedtls_asn1_find_named_data(b.crt.subject, MBEDTLS_OID_AT_CN,
                                                                   MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN));
        if (!n || n->val.len != cn.size()) throw std::runtime_error("test certificates: CN placeholder not found");
        std::memcpy(n->val.p, cn.data(), cn.size());
    }
    mbed_check(mbedtls_x509write_crt_set_issuer_name(&b.crt, "CN=upopmail test CA"), "issuer name");
    mbed_check(mbedtls_mpi_lset(&b.serial, ++g_custom_serial), "serial");
    mbed_check(mbedtls_x509write_crt_set_serial(&b.crt, &b.serial), "serial");
    mbed_check(mbedtls_x509write_crt_set_validity(&b.crt, "20240101000000", "20991231235959"), "validity");
    mbed_check(mbedtls_x509write_crt_set_basic_constraints(&b.crt, 0, -1), "basic constraints");
    if (!san_dns.empty()) {
        std::string names;
        for (auto& d : san_dns) names += "\x82" + der_len(d.size()) + d; // [2] IMPLICIT IA5String
        std::string san = "\x30" + der_len(names.size()) + names;
        mbed_check(mbedtls_x509write_crt_set_extension(&b.crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                       MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                                       reinterpret_cast<const unsigned char*>(san.data()),
                                                       san.size()),
                   "subjectAltName");
    }
    std::vector<unsigned char> pem(8192);
    mbed_check(mbedtls_x509write_crt_pem(&b.crt, pem.data(), pem.size(), mbedtls_ctr_drbg_random, &b.drbg),
               "writing the certificate");
    CertFiles out{c.dir + "/" + name + ".crt", c.dir + "/" + name + ".key"};
    write_text(out.crt, reinterpret_cast<const char*>(pem.data()));
    std::fill(pem.begin(), pem.end(), 0);
    mbed_check(mbedtls_pk_write_key_pem(&b.key, pem.data(), pem.size()), "writing the key");
    write_text(out.key, reinterpret_cast<const char*>(pem.data()));
    return out;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char ch : s) {
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += static_cast<char>(ch);
        } else if (ch < 0x20) {
            static const char hex[] = "0123456789abcdef";
            out += "\\u00";
            out += hex[ch >> 4];
            out += hex[ch & 15];
        } else {
            out += static_cast<char>(ch);
        }
    }
    return out + "\"";
}

std::string write_config(const std::string& json_text) {
    const TestCerts& c = make_test_certs();
    std::string path = c.dir + "/config-" + std::to_string(++g_config_counter) + ".json";
    write_text(path, json_text);
    return path;
}

std::string write_tls_config(const std::string& ca_path) {
    return write_config("{\"default\":{\"ca_certificate\":" + json_string(ca_path) + "}}\n");
}

} // namespace upop_fake
