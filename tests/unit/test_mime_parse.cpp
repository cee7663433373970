// The receiving side of MIME: header unfolding, RFC 2047 words, RFC 2231 parameters, multipart
// trees and their bounds, transfer decodings, the charset list and safe attachment names.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <atomic>
#include <vector>

#include "error.hpp"
#include "mime/charset.hpp"
#include "mime/parse.hpp"
#include "mime/safe_name.hpp"
#include "upopmail.h"

using namespace upopmail;
using namespace upopmail::mime;
using namespace std::string_literals;

namespace {

int status_of(const std::function<void()> &f)
{
    try {
        f();
    } catch (const Error &e) {
        return e.status();
    }
    return 0;
}

std::string decoded(const Part &p)
{
    bool ok = true;
    std::string s = decode_body(p, ok);
    CHECK(ok);
    return s;
}

} // namespace

TEST_CASE("mime parse: header fields are unfolded, names lower-cased, first occurrence wins")
{
    auto f = parse_header_block("Subject: a long\r\n\tsubject line\r\n  continued\r\nX-Dup: 1\r\nx-dup: 2\r\n"
                                "Bad line without colon\r\nTo: never@seen\r\n");
    REQUIRE(f.size() == 3);
    CHECK(f[0].name == "subject");
    CHECK(f[0].value == "a long\tsubject line  continued");
    Part p = parse_message("Subject: x\r\n folded\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\nbody");
    CHECK(p.header("subject") == "x folded");
    CHECK(p.header("x-dup") == "1");
    CHECK(p.body == "body");
    // LF-only messages too
    Part q = parse_message("Subject: lf\n\nbody\n");
    CHECK(q.header("subject") == "lf");
    CHECK(q.body == "body\n");
    CHECK(q.type == "text");
    CHECK(q.subtype == "plain");
}

TEST_CASE("mime parse: RFC 2047 encoded words")
{
    CHECK(decode_header_text("=?UTF-8?B?SGVsbG8gV8O2cmxk?=") == "Hello W\xC3\xB6rld");
    CHECK(decode_header_text("=?iso-8859-1?q?caf=E9_au_lait?=") == "caf\xC3\xA9 au lait");
    // adjacent words: the blanks (and the fold) between them go
    CHECK(decode_header_text("=?UTF-8?Q?a?= =?UTF-8?Q?b?=") == "ab");
    CHECK(decode_header_text("=?UTF-8?Q?a?=\r\n\t=?UTF-8?Q?b?=") == "ab");
    // but not between a word and plain text
    CHECK(decode_header_text("Re: =?UTF-8?Q?a?= b") == "Re: a b");
    // a UTF-8 character split across two words survives
    CHECK(decode_header_text("=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=") == "\xC3\xA9\xC3\xA9");
    CHECK(decode_header_text("=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=") == "\xE2\x82\xAC");
    // ISO-2022-JP across words, Big5 and Windows-1252
    CHECK(decode_header_text("=?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=") == "\xE6\x97\xA5\xE6\x9C\xAC");
    CHECK(decode_header_text("=?big5?B?pKSk5Q==?=") == "\xE4\xB8\xAD\xE6\x96\x87");
    CHECK(decode_header_text("=?windows-1252?Q?=80_5?=") == "\xE2\x82\xAC 5");
    // language suffix (RFC 2231 §5)
    CHECK(decode_header_text("=?US-ASCII*EN?Q?Keith_Moore?=") == "Keith Moore");
    // malformed or unsupported words are left as they are
    CHECK(decode_header_text("=?UTF-8?X?abc?=") == "=?UTF-8?X?abc?=");
    CHECK(decode_header_text("=?x-unknown?Q?abc?=") == "=?x-unknown?Q?abc?=");
    CHECK(decode_header_text("=?UTF-8?Q?bad=Z?=") == "=?UTF-8?Q?bad=Z?=");
    CHECK(decode_header_text("=?UTF-8?B?a\x01?=") == "=?UTF-8?B?a\x01?=");
    CHECK(decode_header_text("=?UTF-8?Q?no end") == "=?UTF-8?Q?no end");
    CHECK(decode_header_text("x =?UTF-8?Q?a?= =?bogus?Q?b?= =?UTF-8?Q?c?=") == "x a =?bogus?Q?b?= c");
    // raw 8-bit text that is not UTF-8 becomes U+FFFD, UTF-8 stays
    CHECK(decode_header_text("caf\xE9") == "caf\xEF\xBF\xBD");
    CHECK(decode_header_text("caf\xC3\xA9") == "caf\xC3\xA9");
    // an invalid byte inside a B word in UTF-8
    CHECK(decode_header_text("=?UTF-8?B?/w==?=") == "\xEF\xBF\xBD");
}

