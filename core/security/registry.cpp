#include "security/registry.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "mime/list.hpp"
#include "printable.hpp"
#include "upopmail.h"

namespace fs = std::filesystem;

namespace upopmail::security {

namespace {
bool valid_server_name(const std::string &s) { return s == "SMTP" || s == "POP"; }

constexpr std::uintmax_t kMaxManifestBytes = 64 * 1024;

// The absolute real path of the file this code was loaded from (libupopmail.so, or the program
// for the unit tests), "" when unknown. dladdr() reports the name the library was loaded by,
// which is relative after dlopen("./libupopmail.so.1"): it is resolved once, while the library
// is being loaded (see kSelfResolvedAtLoad), before the application can change directory.
const std::string &self_path()
{
    static const std::string self = [] {
        Dl_info info{};
        if (!dladdr(reinterpret_cast<void *>(&driver_matches), &info) || !info.dli_fname || !*info.dli_fname)
            return std::string();
        char *real = ::realpath(info.dli_fname, nullptr);
        if (!real) return std::string();
        std::string r(real);
        std::free(real);
        return r;
    }();
    return self;
}
[[maybe_unused]] const bool kSelfResolvedAtLoad = !self_path().empty();

// Why a driver directory or plugin file cannot be trusted ("" when it can): anyone but its owner
// could change what gets loaded into the process.
std::string unsafe_mode(const std::string &path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "";
    if ((st.st_mode & 022) == 0) return "";
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::string("is writable by group or others (mode ") + mode + "), so it is not trusted";
}

std::string read_manifest_file(const fs::path &p)
{
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot be read");
    std::string text;
    char buf[4096];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<size_t>(in.gcount()));
        if (text.size() > kMaxManifestBytes) throw std::runtime_error("is larger than 64 KB");
    }
    return text;
}
} // namespace

Manifest parse_manifest(std::string_view text)
{
    auto fail = [](const std::string &why) { throw Error(UPOP_E_ENTRY, why); };
    nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded()) fail("the manifest is not valid JSON");
    if (!j.is_object()) fail("the manifest is not a JSON object");
    if (!j.contains("abi") || !j["abi"].is_number_unsigned()) fail("\"abi\" is missing or not a number");
    auto abi = j["abi"].get<std::uint64_t>();
    if (abi != UPOPD_ABI_VERSION)
        fail("built for driver ABI " + std::to_string(abi) + ", this host speaks ABI " +
             std::to_string(UPOPD_ABI_VERSION));
    if (!j.contains("library") || !j["library"].is_string()) fail("\"library\" is missing or not a string");
    Manifest m;
    m.library = j["library"].get<std::string>();
    if (m.library.empty() || m.library == "." || m.library == ".." || m.library.find('/') != std::string::npos ||
        m.library.find('\0') != std::string::npos)
        fail("\"library\" must be a file name beside the manifest, not " + quote(m.library));
    if (!j.contains("drivers") || !j["drivers"].is_array() || j["drivers"].empty())
        fail("\"drivers\" is missing or empty");
    auto strings = [&](const nlohmann::json &d, const char *key) {
        std::vector<std::string> out;
        if (!d.contains(key)) return out;
        if (!d[key].is_array()) fail(std::string("\"") + key + "\" of a driver is not a list");
        for (auto &v : d[key]) {
            if (!v.is_string()) fail(std::string("\"") + key + "\" of a driver holds something else than text");
            out.push_back(v.get<std::string>());
        }
        return out;
    };
    for (auto &d : j["drivers"]) {
        if (!d.is_object() || !d.contains("name") || !d["name"].is_string() || d["name"].get<std::string>().empty())
            fail("a driver has no \"name\"");
        ManifestDriver md;
        md.name = d["name"].get<std::string>();
        md.aliases = strings(d, "aliases");
        md.servers = strings(d, "servers");
        for (auto &v : md.servers)
            if (!valid_server_name(v)) fail("unknown server type " + quote(v) + " (SMTP or POP)");
        m.drivers.push_back(std::move(md));
    }
    return m;
}

Registry &Registry::instance()
{
    static Registry r;
    return r;
}

bool driver_matches(const upopd_driver *d, const std::string &name)
{
    if (d->name && mime::iequals(d->name, name)) return true;
    if (d->aliases)
        for (auto a = d->aliases; *a; ++a)
            if (mime::iequals(*a, name)) return true;
    return false;
}

