// TLS profiles: the options of a TLS connection (reference §3.2-§3.3, SPEC §2.3 and §4) and the
// JSON configuration file that names them.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace upopmail::net {

// The system trust store used when a profile sets neither ca_certificate nor ca_location.
inline constexpr const char *kSystemCaFile = "/etc/ssl/certs/ca-certificates.crt";

// One expected identity of the server (verify_server_name=Type:Name).
struct PeerName {
    enum Type { DNS, IP, URI, Email } type;
    std::string name; // DNS: may start with "*." (any one left-most label); IP: textual v4/v6
};

struct TlsProfile {
    std::string name = "default";    // for messages
    bool verify_server = true;       // SPEC §2.3: verification ON by default
    bool ignore_errors = false;      // verify_server=ignore: verify, report, continue
    bool check_name = true;          // verify_server_name=no -> false
    std::vector<PeerName> names;     // empty: the host of the connection string (DNS, or IP if
                                     // it is an address)
    std::string ca_certificate, ca_location, client_certificate, client_key;
    std::string client_key_password; // secret: never in messages; wiped by the destructor
    int min_tls_version = 12;        // 10, 11, 12 (TLS 1.0 / 1.1 / 1.2); 13 is refused when parsed

    // Overwrites client_key_password before its memory is released (best effort: copies made
    // by the implicit copy operations are wiped by their own destructors).
    ~TlsProfile();
};

// Parses the original option syntax, e.g. "verify_server=1, ca_certificate=cacert.pem,
// verify_server_name=0", into a profile called name (defaults as in TlsProfile for every option
// not given). Rules: options separated by ',', blanks around names and values trimmed, names
// case-insensitive, long or short name (verify_server|vfy_srv, verify_server_name|vfy_srv_nm,
// ca_certificate|ca_cert, ca_location|ca_loc, client_certificate|clt_cert, client_key|clt_key,
// client_key_password|clt_key_pwd, min_tls_version|min_tls_v), each at most once, "name=value"
// with a non-empty value, enumerated values checked, files and directories must exist, a line
// ending in "%\" continues on the next. An empty or blank string gives the defaults.
// Values: verify_server yes|y|1|true|no|n|0|false|ignore; verify_server_name no|n|0|false,
// yes|y|1|true (the default check) or Type:Name{;Type:Name} (DNS, IP, URI, Email; wildcard only
// as "*." at the start of a DNS name); min_tls_version 1.0|1.1|1.2 (1.3 refused: mbedTLS 2.28
// has no TLS 1.3; 1.0/1.1 only when the mbedTLS build has them); client_key "file" or
// "file|password". client_certificate and client_key go together.
// Throws upopmail::Error(UPOP_E_NETWORK, "TLS profile '<name>': <what is wrong, naming the option
// or file>"); the password never appears in a message.
TlsProfile parse_profile_options(std::string_view options, const std::string &name);

// The TLS configuration of a handle: the default profile and the named ones.
// Immutable after construction; copyable; safe to read from several threads.
class TlsConfig {
public:
    // Nothing configured: default profile = TlsProfile{}, no named profiles.
    TlsConfig();
    // Reads a JSON file: { "default": {...} | "option string",
    //                      "profiles": { "<name>": {...} | "option string", ... } }
    // Both keys optional; any other top-level key is an error. A JSON object profile uses the
    // option names above (long or short, case-insensitive) with string, boolean or number
    // values. Profile names are matched case-insensitively and must be usable in a connection
    // string (no blanks, ':' or control characters); "default" names the top-level default.
    // Throws upopmail::Error(UPOP_E_NETWORK, sentence naming the file and the problem).
    static TlsConfig load_file(const std::string &path);
    // The same from text; origin names it in messages (for example a file name).
    static TlsConfig from_json_text(std::string_view text, const std::string &origin);
    // path_or_empty, or else the UPOPMAIL_CONFIG environment variable (not read in set-uid
    // processes), or else TlsConfig().
    static TlsConfig load(const std::string &path_or_empty);

    // The profile for STARTTLS and for TLS: without a profile name.
    const TlsProfile &default_profile() const;
    // "" (or "default" when no profile has that name) -> the default profile; an undefined name
    // -> throws upopmail::Error(UPOP_E_NETWORK, "TLS profile 'x' is not defined in <origin>").
    // The reference stays valid as long as this TlsConfig.
    const TlsProfile &profile(const std::string &name) const;
    // Where the configuration came from ("the built-in defaults (no configuration file)" or
    // the file name).
    const std::string &origin() const { return origin_; }
    // Every profile: the default one first, then the named ones.
    std::vector<const TlsProfile *> profiles() const;

private:
    std::string origin_;
    TlsProfile default_;
    std::map<std::string, TlsProfile> profiles_; // key: lower-case name
};

} // namespace upopmail::net
