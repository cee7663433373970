// sentences_test.cpp — upop_last_error repeats what the caller gave (option names and values,
// addresses, paths, connection strings) only as valid UTF-8 with control characters escaped,
// for a handle and without one.
#include "support.hpp"

using namespace abi;

TEST_SUITE("abi: sentences") {

TEST_CASE("sentences are valid UTF-8 without control characters, whatever bytes the caller gave") {
    Handle h;
    const std::string nasty = "x\xFF\xC0\xAF\r\n\x1B[31m\xC2\x9B\xED\xA0\x80y";
    CHECK(upop_set_option(h, ("name" + nasty).c_str(), "1") == UPOP_E_PARAM);
    CHECK_MESSAGE(clean_sentence(h.err()), h.err());
    CHECK(upop_set_option(h, "timeout_ms", nasty.c_str()) == UPOP_E_PARAM);
    CHECK_MESSAGE(clean_sentence(h.err()), h.err());
    CHECK(upop_set_message(h, "text", ("MIMEType=text/" + nasty).c_str()) != UPOP_OK);
    CHECK_MESSAGE(clean_sentence(h.err()), h.err());
    CHECK(upop_set_to_list(h, ("a" + nasty + "@b").c_str()) != UPOP_OK);
    CHECK_MESSAGE(clean_sentence(h.err()), h.err());
    CHECK(upop_connect(h, UPOP_SMTP, ("host" + nasty + "+25").c_str(), "", "") != UPOP_OK);
    CHECK_MESSAGE(clean_sentence(h.err()), h.err());
    CHECK(upop_add_attachment_from_file(h, ("/nonexistent/" + nasty).c_str(), "") != UPOP_OK);
    CHECK_MESSAGE(clean_sentence(h.err()), h.err());
    CHECK(upop_registry_add_path(("/nonexistent/" + nasty).c_str()) != UPOP_OK);
    CHECK_MESSAGE(clean_sentence(last_error(nullptr)), last_error(nullptr));
    CHECK(upop_registry_add_path("/nonexistent/\xFF\xFE") != UPOP_OK);
    CHECK_MESSAGE(clean_sentence(last_error(nullptr)), last_error(nullptr));
}

} // TEST_SUITE