TEST_CASE("mime parse: Content-Type and Content-Disposition parameters (RFC 2045, RFC 2231)")
{
    std::string v;
    Params p;
    parse_structured("Text/HTML (comment) ; charset = \"UTF-8\" ; Name=\"a \\\"q\\\" b.html\"", v, p);
    CHECK(v == "text/html");
    CHECK(p["charset"] == "UTF-8");
    CHECK(p["name"] == "a \"q\" b.html");

    parse_structured("attachment; filename*=iso-8859-1'en'%A3%20rates.txt", v, p);
    CHECK(v == "attachment");
    CHECK(p["filename"] == "\xC2\xA3 rates.txt");

    // continuations, mixed encoded and plain sections, out of order
    parse_structured("attachment; filename*1=\"part two \"; filename*0*=UTF-8''%E2%82%AC%20one%20;"
                     " filename*2*=%C3%A9.pdf; filename=\"fallback.pdf\"",
                     v, p);
    CHECK(p["filename"] == "\xE2\x82\xAC one part two \xC3\xA9.pdf");

    // a gap ends the value; a missing section 0 ignores the extended form
    parse_structured("inline; filename*0=\"a\"; filename*2=\"c\"", v, p);
    CHECK(p["filename"] == "a");
    parse_structured("inline; filename*1=\"b\"; filename=plain.txt", v, p);
    CHECK(p["filename"] == "plain.txt");

    // RFC 2047 inside a quoted name (common, if not allowed)
    parse_structured("image/png; name=\"=?UTF-8?B?w6l0w6kucG5n?=\"", v, p);
    CHECK(p["name"] == "\xC3\xA9t\xC3\xA9.png");
    // but a boundary is never decoded
    parse_structured("multipart/mixed; boundary=\"=?x?Q?y?=\"", v, p);
    CHECK(p["boundary"] == "=?x?Q?y?=");
    // garbage does not crash and yields what it can
    parse_structured(";;;=;a=;=b;\"unterminated", v, p);
    parse_structured("(((((", v, p);
    CHECK(v.empty());
}

TEST_CASE("mime parse: nested multiparts, text and attachments, transfer encodings")
{
    std::string msg =
        "From: =?UTF-8?Q?J=C3=B6rg?= <j@example.test>\r\n"
        "Subject: nested\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
        "\r\n"
        "preamble\r\n"
        "--outer\r\n"
        "Content-Type: multipart/alternative; boundary=inner\r\n"
        "\r\n"
        "--inner\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "caf=E9 soft=\r\n"
        "break   \r\n"
        "=3D end\r\n"
        "--inner\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "\r\n"
        "<p>hi</p>\r\n"
        "--inner--\r\n"
        "--outer\r\n"
        "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
        "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-ID: <id1@x>\r\n"
        "\r\n"
        "AAEC\r\n"
        " /w ==\r\n"
        "--outer\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "Subject: inner\r\n"
        "Content-Type: multipart/mixed; boundary=outer2\r\n"
        "\r\n"
        "--outer2--\r\n"
        "--outer--\r\n"
        "epilogue\r\n";
    Part m = parse_message(msg);
    CHECK(m.is_multipart());
    CHECK(decode_header_text(m.header("from")) == "J\xC3\xB6rg <j@example.test>");
    auto ls = leaves(m);
    REQUIRE(ls.size() == 4);
    CHECK(ls[0]->mime_type() == "text/plain");
    CHECK(ls[0]->depth == 2);
    CHECK(ls[0]->charset() == "iso-8859-1");
    CHECK(to_utf8(decoded(*ls[0]), ls[0]->charset()) == "caf\xC3\xA9 softbreak\r\n= end");
    CHECK(!ls[0]->is_attachment());
    CHECK(ls[1]->mime_type() == "text/html");
    CHECK(decoded(*ls[1]) == "<p>hi</p>");
    CHECK(ls[2]->is_attachment());
    CHECK(ls[2]->file_name() == "report.pdf");
    CHECK(ls[2]->content_id == "id1@x");
    CHECK(decoded(*ls[2]) == std::string("\x00\x01\x02\xFF", 4));
    // message/rfc822 is a leaf, kept whole
    CHECK(ls[3]->mime_type() == "message/rfc822");
    CHECK(ls[3]->children.empty());
    CHECK(ls[3]->body.find("--outer2--") != std::string_view::npos);
}

