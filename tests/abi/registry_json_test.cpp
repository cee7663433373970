// registry_json_test.cpp — upop_drivers_json lists a driver folder and a manifest whose names
// are not UTF-8 (byte 0xFF), as valid JSON, every time.
#include "support.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace abi;
namespace fs = std::filesystem;

namespace {

std::string drivers_json() {
    char *p = upop_drivers_json();
    REQUIRE_MESSAGE(p != nullptr, "upop_drivers_json returned NULL");
    std::string s(p);
    upop_free(p);
    return s;
}

} // namespace

TEST_SUITE("abi: registry listing") {

TEST_CASE("upop_drivers_json: a driver folder and a manifest named with byte 0xFF are listed, as valid JSON") {
    std::string root = temp_dir();
    std::string dir = root + "/drivers\xFF";
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    write_file(dir + "/bad\xFF.json", "this is not JSON");
    REQUIRE_MESSAGE(upop_registry_add_path(dir.c_str()) == UPOP_OK, last_error(nullptr));
    for (int round = 0; round < 2; ++round) { // and again: not only the first listing
        CAPTURE(round);
        std::string text = drivers_json();
        CHECK(valid_utf8(text));
        auto j = nlohmann::json::parse(text); // throws (fails the test) if not JSON
        // the bytes that are not UTF-8 are shown as U+FFFD
        bool path_listed = false, manifest_rejected = false;
        for (auto &p : j["paths"])
            if (p.get<std::string>() == root + "/drivers\xEF\xBF\xBD") path_listed = true;
        for (auto &r : j["rejected"])
            if (r["file"].get<std::string>() == root + "/drivers\xEF\xBF\xBD/bad\xEF\xBF\xBD.json") manifest_rejected = true;
        CHECK(path_listed);
        CHECK(manifest_rejected);
    }
    fs::remove_all(root);
    CHECK(valid_utf8(drivers_json())); // the folder has gone: still a listing
}

} // TEST_SUITE
