// config_option_test.cpp — upop_set_option(h, "config", path) reads and checks the file at once:
// a missing, unreadable or invalid file is -2 with a sentence.
#include "support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace abi;
namespace fs = std::filesystem;

namespace {

} // namespace

TEST_SUITE("abi: config option") {

TEST_CASE("upop_set_option config: a missing, unreadable or invalid file is -2 with a sentence, at once") {
    Handle h;
    std::string root = temp_dir();
    CHECK(upop_set_option(h, "config", (root + "/missing.json").c_str()) == UPOP_E_PARAM);
    CHECK_MESSAGE(contains(h.err(), "missing.json"), h.err());
    CHECK(upop_set_option(h, "config", write_file(root + "/bad.json", "{not json").c_str()) == UPOP_E_PARAM);
    CHECK_MESSAGE(contains(h.err(), "not valid JSON"), h.err());
    CHECK(upop_set_option(h, "config", write_file(root + "/wrong.json", "{\"colour\": 1}").c_str()) == UPOP_E_PARAM);
    CHECK_MESSAGE(contains(h.err(), "colour"), h.err());
    CHECK(upop_set_option(h, "config", root.c_str()) == UPOP_E_PARAM); // a folder
    CHECK(upop_set_option(h, "config", write_file(root + "/ok.json", "{\"default\": {}}").c_str()) == UPOP_OK);
    CHECK(h.err().empty());
    CHECK(upop_set_option(h, "config", "") == UPOP_OK);
    fs::remove_all(root);
}

TEST_CASE("upop_set_option config: a file that has become unusable by connect time is -9 there") {
    Handle h;
    std::string root = temp_dir();
    REQUIRE(upop_set_option(h, "config", write_file(root + "/ok.json", "{\"default\": {}}").c_str()) == UPOP_OK);
    fs::remove_all(root);
    // read before any connection is made: no network needed
    CHECK(upop_connect(h, UPOP_SMTP, "127.0.0.1+1", "", "") == UPOP_E_NETWORK);
    CHECK_MESSAGE(contains(h.err(), "ok.json"), h.err());
    CHECK(upop_connect(h, UPOP_POP, "127.0.0.1+1", "u", "p") == UPOP_E_NETWORK);
    CHECK_MESSAGE(contains(h.err(), "ok.json"), h.err());
}

} // TEST_SUITE