TEST_CASE("mime parse: lenient base64 and quoted-printable")
{
    bool ok = true;
    CHECK(decode_base64_lenient("SGVs\r\nbG8=\r\nignored after =", ok) == "Hello");
    CHECK(ok);
    CHECK(decode_base64_lenient("SGVsbG8", ok) == "Hello"); // no padding
    CHECK(ok);
    CHECK(decode_base64_lenient("SG!Vs", ok) == "Hel");
    CHECK(!ok);
    ok = true;
    decode_base64_lenient("SGVsb", ok); // a dangling character
    CHECK(!ok);
    ok = true;
    CHECK(decode_quoted_printable("a=3Db=\r\nc =\nd=ZZ=4", ok) == "a=bc d=ZZ=4");
    Part p = parse_message("Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n");
    ok = true;
    CHECK(decode_body(p, ok) == "begin 644 x\r\n");
    CHECK(!ok);
}

TEST_CASE("mime parse: a multipart without a usable boundary is text; missing close delimiter")
{
    Part a = parse_message("Content-Type: multipart/mixed\r\n\r\nno boundary");
    CHECK(a.mime_type() == "text/plain");
    CHECK(a.children.empty());
    Part b = parse_message("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo");
    REQUIRE(b.children.size() == 2);
    CHECK(b.children[0].body == "one");
    CHECK(b.children[1].body == "two");
    // a boundary line prefix that is longer is not a delimiter
    Part c = parse_message("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--bx\r\n--b--\r\n");
    REQUIRE(c.children.size() == 1);
    CHECK(c.children[0].body == "--bx");
    // multipart/digest children default to message/rfc822
    Part d = parse_message("Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: x\r\n\r\nb\r\n--d--");
    REQUIRE(d.children.size() == 1);
    CHECK(d.children[0].mime_type() == "message/rfc822");
}

TEST_CASE("mime parse: bounds on depth, part count and header size are errors, quickly")
{
    auto t0 = std::chrono::steady_clock::now();
    // 10,000 nested multiparts
    std::string deep;
    for (int i = 0; i < 10000; ++i)
        deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
    deep += "\r\nleaf\r\n";
    int st = 0;
    std::string what;
    try {
        parse_message(deep);
    } catch (const Error &e) {
        st = e.status();
        what = e.what();
    }
    CHECK(st == UPOP_E_RETRIEVAL);
    CHECK(what.find("deeper than 32") != std::string::npos);

    // 100,000 parts
    std::string wide = "Content-Type: multipart/mixed; boundary=w\r\n\r\n";
    for (int i = 0; i < 100000; ++i) wide += "--w\r\n\r\nx\r\n";
    wide += "--w--\r\n";
    what.clear();
    try {
        parse_message(wide);
    } catch (const Error &e) {
        st = e.status();
        what = e.what();
    }
    CHECK(st == UPOP_E_RETRIEVAL);
    CHECK(what.find("more than 1000 MIME parts") != std::string::npos);

    // an endless header block and too many fields
    std::string big = "Subject: x\r\n";
    while (big.size() < 300 * 1024) big += " continued continued continued continued\r\n";
    CHECK(status_of([&] { parse_message(big + "\r\nbody"); }) == UPOP_E_RETRIEVAL);
    std::string many;
    for (int i = 0; i < 3000; ++i) many += "X-A: 1\r\n";
    CHECK(status_of([&] { parse_message(many + "\r\nbody"); }) == UPOP_E_RETRIEVAL);
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(secs < 2.0);

    // exactly at the bounds is fine
    Limits lim;
    lim.max_depth = 3;
    std::string ok3;
    for (int i = 0; i < 3; ++i)
        ok3 += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
    ok3 += "\r\nleaf";
    Part p = parse_message(ok3, lim);
    CHECK(leaves(p).size() == 1);
    CHECK(leaves(p)[0]->depth == 3);
    lim.max_depth = 2;
    CHECK(status_of([&] { parse_message(ok3, lim); }) == UPOP_E_RETRIEVAL);
}

