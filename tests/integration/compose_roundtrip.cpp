// The composed message as another program reads it: a Unicode subject and names, text and HTML,
// two inline images, three attachments (one of 50 MB, one with a non-ASCII name), sent through
// real Dovecot submission and parsed back by Python's standard email package. And the SMTP
// smuggling end-of-data variants arriving as one message.
#include <fstream>
#include <random>

#include "mailtest.hpp"

using namespace mailtest;

namespace {

std::string write_random(const std::string &path, size_t size, unsigned seed) {
    std::mt19937 rng(seed);
    std::ofstream f(path, std::ios::binary);
    std::vector<char> buf(1 << 20);
    for (size_t left = size; left;) {
        size_t n = std::min(left, buf.size());
        for (size_t i = 0; i < n; ++i) buf[i] = static_cast<char>(rng());
        f.write(buf.data(), static_cast<std::streamsize>(n));
        left -= n;
    }
    return path;
}

// A JSON string literal (quotes included) with line breaks escaped.
std::string jstr(const std::string &s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else out += c;
    }
    return out + "\"";
}

std::string source_dir() { return UPOPMAIL_TEST_SOURCE_DIR; }

} // namespace

TEST_CASE("a rich message with a 50 MB attachment arrives as Python's email package expects") {
    std::string token = unique_token("rich");
    std::string dir = temp_dir();
    std::string img1 = write_random(dir + "/logo.png", 3000, 1);
    std::string img2 = write_random(dir + "/photo.jpg", 20000, 2);
    std::string big = write_random(dir + "/big.bin", 50 * 1000 * 1000, 3);
    std::string doc = write_random(dir + "/report.pdf", 70000, 4);
    std::string uni = dir + "/Übersicht Käse €.txt";
    std::ofstream(uni) << "Grüße aus Zürich\n";

    const std::string subject = "Grüße, ✓ Ünïcödé — " + token;
    const std::string plain = "Hello Zoë,\nthis is the plain text. ☃\n.a line with a dot\n";
    const std::string html = "<html><body><p>Hello Zoë</p><img src=\"cid:logo\"><img src=\"cid:photo\"></body></html>";
    Handle h;
    logon_submission(h);
    REQUIRE(upop_set_from(h, ("Jürgen Groß <" + env().addr + ">").c_str()) == UPOP_OK);
    REQUIRE(upop_set_to_list(h, ("Zoë Ådahl <" + env().addr + ">").c_str()) == UPOP_OK);
    REQUIRE(upop_set_subject(h, subject.c_str()) == UPOP_OK);
    // the subject is RFC 2047-encoded on the wire: find the message by its id
    REQUIRE(upop_set_message_id(h, ("<" + token + "@upopmail.test>").c_str()) == UPOP_OK);
    REQUIRE(upop_set_message(h, plain.c_str(), "") == UPOP_OK);
    REQUIRE(upop_set_message(h, html.c_str(), "MIMEType=text/html") == UPOP_OK);
    REQUIRE(upop_add_inline_from_file(h, img1.c_str(), "ContentID=logo") == UPOP_OK);
    REQUIRE(upop_add_inline_from_file(h, img2.c_str(), "ContentID=photo") == UPOP_OK);
    REQUIRE(upop_add_attachment_from_file(h, big.c_str(), "") == UPOP_OK);
    REQUIRE(upop_add_attachment_from_file(h, doc.c_str(), "") == UPOP_OK);
    REQUIRE(upop_add_attachment_from_file(h, uni.c_str(), "") == UPOP_OK);
    CHECK(upop_add_attachment_from_file(h, (dir + "/missing.bin").c_str(), "") == UPOP_E_FILE);
    REQUIRE_MESSAGE(upop_send(h, "") == 0, h.error());
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);

    std::string path = wait_for_delivery(token, 60);
    REQUIRE_MESSAGE(!path.empty(), "the message did not arrive");
    std::string spec = dir + "/spec.json";
    std::ofstream(spec) << "{\"subject\": " << jstr(subject) << ", \"from_name\": \"Jürgen Groß\","
                        << " \"to_names\": [\"Zoë Ådahl\"], \"plain\": " << jstr(plain) << ","
                        << " \"html\": " << jstr(html) << ","
                        << " \"inline\": [{\"cid\": \"logo\", \"file\": \"" << img1 << "\"},"
                        << " {\"cid\": \"photo\", \"file\": \"" << img2 << "\"}],"
                        << " \"attachments\": [{\"name\": \"big.bin\", \"file\": \"" << big << "\"},"
                        << " {\"name\": \"report.pdf\", \"file\": \"" << doc << "\"},"
                        << " {\"name\": \"Übersicht Käse €.txt\", \"file\": " << jstr(uni) << "}]}";
    std::string cmd = "python3 '" + source_dir() + "/check_message.py' '" + path + "' '" + spec + "' 2>&1";
    FILE *p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int st = pclose(p);
    CHECK_MESSAGE(out == "ok\n", out);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    fs::remove(big);
    fs::remove(path); // keep the shared test mailbox small
}

TEST_CASE("every SMTP smuggling end-of-data variant arrives inside one message") {
    std::string token = unique_token("smuggle");
    std::string body = "start " + token + "\r\n";
    const char *variants[] = {"\n.\n", "\n.\r\n", "\r.\r", "\r\n.\r", "\r\n.\n", "\n.\r", "\r.\n", "\r.\r\n"};
    int i = 0;
    for (auto v : variants) body += "v" + std::to_string(i++) + v + "MAIL FROM:<smuggled@example.test>\r\n";
    body += "end\r\n";
    Handle h;
    logon_submission(h);
    REQUIRE_MESSAGE(send_message(h, "smuggling " + token, body) == 0, h.error());
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    Delivered d = delivered("smuggling " + token);
    // the normalised input: every CR, LF or CRLF is one line break
    std::string expect;
    for (size_t k = 0; k < body.size(); ++k) {
        if (body[k] == '\r') {
            expect += '\n';
            if (k + 1 < body.size() && body[k + 1] == '\n') ++k;
        } else {
            expect += body[k];
        }
    }
    CHECK(d.body == expect);
    // nothing was split off into a second message
    auto maildir = fs::path(env().maildir);
    int found = 0;
    for (auto sub : {"new", "cur"})
        for (auto &f : fs::directory_iterator(maildir / sub))
            if (read_file(f.path()).find(token) != std::string::npos) ++found;
    CHECK(found == 1);
}

TEST_CASE("a subject or address with CR or LF is refused") {
    Handle h;
    CHECK(upop_set_subject(h, "hello\r\nBcc: victim@example.test") == UPOP_E_PARAM);
    CHECK(upop_set_to_list(h, "a@example.test\nBcc: victim@example.test") == UPOP_E_PARAM);
    CHECK(upop_set_from(h, "a@example.test\r") == UPOP_E_PARAM);
    CHECK(upop_add_attachment_from_file(h, "/tmp/x\r\nContent-Type: text/html", "") == UPOP_E_PARAM);
    CHECK(!h.error().empty());
}
