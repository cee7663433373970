#include "security/registry.hpp"

#include <dlfcn.h>
#include <sys/auxv.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "mime/list.hpp"
#include "upopmail.h"

namespace fs = std::filesystem;

namespace upopmail::security {

namespace {
bool valid_server_name(const std::string &s) { return s == "SMTP" || s == "POP"; }
} // namespace

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
    std::lock_guard<std::mutex> lk(mu_);
    if (std::find(app_paths_.begin(), app_paths_.end(), dir) == app_paths_.end()) app_paths_.push_back(dir);
    scanned_ = false;
}

void Registry::add_static(const upopd_driver *driver)
{
    std::lock_guard<std::mutex> lk(mu_);
    statics_.push_back(driver);
}

std::vector<std::string> Registry::search_path() const
{
    std::vector<std::string> out = app_paths_;
    // UPOPMAIL_DRIVER_PATH is ignored in set-uid/set-gid processes.
    if (!getauxval(AT_SECURE)) {
        if (const char *env = std::getenv("UPOPMAIL_DRIVER_PATH")) {
            std::string s(env);
            size_t start = 0;
            while (start <= s.size()) {
                size_t c = s.find(':', start);
                if (c == std::string::npos) c = s.size();
                if (c > start) out.push_back(s.substr(start, c - start));
                start = c + 1;
            }
        }
    }
    // The install directory: <libdir>/upopmail/drivers beside the library that is running (so an
    // installed tree can be moved), then the configured install directory.
    Dl_info info{};
    std::string self;
    if (dladdr(reinterpret_cast<void *>(&driver_matches), &info) && info.dli_fname) {
        std::error_code ec;
        self = fs::weakly_canonical(info.dli_fname, ec).string();
        if (!ec) out.push_back((fs::path(self).parent_path() / "upopmail" / "drivers").string());
    }
    out.push_back(UPOPMAIL_INSTALL_DRIVER_DIR);
    // A build-tree run works without installing: only for a library inside the build tree.
    std::string build_root = fs::path(UPOPMAIL_BUILD_DRIVER_DIR).parent_path().string();
    if (!self.empty() && self.rfind(build_root + "/", 0) == 0) out.push_back(UPOPMAIL_BUILD_DRIVER_DIR);
    return out;
}

void Registry::reject_locked(const std::string &file, const std::string &reason)
{
    for (auto &r : rejected_)
        if (r.file == file && r.reason == reason) return;
    rejected_.push_back({file, reason});
}

void Registry::scan_locked()
{
    manifests_.clear();
    // Rejections found by loading stay; manifest rejections are found again.
    std::vector<std::string> seen_dirs;
    for (auto &dir : search_path()) {
        std::error_code ec;
        auto canon = fs::weakly_canonical(dir, ec).string();
        if (ec || std::find(seen_dirs.begin(), seen_dirs.end(), canon) != seen_dirs.end()) continue;
        seen_dirs.push_back(canon);
        if (!fs::is_directory(dir, ec)) continue;
        std::vector<fs::path> files;
        for (auto &e : fs::directory_iterator(dir, ec))
            if (e.path().extension() == ".json") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (auto &p : files) {
            std::string file = p.string();
            try {
                std::ifstream in(p);
                auto j = nlohmann::json::parse(in);
                if (!j.is_object()) throw std::runtime_error("the manifest is not a JSON object");
                if (!j.contains("abi") || !j["abi"].is_number_unsigned())
                    throw std::runtime_error("\"abi\" is missing or not a number");
                unsigned abi = j["abi"].get<unsigned>();
                if (abi != UPOPD_ABI_VERSION)
                    throw std::runtime_error("built for driver ABI " + std::to_string(abi) +
                                             ", this host speaks ABI " + std::to_string(UPOPD_ABI_VERSION));
                if (!j.contains("library") || !j["library"].is_string())
                    throw std::runtime_error("\"library\" is missing or not a string");
                Manifest m;
                m.file = file;
                fs::path lib = j["library"].get<std::string>();
                if (lib.has_parent_path())
                    throw std::runtime_error("\"library\" must be a file name beside the manifest");
                m.library = (p.parent_path() / lib).string();
                if (!j.contains("drivers") || !j["drivers"].is_array() || j["drivers"].empty())
                    throw std::runtime_error("\"drivers\" is missing or empty");
                for (auto &d : j["drivers"]) {
                    ManifestDriver md;
                    if (!d.is_object() || !d.contains("name") || !d["name"].is_string())
                        throw std::runtime_error("a driver has no \"name\"");
                    md.name = d["name"].get<std::string>();
                    if (d.contains("aliases"))
                        for (auto &a : d["aliases"]) md.aliases.push_back(a.get<std::string>());
                    if (d.contains("servers"))
                        for (auto &s : d["servers"]) {
                            auto v = s.get<std::string>();
                            if (!valid_server_name(v)) throw std::runtime_error("unknown server type \"" + v + "\"");
                            md.servers.push_back(v);
                        }
                    m.drivers.push_back(std::move(md));
                }
                if (!fs::exists(m.library)) throw std::runtime_error("its library " + m.library + " does not exist");
                manifests_.push_back(std::move(m));
            } catch (const std::exception &e) {
                reject_locked(file, e.what());
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
    j["paths"] = search_path();
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
    return j.dump(2);
}

} // namespace upopmail::security