TEST_CASE("mime parse: header priority")
{
    CHECK(header_priority(parse_message("X-Priority: 1 (Highest)\r\n\r\n")) == 1);
    CHECK(header_priority(parse_message("Importance: Low\r\n\r\n")) == 5);
    CHECK(header_priority(parse_message("Importance: high\r\n\r\n")) == 1);
    CHECK(header_priority(parse_message("X-Priority: 9\r\n\r\n")) == 3);
    CHECK(header_priority(parse_message("\r\n")) == 3);
}

TEST_CASE("charset: every charset of the list, known answers")
{
    struct Case {
        const char *charset;
        std::string in, out;
    };
    const Case cases[] = {
        {"UTF-8", "\xC3\xA9", "\xC3\xA9"},
        {"utf8", "a", "a"},
        {"US-ASCII", "plain", "plain"},
        {"ISO-8859-1", "caf\xE9", "caf\xC3\xA9"},
        {"latin1", "\xE9", "\xC3\xA9"},
        {"ISO-8859-2", "\xB1", "\xC4\x85"},
        {"ISO-8859-4", "\xA1", "\xC4\x84"},
        {"ISO-8859-5", "\xB0", "\xD0\x90"},
        {"ISO-8859-7", "\xE1", "\xCE\xB1"},
        {"Windows-1250", "\x9A", "\xC5\xA1"},
        {"Windows-1251", "\xC0", "\xD0\x90"},
        {"Windows-1252", "\x80\x93q\x94", "\xE2\x82\xAC\xE2\x80\x9Cq\xE2\x80\x9D"},
        {"cp1252", "\x80", "\xE2\x82\xAC"},
        {"Windows-1253", "\xE1", "\xCE\xB1"},
        {"Windows-1255", "\xE0", "\xD7\x90"},
        {"Windows-1256", "\xC7", "\xD8\xA7"},
        {"ISO-2022-JP", "\x1B$BF|K\\\x1B(B", "\xE6\x97\xA5\xE6\x9C\xAC"},
        {"EUC-KR", "\xB0\xA1", "\xEA\xB0\x80"},
        {"KSC5601-1992", "\xB0\xA1", "\xEA\xB0\x80"},
        {"GB2312", "\xD6\xD0", "\xE4\xB8\xAD"},
        {"BIG5", "\xA4\xA4\xA4\xE5", "\xE4\xB8\xAD\xE6\x96\x87"},
        {" \"Big5\" ", "\xA4\xA4", "\xE4\xB8\xAD"},
    };
    for (auto &c : cases) {
        CAPTURE(c.charset);
        CHECK(to_utf8(c.in, c.charset) == c.out);
        CHECK(canonical_charset(c.charset).has_value());
    }
    CHECK(canonical_charset("LATIN1") == "ISO-8859-1");
    CHECK(canonical_charset("x-cp1251") == "Windows-1251");
    CHECK(canonical_charset("ks_c_5601-1987") == "KSC5601-1992");
    CHECK(to_utf8("abc", "") == "abc"); // RFC 2045 default
}

TEST_CASE("charset: unknown charsets are -17 naming the charset; invalid bytes become U+FFFD")
{
    std::string what;
    int st = 0;
    try {
        to_utf8("x", "x-unknown");
    } catch (const Error &e) {
        st = e.status();
        what = e.what();
    }
    CHECK(st == UPOP_E_CHARSET);
    CHECK(what.find("'x-unknown'") != std::string::npos);
    // names iconv cannot know, or that would reach its suffixes, are -17 too
    const std::string too_long(65, 'a');
    for (const char *cs : {"unknown-8bit", "x-user-defined", "utf-8//translit", "latin1//IGNORE", "ISO 8859-1",
                           "koi8-r/", "a\x01b", "\xC3\xA9", "utf-8,x", too_long.c_str()}) {
        CAPTURE(cs);
        CHECK(status_of([&] { to_utf8("x", cs); }) == UPOP_E_CHARSET);
        CHECK_FALSE(canonical_charset(cs).has_value());
    }
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(to_utf8("a\xFF" "b", "UTF-8") == "a" + fffd + "b");
    CHECK(to_utf8("\xC0\x80", "UTF-8") == fffd + fffd);       // overlong NUL
    CHECK(to_utf8("\xED\xA0\x80", "UTF-8") == fffd + fffd + fffd); // surrogate
    CHECK(to_utf8("\xE2\x82", "UTF-8") == fffd + fffd);       // truncated
    CHECK(to_utf8("a\x81" "b", "Windows-1252") == "a" + fffd + "b"); // undefined in 1252
    CHECK(to_utf8("\xA4\xA4\xA4", "BIG5") == "\xE4\xB8\xAD" + fffd); // incomplete at the end
    CHECK(to_utf8("ok\xFF", "US-ASCII") == "ok" + fffd);
    CHECK(to_utf8("\x1B$BF|", "ISO-2022-JP") == "\xE6\x97\xA5"); // not shifted back: still fine
    // a long input crosses iconv's output buffer
    std::string big(20000, '\xE9');
    std::string out = to_utf8(big, "ISO-8859-1");
    CHECK(out.size() == 40000);
    CHECK(out.substr(39998) == "\xC3\xA9");
}

