// The driver registry (process-wide, thread-safe): finds driver manifests in the search path,
// loads a library when a context first needs one of its drivers (once per process, never
// unloaded), exchanges ABI versions both ways, and remembers every rejected plugin with its
// file and the reason.
#pragma once
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "upopmail_driver.h"

namespace upopmail::security {

// One manifest (*.json beside a driver library): what it declares, before anything is loaded.
struct ManifestDriver {
    std::string name;
    std::vector<std::string> aliases;
    std::vector<std::string> servers;
};
struct Manifest {
    std::string file;    // the .json (empty from parse_manifest)
    std::string library; // parse_manifest: the file name as written; the registry: its full path
    std::vector<ManifestDriver> drivers;
};

// Parses a manifest's text without touching the file system. Throws Error(UPOP_E_ENTRY, reason)
// when it is not a JSON object of this ABI with a plain "library" file name and at least one
// named driver (the reason quotes what the manifest said through quote()).
Manifest parse_manifest(std::string_view text);

struct DriverRef {
    const upopd_driver *driver = nullptr;
    std::string library; // file it came from ("" for built-in test drivers)
};

class Registry {
public:
    static Registry &instance();

    // Directories added by the application come first in the search path. Throws
    // Error(UPOP_E_PARAM) for an empty or relative path (it would follow the current directory).
    void add_path(const std::string &dir);
    // Finds a driver by canonical name or alias (case-insensitive) and loads its library.
    // Throws Error(UPOP_E_ENTRY, sentence) when no plugin provides it or its library is rejected.
    DriverRef find(const std::string &name);
    // For tests: a driver descriptor compiled into the process, found before any plugin.
    void add_static(const upopd_driver *driver);
    // {"paths":[...], "drivers":[...], "rejected":[{"file","reason"}]}
    std::string to_json();

private:
    struct Library {
        std::string path;
        void *handle = nullptr;
        std::vector<const upopd_driver *> drivers;
    };
    struct Rejection {
        std::string file, reason;
        bool by_scan = false; // found again by every scan (a load failure stays)
    };

    // The directories scanned, in order; relative UPOPMAIL_DRIVER_PATH entries are rejected.
    std::vector<std::string> search_path_locked();
    void scan_locked();
    Library *load_locked(const Manifest &m, std::string &why);
    void reject_locked(const std::string &file, const std::string &reason, bool by_scan = false);

    mutable std::mutex mu_;
    std::vector<std::string> app_paths_;
    bool scanned_ = false;
    std::vector<Manifest> manifests_;
    std::vector<Rejection> rejected_;
    std::vector<Library> libraries_;
    std::vector<const upopd_driver *> statics_;
};

bool driver_matches(const upopd_driver *d, const std::string &name);

} // namespace upopmail::security
