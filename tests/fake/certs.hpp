// certs.hpp — test certificates, generated at test time (never committed).
//
// make_test_certs() runs the openssl CLI once per process into a fresh temporary directory that
// is removed when the process exits. All keys are EC P-256, valid for two days from now.
//   ca_crt / ca_key              the test CA
//   server_crt / server_key      signed by the CA, SAN DNS:localhost, IP:127.0.0.1, IP:::1
//   wrong_crt / wrong_key        signed by the same CA, for DNS:wrong.example.invalid only
//   other_ca_crt                 an unrelated CA (did not sign anything the server presents)
//   self_signed_crt / _key       self-signed, SAN DNS:localhost, IP:127.0.0.1, IP:::1
#ifndef UPOP_TESTS_FAKE_CERTS_HPP
#define UPOP_TESTS_FAKE_CERTS_HPP

#include <string>
#include <vector>

namespace upop_fake {

struct TestCerts {
    std::string dir, ca_crt, ca_key, server_crt, server_key, wrong_crt, wrong_key, other_ca_crt,
        self_signed_crt, self_signed_key;
};

/** The process-wide test certificates (generated on first call; thread-safe). Throws
 *  std::runtime_error naming the failing openssl step. */
const TestCerts& make_test_certs();

/** A certificate and its key written into the certificate directory. */
struct CertFiles {
    std::string crt, key;
};

/** A server certificate signed by the test CA, built with mbedTLS so that names openssl would
 *  refuse can be tested: subject CN cn (any bytes, NUL included; empty: no CN) and SAN dNSNames
 *  san_dns (any bytes; empty list: no subjectAltName extension). name is the file stem.
 *  Throws std::runtime_error naming the failing step. */
CertFiles make_custom_leaf(const std::string& name, const std::string& cn,
                           const std::vector<std::string>& san_dns = {});

/** Writes {"default":{"ca_certificate":"<ca_path>"}} into the certificate directory and returns
 *  its path (for upop_set_option(h, "config", path)). */
std::string write_tls_config(const std::string& ca_path);

/** Writes an arbitrary configuration document into the certificate directory; returns its path. */
std::string write_config(const std::string& json_text);

/** s as a JSON string literal (quoted and escaped). */
std::string json_string(const std::string& s);

} // namespace upop_fake

using upop_fake::TestCerts;
using upop_fake::make_test_certs;
using upop_fake::make_custom_leaf;
using upop_fake::write_tls_config;

#endif