TEST_CASE("charset: beyond the reference's list, every charset iconv knows (answers from Python's codecs)")
{
    struct Case {
        const char *charset;
        std::string in, out;
    };
    const Case cases[] = {
        {"Shift_JIS", "\x93\xFA\x96{\x8C\xEA\x82\xCC\x83" "e\x83L\x83X\x83g", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88"},
        {"shift-jis", "\x93\xFA", "\xE6\x97\xA5"},
        {"EUC-KR", "\xC7\xD1\xB1\xB9\xBE\xEE \xC5\xD8\xBD\xBA\xC6\xAE", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xED\x85\x8D\xEC\x8A\xA4\xED\x8A\xB8"},
        {"GB18030", "\xD6\xD0\xCE\xC4\xCE\xC4\xB1\xBE \xA2\xE3 \x95" "2\x82" "6", "\xE4\xB8\xAD\xE6\x96\x87\xE6\x96\x87\xE6\x9C\xAC \xE2\x82\xAC \xF0\xA0\x80\x80"},
        {"KOI8-R", "\xF2\xD5\xD3\xD3\xCB\xC9\xCA \xD4\xC5\xCB\xD3\xD4", "\xD0\xA0\xD1\x83\xD1\x81\xD1\x81\xD0\xBA\xD0\xB8\xD0\xB9 \xD1\x82\xD0\xB5\xD0\xBA\xD1\x81\xD1\x82"},
        {"ISO-8859-15", "Prix: 5 \xA4 \xBDuvre", "Prix: 5 \xE2\x82\xAC \xC5\x93uvre"},
        {"latin9", "\xA4", "\xE2\x82\xAC"},
        {"windows-1254", "T\xFCrk\xE7" "e \xF0\xFD\xFE", "T\xC3\xBCrk\xC3\xA7" "e \xC4\x9F\xC4\xB1\xC5\x9F"},
        {"EUC-JP", "\xC6\xFC\xCB\xDC", "\xE6\x97\xA5\xE6\x9C\xAC"},
        {"UTF-16", "\xFF\xFEh\x00\xE9\x00"s, "h\xC3\xA9"},
        {"ISO-8859-9", "\xF0", "\xC4\x9F"},
        {"CP866", "\x8F\xE0\xA8\xA2\xA5\xE2", "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"},
        {"\"utf-7\"", "+AOk-", "\xC3\xA9"},
    };
    for (auto &c : cases) {
        CAPTURE(c.charset);
        CHECK(to_utf8(c.in, c.charset) == c.out);
        CHECK(canonical_charset(c.charset).has_value());
    }
    CHECK(canonical_charset("shift_jis") == "SHIFT_JIS");
    CHECK(canonical_charset("latin1") == "ISO-8859-1"); // the list first

    const std::string fffd = "\xEF\xBF\xBD";
    // invalid and truncated multibyte sequences: U+FFFD per byte skipped, the rest decoded
    CHECK(to_utf8("\x93\xFA\x93", "Shift_JIS") == "\xE6\x97\xA5" + fffd);        // lead byte at the end
    CHECK(to_utf8("\x95" "2\x82", "GB18030") == fffd + "2" + fffd);                // four-byte form cut short
    CHECK(to_utf8("\xC7\xD1\xFF" "a", "EUC-KR") == "\xED\x95\x9C" + fffd + "a"); // invalid byte
    CHECK(to_utf8("\xFF\xFEh", "UTF-16") == "" + fffd);                           // odd length
    CHECK(to_utf8("+AOk", "UTF-7") == "\xC3\xA9");                              // unterminated shift
    // RFC 2047 words in such charsets are decoded too
    CHECK(decode_header_text("=?koi8-r?B?8tXT08vJyg==?=") == "\xD0\xA0\xD1\x83\xD1\x81\xD1\x81\xD0\xBA\xD0\xB8\xD0\xB9");
    CHECK(decode_header_text("=?x-unknown?Q?a?=") == "=?x-unknown?Q?a?=");
    // a large input: bounded, in order, the same from several threads at once
    std::string big;
    for (int i = 0; i < 20000; ++i) big += "\x93\xFA";
    std::string expect;
    for (int i = 0; i < 20000; ++i) expect += "\xE6\x97\xA5";
    std::vector<std::thread> threads;
    std::atomic<int> same{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (const char *cs : {"Shift_JIS", "SJIS", "CP932"})
                if (to_utf8(big, cs) == expect) ++same;
        });
    for (auto &t : threads) t.join();
    CHECK(same == 12);
}

TEST_CASE("safe names: no paths, no dot tricks, no controls, no devices, bounded, never empty")
{
    CHECK(safe_file_name("../../etc/passwd", 1, "text/plain") == "passwd");
    CHECK(safe_file_name("/tmp/x", 1, "") == "x");
    CHECK(safe_file_name("a\\b", 1, "") == "b");
    CHECK(safe_file_name("C:\\Windows\\system32\\evil.dll", 1, "") == "evil.dll");
    CHECK(safe_file_name("..", 2, "text/html") == "part-2.html");
    CHECK(safe_file_name("../", 3, "image/png") == "part-3.png");
    CHECK(safe_file_name("", 4, "application/x-whatever") == "part-4.bin");
    CHECK(safe_file_name(".bashrc", 1, "") == "bashrc");
    CHECK(safe_file_name("...hidden..txt. ", 1, "") == "hidden.txt");
    CHECK(safe_file_name("CON", 1, "") == "_CON");
    CHECK(safe_file_name("con.txt", 1, "") == "_con.txt");
    CHECK(safe_file_name("Lpt9.tar.gz", 1, "") == "_Lpt9.tar.gz");
    CHECK(safe_file_name("nul .txt", 1, "") == "_nul .txt");
    CHECK(safe_file_name("CONSOLE.txt", 1, "") == "CONSOLE.txt");
    CHECK(safe_file_name("COM10", 1, "") == "COM10");
    CHECK(safe_file_name("a\x01" "b\r\nc\x1B" "d\x7F.txt", 1, "") == "a_b__c_d_.txt");
    CHECK(safe_file_name("what?<x>:\"|*.txt", 1, "") == "what__x_____.txt");
    CHECK(safe_file_name("inv\xE2\x80\xAE" "fdp.exe", 1, "") == "inv_fdp.exe"); // RLO
    CHECK(safe_file_name("caf\xE9.txt", 1, "") == "caf_.txt");                  // not UTF-8
    CHECK(safe_file_name("r\xC3\xA9sum\xC3\xA9.pdf", 1, "") == "r\xC3\xA9sum\xC3\xA9.pdf");
    CHECK(safe_file_name("\x01", 7, "text/plain") == "part-7.txt");

    std::string longname(300, 'a');
    std::string s = safe_file_name(longname + ".pdf", 1, "");
    CHECK(s.size() == kMaxSafeNameBytes);
    CHECK(s.substr(s.size() - 4) == ".pdf");
    std::string multibyte;
    for (int i = 0; i < 100; ++i) multibyte += "\xC3\xA9";
    s = safe_file_name(multibyte + ".txt", 1, "");
    CHECK(s.size() <= kMaxSafeNameBytes);
    CHECK(is_valid_utf8(s));
    CHECK(s.substr(s.size() - 4) == ".txt");
    CHECK(safe_file_name(longname, 1, "").size() == kMaxSafeNameBytes);
}

TEST_CASE("safe names: files are created new, never through a link, duplicates renamed")
{
    namespace fs = std::filesystem;
    char tmpl[] = "/tmp/upop-safe.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    std::string dir = tmpl;
    fs::create_directory(dir + "/att");
    std::string att = dir + "/att";

    auto r = write_new_file(att, "a.txt", "one");
    CHECK(r.status == WriteResult::Written);
    CHECK(r.name == "a.txt");
    r = write_new_file(att, "a.txt", "two");
    CHECK(r.status == WriteResult::Renamed);
    CHECK(r.name == "a (2).txt");
    r = write_new_file(att, "a.txt", "three");
    CHECK(r.name == "a (3).txt");
    auto read = [](const std::string &p) {
        std::ifstream f(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(f), {});
    };
    CHECK(read(att + "/a.txt") == "one");
    CHECK(read(att + "/a (2).txt") == "two");

    // a symbolic link planted under the name is not followed
    std::ofstream(dir + "/target") << "keep";
    fs::create_symlink(dir + "/target", att + "/link.txt");
    r = write_new_file(att, "link.txt", "evil");
    CHECK(r.status == WriteResult::Renamed);
    CHECK(read(dir + "/target") == "keep");
    fs::create_symlink(dir + "/nowhere", att + "/dangling");
    r = write_new_file(att, "dangling", "evil");
    CHECK(r.status == WriteResult::Renamed);
    CHECK(!fs::exists(dir + "/nowhere"));

    // only the user may read what was written, whatever the usual umask lets through
    ::mode_t old_mask = ::umask(022);
    r = write_new_file(att, "private.txt", "secret");
    ::umask(old_mask);
    REQUIRE(r.status == WriteResult::Written);
    struct stat st {};
    REQUIRE(::stat((att + "/private.txt").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    // a missing directory fails without throwing
    r = write_new_file(dir + "/missing", "x", "y");
    CHECK(r.status == WriteResult::Failed);
    CHECK(r.error.find("missing") != std::string::npos);

    // nothing was written outside att
    size_t outside = 0;
    for (auto &e : fs::directory_iterator(dir))
        if (e.path().filename() != "att" && e.path().filename() != "target") ++outside;
    CHECK(outside == 0);
    fs::remove_all(dir);
}

TEST_CASE("view_mail: the header list, the text part and the file names GetMail uses")
{
    MailView v;
    view_mail("To: a@x.test\r\nFrom: =?UTF-8?Q?=C3=89ve?= <e@x.test>\r\nSubject: =?UTF-8?Q?a=1Bb?= c\r\n\td\x1B" "e\r\n"
              "Cc: c@x.test\r\nReply-To: r@x.test\r\nImportance: low\r\nDate: Sat, 28 Nov 2026 01:02:03 +0000\r\n"
              "\r\nbody\r\n",
              7, v);
    const std::vector<std::string> items = {"ID=7",
                                            "TO=a@x.test",
                                            "FROM=\xC3\x89ve <e@x.test>",
                                            "SUBJECT=a b c\td e",
                                            "DATE=Sat, 28 Nov 2026 01:02:03 +0000",
                                            "PRIORITY=5",
                                            "CC=c@x.test",
                                            "REPLY=r@x.test"};
    // GOLD and the fold's tab never reach the list
    CHECK(v.header_items.size() == items.size());
    CHECK(v.header_items[3] == "SUBJECT=a b c d e");
    for (auto &i : v.header_items) CHECK(i.find('\x1B') == std::string::npos);
    CHECK(v.header_items[2] == items[2]);
    CHECK(v.header_items[5] == items[5]);
    CHECK(v.header_items[7] == items[7]);
    REQUIRE(v.text != nullptr);
    CHECK(v.text->body == "body\r\n");
    CHECK(v.files.empty());

    // HTML only: no text, the HTML is a file
    MailView h;
    view_mail("Content-Type: text/html; charset=utf-8\r\n\r\n<p>x</p>", 1, h);
    CHECK(h.text == nullptr);
    REQUIRE(h.files.size() == 1);
    CHECK(h.files[0].name == "part-1.html");

    // a named text/plain is an attachment; the first unnamed one is the text, a later one a file
    MailView m;
    view_mail("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
              "--b\r\nContent-Type: text/plain; name=notes.txt\r\n\r\nnotes\r\n"
              "--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
              "--b\r\nContent-Type: text/plain\r\n\r\nthe text\r\n"
              "--b\r\nContent-Type: text/plain\r\nContent-Disposition: inline\r\n\r\nfooter\r\n"
              "--b\r\nContent-Type: image/png\r\nContent-ID: <i1>\r\nContent-Disposition: inline\r\n\r\npng\r\n"
              "--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner\r\n"
              "--b--\r\n",
              2, m);
    REQUIRE(m.text != nullptr);
    CHECK(m.text->body == "the text");
    std::vector<std::string> names;
    for (auto &f : m.files) names.push_back(f.name);
    CHECK(names == std::vector<std::string>{"notes.txt", "part-2.html", "part-4.txt", "part-5.png", "part-6.eml"});
}
