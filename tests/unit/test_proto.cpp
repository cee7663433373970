// DATA encoding (line endings, dot-stuffing, smuggling variants), base64 strictness, GOLD lists.
#include <doctest/doctest.h>

#include "mime/base64.hpp"
#include "mime/list.hpp"
#include "proto/dotstuff.hpp"

using namespace std::string_literals;

using namespace upopmail;

namespace {
std::string stuff(const std::string &in, size_t chunk = 1000000)
{
    proto::DotStuffer s;
    std::string out;
    for (size_t i = 0; i < in.size(); i += chunk) s.feed(std::string_view(in).substr(i, chunk), out);
    s.finish(out);
    return out;
}

// No CR without LF after it and no LF without CR before it.
bool no_bare(const std::string &w)
{
    for (size_t i = 0; i < w.size(); ++i) {
        if (w[i] == '\r' && (i + 1 == w.size() || w[i + 1] != '\n')) return false;
        if (w[i] == '\n' && (i == 0 || w[i - 1] != '\r')) return false;
    }
    return true;
}
} // namespace

TEST_CASE("DATA: line endings become CRLF and leading dots are doubled")
{
    CHECK(stuff("a\nb\rc\r\nd") == "a\r\nb\r\nc\r\nd\r\n.\r\n");
    CHECK(stuff(".start\n..two\nmid.dle\n") == "..start\r\n...two\r\nmid.dle\r\n.\r\n");
    CHECK(stuff("") == ".\r\n");
    CHECK(stuff("x\r\n") == "x\r\n.\r\n");
}

TEST_CASE("BDAT: line endings become CRLF, dots stay as they are, the last line is ended")
{
    for (size_t chunk : {1ul, 2ul, 3ul, 1000ul}) {
        CAPTURE(chunk);
        proto::DotStuffer s(false);
        std::string in = ".start\n.\r\nmid\r\r\n..x\rend", out;
        for (size_t i = 0; i < in.size(); i += chunk) s.feed(std::string_view(in).substr(i, chunk), out);
        s.finish(out);
        CHECK(out == ".start\r\n.\r\nmid\r\n\r\n..x\r\nend\r\n");
    }
}

TEST_CASE("DATA: every smuggling end-of-data variant stays inside the message")
{
    const char *variants[] = {"\n.\n", "\n.\r\n", "\r.\r", "\r\n.\r", "\r\n.\n", "\n.\r", "\r.\n", "\r.\r\n"};
    for (auto v : variants) {
        for (size_t chunk : {1ul, 2ul, 3ul, 1000ul}) {
            std::string body = std::string("one") + v + "MAIL FROM:<evil@x>\r\n";
            std::string w = stuff(body, chunk);
            CAPTURE(chunk);
            CHECK(no_bare(w));
            // exactly one terminator, at the end
            CHECK(w.find("\r\n.\r\n") == w.size() - 5);
            CHECK(w.find("\r\n..\r\n") != std::string::npos);
        }
    }
    std::string nul = stuff(std::string("a\r\n\0.\r\nb", 9));
    CHECK(nul.find("\r\n.\r\n") == nul.size() - 5);
}

TEST_CASE("DATA: chunk boundaries between CR and LF do not create extra lines")
{
    CHECK(stuff("a\r\nb", 2) == "a\r\nb\r\n.\r\n");
    CHECK(stuff("a\r\n.b", 2) == "a\r\n..b\r\n.\r\n");
    CHECK(stuff("a\r", 1) == "a\r\n.\r\n");
}

TEST_CASE("base64 decoding is strict (RFC 4954 section 4)")
{
    CHECK(mime::base64_encode("") == "");
    CHECK(mime::base64_encode("\0user\0pass"s) == "AHVzZXIAcGFzcw==");
    CHECK(mime::base64_decode("AHVzZXIAcGFzcw==").value() == "\0user\0pass"s);
    CHECK(mime::base64_decode("VXNlcm5hbWU6").value() == "Username:");
    CHECK(mime::base64_decode("").value() == "");
    CHECK_FALSE(mime::base64_decode("VXNlcm5hbWU"));   // length
    CHECK_FALSE(mime::base64_decode("VXNl cm5hbWU6")); // blank
    CHECK_FALSE(mime::base64_decode("VX=lcm5hbWU6"));  // '=' inside
    CHECK_FALSE(mime::base64_decode("VXNlcm5hbWU*"));  // alphabet
    CHECK_FALSE(mime::base64_decode("QR=="));          // non-canonical padding bits
    CHECK_FALSE(mime::base64_decode("=AAA"));
}

TEST_CASE("GOLD lists: separators, trimming, Name=Value")
{
    auto items = mime::parse_assoc("SMTP=AUTH LOGIN\x1BUSE=opt", false);
    REQUIRE(items.size() == 2);
    CHECK(items[0].name == "SMTP");
    CHECK(items[0].value == "AUTH LOGIN");
    CHECK(mime::find_item(items, "use").value() == "opt");
    CHECK(mime::split_list("a; b ;;c", true) == std::vector<std::string>{"a", "b", "c"});
    CHECK(mime::split_list("a;b", false) == std::vector<std::string>{"a;b"});
    CHECK(mime::join_list({"x=1", "y"}) == "x=1\x1By");
    CHECK(mime::parse_bool("True").value());
    CHECK_FALSE(mime::parse_bool("nope"));
}