void Registry::add_path(const std::string &dir)
{
    if (dir.empty()) throw Error(UPOP_E_PARAM, "the driver directory is empty");
    if (dir.front() != '/')
        throw Error(UPOP_E_PARAM, "the driver directory " + quote(dir) +
                                      " is relative: give an absolute path (a relative one would follow the "
                                     "current directory)");
    if (dir.size() > 4096) throw Error(UPOP_E_PARAM, "the driver directory is longer than 4096 bytes");
    for (unsigned char c : dir)
        if (c < 0x20 || c == 0x7f)
            throw Error(UPOP_E_PARAM, "the driver directory " + quote(dir) + " contains a control character");
    std::error_code ec;
    auto st = fs::status(dir, ec);
    if (ec || !fs::exists(st))
        throw Error(UPOP_E_PARAM, "the driver directory " + quote(dir) + " does not exist" +
                                      (ec && ec != std::errc::no_such_file_or_directory ? " (" + ec.message() + ")" : ""));
    if (!fs::is_directory(st)) throw Error(UPOP_E_PARAM, "the driver directory " + quote(dir) + " is not a directory");
    std::lock_guard<std::mutex> lk(mu_);
    if (std::find(app_paths_.begin(), app_paths_.end(), dir) == app_paths_.end()) app_paths_.push_back(dir);
    scanned_ = false;
}

void Registry::add_static(const upopd_driver *driver)
{
    std::lock_guard<std::mutex> lk(mu_);
    statics_.push_back(driver);
}

std::vector<std::string> Registry::search_path_locked()
{
    std::vector<std::string> out = app_paths_;
    // UPOPMAIL_DRIVER_PATH is ignored in set-uid/set-gid processes (secure_getenv).
    if (const char *env = ::secure_getenv("UPOPMAIL_DRIVER_PATH")) {
        std::string_view s(env);
        size_t start = 0;
        while (start <= s.size()) {
            size_t c = s.find(':', start);
            if (c == std::string_view::npos) c = s.size();
            std::string entry(s.substr(start, c - start));
            if (!entry.empty() && entry.front() == '/') out.push_back(entry);
            else if (!entry.empty())
                reject_locked(entry, "relative directory in UPOPMAIL_DRIVER_PATH: ignored, since it would follow "
                                     "the current directory",
                              true);
            start = c + 1;
        }
    }
    // The install directory: <libdir>/upopmail/drivers beside the library that is running (so an
    // installed tree can be moved), then the configured install directory.
    const std::string &self = self_path();
    if (!self.empty()) out.push_back((fs::path(self).parent_path() / "upopmail" / "drivers").string());
    out.push_back(UPOPMAIL_INSTALL_DRIVER_DIR);
    // A build-tree run works without installing: only for a library inside the build tree.
    std::string build_root = fs::path(UPOPMAIL_BUILD_DRIVER_DIR).parent_path().string();
    if (!self.empty() && self.rfind(build_root + "/", 0) == 0) out.push_back(UPOPMAIL_BUILD_DRIVER_DIR);
    return out;
}

void Registry::reject_locked(const std::string &file, const std::string &reason, bool by_scan)
{
    for (auto &r : rejected_)
        if (r.file == file && r.reason == reason) return;
    rejected_.push_back({file, reason, by_scan});
}

void Registry::scan_locked()
{
    manifests_.clear();
    // Rejections found by loading stay; those of the search path and the manifests are found again.
    rejected_.erase(std::remove_if(rejected_.begin(), rejected_.end(), [](const Rejection &r) { return r.by_scan; }),
                    rejected_.end());
    std::vector<std::string> seen_dirs;
    for (auto &dir : search_path_locked()) {
        std::error_code ec;
        auto canon = fs::weakly_canonical(dir, ec).string();
        if (ec || std::find(seen_dirs.begin(), seen_dirs.end(), canon) != seen_dirs.end()) continue;
        seen_dirs.push_back(canon);
        if (!fs::is_directory(dir, ec)) continue;
        if (auto why = unsafe_mode(dir); !why.empty()) {
            reject_locked(dir, "the driver directory " + why, true);
            continue;
        }
        std::vector<fs::path> files;
        for (auto &e : fs::directory_iterator(dir, ec))
            if (e.path().extension() == ".json") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (auto &p : files) {
            std::string file = p.string();
            try {
                if (auto why = unsafe_mode(file); !why.empty()) throw std::runtime_error("the manifest " + why);
                Manifest m = parse_manifest(read_manifest_file(p));
                m.file = file;
                m.library = (p.parent_path() / m.library).string();
                if (!fs::exists(m.library)) throw std::runtime_error("its library " + m.library + " does not exist");
                if (auto why = unsafe_mode(m.library); !why.empty())
                    throw std::runtime_error("its library " + m.library + " " + why);
                manifests_.push_back(std::move(m));
            } catch (const std::exception &e) {
                reject_locked(file, e.what(), true);
            }
        }
    }
    scanned_ = true;
}

Registry::Library *Registry::load_locked(const Manifest &m, std::string &why)
{
    std::error_code ec;
    std::string path = fs::weakly_canonical(m.library, ec).string();
    if (ec) path = m.library;
    for (auto &l : libraries_)
        if (l.path == path) return &l;
    void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        why = std::string("cannot be loaded: ") + (e ? e : "unknown error");
        reject_locked(path, why);
        return nullptr;
    }
    auto entry = reinterpret_cast<upopd_entry_fn>(dlsym(h, UPOPD_ENTRY_SYMBOL));
    if (!entry) {
        why = "has no entry point " UPOPD_ENTRY_SYMBOL;
        reject_locked(path, why);
        dlclose(h);
        return nullptr;
    }
    uint32_t plugin_abi = 0;
    const upopd_driver *const *drivers = nullptr;
    size_t count = 0;
    int rc = entry(UPOPD_ABI_VERSION, &plugin_abi, &drivers, &count);
    if (rc != 0 || plugin_abi != UPOPD_ABI_VERSION) {
        why = "speaks driver ABI " + std::to_string(plugin_abi) + ", this host speaks ABI " +
              std::to_string(UPOPD_ABI_VERSION) + (rc ? " (the plugin refused the host)" : "");
        reject_locked(path, why);
        dlclose(h);
        return nullptr;
    }
    Library lib;
    lib.path = path;
    lib.handle = h; // never unloaded
    for (size_t i = 0; drivers && i < count; ++i) {
        const upopd_driver *d = drivers[i];
        if (!d || d->size < offsetof(upopd_driver, reserved) || d->abi != UPOPD_ABI_VERSION || !d->name ||
            !d->create || !d->verify || !d->open) {
            reject_locked(path, "driver descriptor " + std::to_string(i) + " is incomplete or of another ABI");
            continue;
        }
        lib.drivers.push_back(d);
    }
    libraries_.push_back(std::move(lib));
    return &libraries_.back();
}

DriverRef Registry::find(const std::string &name)
{
    std::lock_guard<std::mutex> lk(mu_);
    for (auto *d : statics_)
        if (driver_matches(d, name)) return {d, ""};
    if (!scanned_) scan_locked();
    std::string why;
    for (auto &m : manifests_) {
        bool listed = false;
        for (auto &md : m.drivers) {
            if (mime::iequals(md.name, name)) listed = true;
            for (auto &a : md.aliases)
                if (mime::iequals(a, name)) listed = true;
        }
        if (!listed) continue;
        std::string lwhy;
        Library *lib = load_locked(m, lwhy);
        if (!lib) {
            why = "the library " + m.library + " (manifest " + m.file + ") " + lwhy;
            continue;
        }
        for (auto *d : lib->drivers)
            if (driver_matches(d, name)) return {d, lib->path};
        why = "the manifest " + m.file + " names it but the library " + lib->path + " does not provide it";
    }
    if (!why.empty()) throw Error(UPOP_E_ENTRY, "the security driver '" + name + "' cannot be used: " + why);
    throw Error(UPOP_E_ENTRY, "no security driver named '" + name +
                                  "' was found (upop_drivers_json() lists the drivers found and the plugins rejected)");
}

std::string Registry::to_json()
{
    std::lock_guard<std::mutex> lk(mu_);
    scan_locked();
    nlohmann::json j;
    j["paths"] = search_path_locked();
    j["drivers"] = nlohmann::json::array();
    for (auto &m : manifests_) {
        for (auto &md : m.drivers) {
            nlohmann::json d;
            d["name"] = md.name;
            d["aliases"] = md.aliases;
            d["servers"] = md.servers;
            d["manifest"] = m.file;
            d["library"] = m.library;
            bool loaded = false;
            for (auto &l : libraries_) {
                std::error_code ec;
                if (l.path == fs::weakly_canonical(m.library, ec).string()) loaded = true;
            }
            d["loaded"] = loaded;
            j["drivers"].push_back(d);
        }
    }
    j["rejected"] = nlohmann::json::array();
    for (auto &r : rejected_) j["rejected"].push_back({{"file", r.file}, {"reason", r.reason}});
    // File names need not be UTF-8 (JSON text must): such bytes are shown as U+FFFD.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace upopmail::security
