// GetMail against real Dovecot: a text + HTML message sent through submission and fetched over
// POP3 (Unicode subject, the text, the HTML as a file, the -16 continuation), and crafted messages
// written straight into the maildir: the charsets of the reference and others that iconv knows
// (Shift_JIS, EUC-KR, GB18030, KOI8-R, ISO-8859-15), an unsupported charset (-17),
// hostile attachment names (nothing written outside the attachment directory, warning 3),
// warnings 1 and 2.
#include "mailtest.hpp"

#include <algorithm>
#include <set>

using namespace mailtest;

namespace {

// A fresh directory under the test's temporary directory.
std::string new_dir(const std::string &tag) {
    static int n = 0;
    std::string d = temp_dir() + "/" + tag + "-" + std::to_string(++n);
    fs::create_directories(d);
    return d;
}

std::vector<std::string> split_gold(const std::string &list) {
    std::vector<std::string> out;
    if (list.empty()) return out;
    size_t start = 0;
    for (;;) {
        size_t g = list.find('\x1B', start);
        out.push_back(list.substr(start, g == std::string::npos ? std::string::npos : g - start));
        if (g == std::string::npos) break;
        start = g + 1;
    }
    return out;
}

// The value of NAME= in a GOLD list ("<missing>" when absent).
std::string item(const std::string &list, const std::string &name) {
    for (auto &i : split_gold(list))
        if (i.compare(0, name.size() + 1, name + "=") == 0) return i.substr(name.size() + 1);
    return "<missing>";
}

struct Mail {
    int rc = 0;
    std::string headers, text, atts;
};

// GetMail, then GetMailX while -16.
Mail get_mail(Handle &h, int id, const std::string &dir, size_t cap = 65536) {
    std::vector<char> hb(cap), tb(cap), ab(cap);
    Mail m;
    m.rc = upop_get_mail(h, id, dir.c_str(), 0, hb.data(), cap, tb.data(), cap, ab.data(), cap);
    if (m.rc < 0 && m.rc != UPOP_E_MORE) return m;
    m.headers = hb.data(), m.text = tb.data(), m.atts = ab.data();
    int guard = 0;
    while (m.rc == UPOP_E_MORE && ++guard < 100000) {
        m.rc = upop_get_mail_x(h, hb.data(), cap, tb.data(), cap, ab.data(), cap);
        m.headers += hb.data(), m.text += tb.data(), m.atts += ab.data();
    }
    return m;
}

// The POP3 number of the message whose raw text holds token, newest first; 0 when none.
int find_message(Handle &h, const std::string &token) {
    std::vector<char> buf(1 << 20);
    int rc = upop_list_mail(h, buf.data(), buf.size());
    REQUIRE_MESSAGE(rc >= 0, h.error());
    std::vector<int> ids;
    for (auto &i : split_gold(buf.data()))
        if (i.compare(0, 3, "ID=") == 0) ids.push_back(std::atoi(i.c_str() + 3));
    std::sort(ids.rbegin(), ids.rend());
    for (int id : ids) {
        std::string raw;
        int r = upop_get_raw_mail(h, id, 0, buf.data(), buf.size());
        raw = buf.data();
        while (r == UPOP_E_MORE) {
            r = upop_get_raw_mail_x(h, buf.data(), buf.size());
            raw += buf.data();
        }
        if (r == UPOP_OK && raw.find(token) != std::string::npos) return id;
    }
    return 0;
}

// Writes a raw message into the test mailbox the way a delivery agent does (tmp/, then a rename
// into new/), owned by the mailbox's owner so that Dovecot can read it.
void inject(const std::string &raw) {
    static int n = 0;
    const std::string &md = env().maildir;
    struct stat st {};
    REQUIRE_MESSAGE(::stat((md + "/new").c_str(), &st) == 0, md << "/new does not exist");
    std::string name = std::to_string(std::time(nullptr)) + ".P" + std::to_string(getpid()) + "Q" +
                       std::to_string(++n) + ".upopmail-getmail";
    std::string tmp = md + "/tmp/" + name;
    {
        std::ofstream f(tmp, std::ios::binary);
        f << raw;
        REQUIRE(f.good());
    }
    if (::geteuid() == 0) REQUIRE(::chown(tmp.c_str(), st.st_uid, st.st_gid) == 0);
    ::chmod(tmp.c_str(), 0600);
    REQUIRE(::rename(tmp.c_str(), (md + "/new/" + name).c_str()) == 0);
}

std::string headers_for(const std::string &token, const std::string &subject) {
    return "From: Sender <sender@example.test>\n"
           "To: testuser@example.test\n"
           "Subject: " + subject + "\n"
           "Date: Sat, 28 Nov 2026 01:02:03 +0000\n"
           "Message-ID: <" + token + "@example.test>\n"
           "MIME-Version: 1.0\n";
}

// Every entry under dir (recursively), relative.
std::set<std::string> tree(const std::string &dir) {
    std::set<std::string> out;
    for (auto &e : fs::recursive_directory_iterator(dir))
        out.insert(e.path().lexically_relative(dir).string());
    return out;
}

} // namespace

TEST_CASE("GetMail: a text + HTML message with a Unicode subject, through submission and POP3") {
    std::string token = unique_token("getmail");
    const std::string subject = "Gr\xC3\xBC\xC3\x9F" "e \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC \xE2\x82\xAC " + token;
    const std::string text = "Hello \xC3\xA9t\xC3\xA9,\nsecond line with = and a very long line " + std::string(200, 'x') +
                             "\n.leading dot\nend";
    const std::string html = "<html><body><p>Hello <b>\xC3\xA9t\xC3\xA9</b> " + token + "</p></body></html>";
    {
        Handle h;
        REQUIRE(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK);
        REQUIRE(upop_set_security(h, "SMTP=AUTH PLAIN", credentials().c_str()) == UPOP_OK);
        REQUIRE_MESSAGE(upop_connect(h, UPOP_SMTP, submission().c_str(), "", "") == UPOP_OK, h.error());
        REQUIRE(upop_set_from(h, ("J\xC3\xB6rg <" + env().addr + ">").c_str()) == UPOP_OK);
        REQUIRE(upop_set_to_list(h, env().addr.c_str()) == UPOP_OK);
        REQUIRE(upop_set_reply_to(h, "replies@example.test") == UPOP_OK);
        REQUIRE(upop_set_priority(h, 1) == UPOP_OK);
        REQUIRE(upop_set_message_id(h, ("<" + token + "@example.test>").c_str()) == UPOP_OK);
        REQUIRE(upop_set_subject(h, subject.c_str()) == UPOP_OK);
        REQUIRE(upop_set_message(h, text.c_str(), "") == UPOP_OK);
        REQUIRE(upop_set_message(h, html.c_str(), "MIMEType=text/html") == UPOP_OK);
        REQUIRE_MESSAGE(upop_send(h, "") == 0, h.error());
        REQUIRE(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    }
    REQUIRE_MESSAGE(!wait_for_delivery(token).empty(), "the message never arrived");

    Handle h;
    logon_pop(h);
    int id = find_message(h, token);
    REQUIRE(id > 0);
    std::string dir = new_dir("html");
    Mail m = get_mail(h, id, dir);
    REQUIRE_MESSAGE(m.rc == 0, h.error());
    CHECK(item(m.headers, "ID") == std::to_string(id));
    CHECK(item(m.headers, "SUBJECT") == subject);
    CHECK(item(m.headers, "FROM") == "J\xC3\xB6rg <" + env().addr + ">");
    CHECK(item(m.headers, "TO").find(env().addr) != std::string::npos);
    CHECK(item(m.headers, "REPLY").find("replies@example.test") != std::string::npos);
    CHECK(item(m.headers, "PRIORITY") == "1");
    CHECK(item(m.headers, "CC") == "");
    CHECK(item(m.headers, "DATE").find("20") != std::string::npos);
    std::string expected_text = text;
    for (size_t p = 0; (p = expected_text.find('\n', p)) != std::string::npos; p += 2) expected_text.insert(p, "\r");
    CHECK(m.text == expected_text);
    auto atts = split_gold(m.atts);
    REQUIRE(atts.size() == 1);
    CHECK(atts[0].size() > 5);
    CHECK(atts[0].substr(atts[0].size() - 5) == ".html");
    CHECK(read_file(dir + "/" + atts[0]) == html);
    CHECK(tree(dir).size() == 1);

    // the same through tiny buffers: the -16 continuation gives the same three outputs
    std::string dir2 = new_dir("html-small");
    Mail small = get_mail(h, id, dir2, 16);
    CHECK(small.rc == 0);
    CHECK(small.headers == m.headers);
    CHECK(small.text == m.text);
    CHECK(small.atts == m.atts);

    // the same directory again: the file exists, warning 3 and a new name
    Mail again = get_mail(h, id, dir);
    CHECK(again.rc == 3);
    CHECK(h.error().find("already existed") != std::string::npos);
    auto atts2 = split_gold(again.atts);
    REQUIRE(atts2.size() == 1);
    CHECK(atts2[0] != atts[0]);
    CHECK(read_file(dir + "/" + atts2[0]) == html);
    CHECK(read_file(dir + "/" + atts[0]) == html);

    char hb[256], tb[256], ab[256];
    CHECK(upop_get_mail(h, 999999, dir.c_str(), 0, hb, sizeof hb, tb, sizeof tb, ab, sizeof ab) == UPOP_E_UNSUPPORTED);
    CHECK(upop_get_mail(h, id, dir.c_str(), 10, hb, sizeof hb, tb, sizeof tb, ab, sizeof ab) == UPOP_E_SIZE);

    REQUIRE(upop_delete_mail(h, id) == UPOP_OK);
    REQUIRE(upop_disconnect(h, UPOP_POP) == UPOP_OK);
    CHECK(upop_get_mail(h, 1, dir.c_str(), 0, hb, sizeof hb, tb, sizeof tb, ab, sizeof ab) == UPOP_E_SECURITY);
}

TEST_CASE("GetMail: crafted messages in the reference's charsets and others iconv knows, -17 for others") {
    struct Crafted {
        std::string charset;
        std::string subject_raw, subject, body_headers, body, text;
    };
    const Crafted cases[] = {
        {"ISO-8859-1", "=?ISO-8859-1?Q?Caf=E9_cr=E8me?=", "Caf\xC3\xA9 cr\xC3\xA8me",
         "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n",
         "Voil\xE0 le caf\xE9.\n", "Voil\xC3\xA0 le caf\xC3\xA9.\r\n"},
        {"Windows-1252", "=?windows-1252?Q?=80_100_=93quoted=94?=", "\xE2\x82\xAC 100 \xE2\x80\x9Cquoted\xE2\x80\x9D",
         "Content-Type: text/plain; charset=\"windows-1252\"\nContent-Transfer-Encoding: quoted-printable\n",
         "Price: =80 5, =93fine=94 soft=\nbreak\n", "Price: \xE2\x82\xAC 5, \xE2\x80\x9C" "fine\xE2\x80\x9D softbreak\r\n"},
        {"ISO-2022-JP", "=?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=", "\xE6\x97\xA5\xE6\x9C\xAC",
         "Content-Type: text/plain; charset=iso-2022-jp\nContent-Transfer-Encoding: 7bit\n",
         "\x1B$BF|K\\\x1B(B text\n", "\xE6\x97\xA5\xE6\x9C\xAC text\r\n"},
        {"Big5", "=?big5?B?pKSk5Q==?=", "\xE4\xB8\xAD\xE6\x96\x87",
         "Content-Type: text/plain; charset=big5\nContent-Transfer-Encoding: base64\n", "pKSk5Q0K\n",
         "\xE4\xB8\xAD\xE6\x96\x87\r\n"},
        // beyond the reference's list, decoded by iconv: the bytes and the expected text were made
        // with Python's codecs (str.encode / the UTF-8 of the same str), independent of glibc
        {"Shift_JIS", "=?Shift_JIS?B?k/qWe4zqgsyMj5a8?=", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE4\xBB\xB6\xE5\x90\x8D",
         "Content-Type: text/plain; charset=Shift_JIS\nContent-Transfer-Encoding: 8bit\n",
         "\x93\xFA\x96{\x8C\xEA\x82\xCC\x83" "e\x83L\x83X\x83g\x82\xC5\x82\xB7\x81" "B\x0A",
         "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88\xE3\x81\xA7\xE3\x81\x99\xE3\x80\x82\x0D\x0A"},
        {"EUC-KR", "=?EUC-KR?B?x9Gxub7uIMGmuPE=?=", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xEC\xA0\x9C\xEB\xAA\xA9",
         "Content-Type: text/plain; charset=EUC-KR\nContent-Transfer-Encoding: 8bit\n",
         "\xC7\xD1\xB1\xB9\xBE\xEE \xC5\xD8\xBD\xBA\xC6\xAE\xC0\xD4\xB4\xCF\xB4\xD9.\x0A",
         "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xED\x85\x8D\xEC\x8A\xA4\xED\x8A\xB8\xEC\x9E\x85\xEB\x8B\x88\xEB\x8B\xA4.\x0D\x0A"},
        {"GB18030", "=?GB18030?B?1tDOxNb3zOI=?=", "\xE4\xB8\xAD\xE6\x96\x87\xE4\xB8\xBB\xE9\xA2\x98",
         "Content-Type: text/plain; charset=GB18030\nContent-Transfer-Encoding: base64\n",
         "1tDOxM7Esb4gouMglTKCNg0K\x0A",
         "\xE4\xB8\xAD\xE6\x96\x87\xE6\x96\x87\xE6\x9C\xAC \xE2\x82\xAC \xF0\xA0\x80\x80\x0D\x0A"},
        {"KOI8-R", "=?KOI8-R?Q?=F4=C5=CD=C1_=D0=C9=D3=D8=CD=C1?=", "\xD0\xA2\xD0\xB5\xD0\xBC\xD0\xB0 \xD0\xBF\xD0\xB8\xD1\x81\xD1\x8C\xD0\xBC\xD0\xB0",
         "Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n",
         "\xF2\xD5\xD3\xD3\xCB\xC9\xCA \xD4\xC5\xCB\xD3\xD4.\x0A",
         "\xD0\xA0\xD1\x83\xD1\x81\xD1\x81\xD0\xBA\xD0\xB8\xD0\xB9 \xD1\x82\xD0\xB5\xD0\xBA\xD1\x81\xD1\x82.\x0D\x0A"},
        {"ISO-8859-15", "=?ISO-8859-15?Q?Prix_en_=A4?=", "Prix en \xE2\x82\xAC",
         "Content-Type: text/plain; charset=ISO-8859-15\nContent-Transfer-Encoding: quoted-printable\n",
         "=BCuvre =E0 5 =A4 - non: =BDuvre =E0 5 =A4.\x0A",
         "\xC5\x92uvre \xC3\xA0 5 \xE2\x82\xAC - non: \xC5\x93uvre \xC3\xA0 5 \xE2\x82\xAC.\x0D\x0A"},
    };
    std::vector<std::string> tokens;
    for (auto &c : cases) {
        std::string token = unique_token("charset");
        tokens.push_back(token);
        inject(headers_for(token, c.subject_raw + " " + token) + c.body_headers + "\n" + c.body);
    }
    std::string bad_token = unique_token("x-unknown");
    inject(headers_for(bad_token, "unknown " + bad_token) +
           "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=x-unknown\n\n"
           "\xFE\xFF text\n--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b--\n");

    Handle h;
    logon_pop(h);
    std::vector<int> ids;
    for (size_t k = 0; k < std::size(cases); ++k) {
        auto &c = cases[k];
        CAPTURE(c.charset);
        int id = find_message(h, tokens[k]);
        REQUIRE(id > 0);
        std::string dir = new_dir("charset");
        Mail m = get_mail(h, id, dir);
        CHECK_MESSAGE(m.rc == 0, h.error());
        CHECK(item(m.headers, "SUBJECT") == c.subject + " " + tokens[k]);
        CHECK(item(m.headers, "FROM") == "Sender <sender@example.test>");
        CHECK(item(m.headers, "PRIORITY") == "3");
        CHECK(m.text == c.text);
        CHECK(m.atts == "");
        CHECK(tree(dir).empty());
        ids.push_back(id);
    }
    int id = find_message(h, bad_token);
    REQUIRE(id > 0);
    std::string dir = new_dir("unknown");
    Mail m = get_mail(h, id, dir);
    CHECK(m.rc == UPOP_E_CHARSET);
    CHECK(h.error().find("x-unknown") != std::string::npos);
    CHECK(tree(dir).empty()); // nothing written when the text cannot be converted
    ids.push_back(id);
    // deleted at the end: ListMail numbers messages by STAT's count, which drops deleted ones
    for (int i : ids) CHECK(upop_delete_mail(h, i) == UPOP_OK);
    REQUIRE(upop_disconnect(h, UPOP_POP) == UPOP_OK);
}

TEST_CASE("GetMail: hostile attachment names stay inside the directory; warnings 1, 2 and 3") {
    std::string token = unique_token("hostile");
    auto att = [&](const std::string &headers, const std::string &body) {
        return "--HOSTILE\n" + headers + "\n" + body + "\n";
    };
    std::string raw = headers_for(token, "hostile names " + token) +
                      "Content-Type: multipart/mixed; boundary=\"HOSTILE\"\n\npreamble\n" +
                      att("Content-Type: text/plain; charset=utf-8\n", "the text " + token) +
                      att("Content-Disposition: attachment; filename=\"../../etc/passwd\"\n", "P-passwd-" + token) +
                      att("Content-Disposition: attachment; filename=\"/tmp/x\"\n", "P-x-" + token) +
                      att("Content-Disposition: attachment; filename=\"a\\\\b\"\n", "P-b-" + token) +
                      att("Content-Disposition: attachment; filename=CON\n", "P-CON-" + token) +
                      att("Content-Disposition: attachment; filename=\"con.txt\"\n", "P-con-" + token) +
                      att("Content-Disposition: attachment;\n filename*=UTF-8''ctl%01%0D%0A%1Bname.txt\n", "P-ctl-" + token) +
                      att("Content-Disposition: attachment;\n filename*0*=UTF-8''..%2F..%2F;\n filename*1=\"escape.txt\"\n",
                          "P-escape-" + token) +
                      att("Content-Disposition: attachment; filename=\"dup.txt\"\n", "P-dup1-" + token) +
                      att("Content-Disposition: attachment; filename=\"dup.txt\"\n", "P-dup2-" + token) +
                      att("Content-Disposition: attachment; filename=\"planted.txt\"\n", "P-planted-" + token) +
                      att("Content-Type: text/plain; name=\"..\\\\..\\\\win.ini\"\n", "P-win-" + token) +
                      att("Content-Type: image/png\nContent-Transfer-Encoding: base64\n", "iVBORw0KGgo=") +
                      att("Content-Type: application/octet-stream; name=\"..\"\nContent-Transfer-Encoding: base64\n",
                          "QUJD!!!") +
                      "--HOSTILE--\n";
    inject(raw);

    std::string parent = new_dir("hostile");
    std::string dir = parent + "/att";
    fs::create_directory(dir);
    std::ofstream(parent + "/target") << "keep";
    fs::create_symlink(parent + "/target", dir + "/planted.txt");
    auto before_tmp = fs::exists("/tmp/x") ? read_file("/tmp/x") : std::string("<none>");

    Handle h;
    logon_pop(h);
    int id = find_message(h, token);
    REQUIRE(id > 0);
    Mail m = get_mail(h, id, dir);
    CHECK(m.rc == 3);
    CHECK(m.text == "the text " + token);
    const std::vector<std::string> expected = {"passwd",      "x",       "b",           "_CON",
                                               "_con.txt",    "ctl____name.txt", "escape.txt", "dup.txt",
                                               "dup (2).txt", "planted (2).txt", "win.ini",  "part-13.png",
                                               "part-14.bin"};
    CHECK(split_gold(m.atts) == expected);
    std::string err = h.error();
    CHECK(err.find("warning 3") != std::string::npos);
    CHECK(err.find("dup (2).txt") != std::string::npos);
    // the files hold their parts; nothing is outside dir; the planted link was not followed
    CHECK(read_file(dir + "/passwd") == "P-passwd-" + token);
    CHECK(read_file(dir + "/x") == "P-x-" + token);
    CHECK(read_file(dir + "/dup.txt") == "P-dup1-" + token);
    CHECK(read_file(dir + "/dup (2).txt") == "P-dup2-" + token);
    CHECK(read_file(dir + "/planted (2).txt") == "P-planted-" + token);
    CHECK(read_file(dir + "/part-14.bin") == "ABC");
    CHECK(read_file(parent + "/target") == "keep");
    std::string all;
    for (auto &e : tree(parent)) all += e + "\n";
    CHECK_MESSAGE(tree(parent).size() == expected.size() + 3, all); // att/, target, att/planted.txt + the files
    for (auto &e : fs::directory_iterator(dir))
        if (e.path().filename() != "planted.txt") CHECK(e.is_regular_file());
    CHECK((fs::exists("/tmp/x") ? read_file("/tmp/x") : std::string("<none>")) == before_tmp);

    // warning 2: the directory does not exist; the text still comes
    Mail none = get_mail(h, id, parent + "/missing");
    CHECK(none.rc == 2);
    CHECK(none.text == "the text " + token);
    CHECK(none.atts == "");
    CHECK(!fs::exists(parent + "/missing"));
    CHECK(h.error().find("does not exist") != std::string::npos);
    REQUIRE(upop_delete_mail(h, id) == UPOP_OK);

    // warning 1: a part that does not decode (and an attachment in an unknown charset is bytes)
    std::string t1 = unique_token("warn1");
    inject(headers_for(t1, "warn1 " + t1) +
           "Content-Type: multipart/mixed; boundary=w\n\n--w\nContent-Type: text/plain\n\nplain\n"
           "--w\nContent-Type: text/plain; charset=x-unknown; name=raw.txt\n\n\xFE\xFF raw\n"
           "--w\nContent-Type: application/pdf; name=broken.pdf\nContent-Transfer-Encoding: base64\n\nJVBE!!Rg==\n--w--\n");
    REQUIRE(upop_disconnect(h, UPOP_POP) == UPOP_OK);
    Handle h2;
    logon_pop(h2);
    int id1 = find_message(h2, t1);
    REQUIRE(id1 > 0);
    std::string d1 = new_dir("warn1");
    Mail w = get_mail(h2, id1, d1);
    CHECK(w.rc == 1);
    CHECK(w.text == "plain");
    CHECK(split_gold(w.atts) == std::vector<std::string>{"raw.txt", "broken.pdf"});
    CHECK(read_file(d1 + "/raw.txt") == "\xFE\xFF raw");
    CHECK(read_file(d1 + "/broken.pdf") == "%PDF");
    CHECK(h2.error().find("broken.pdf") != std::string::npos);
    REQUIRE(upop_delete_mail(h2, id1) == UPOP_OK);
    REQUIRE(upop_disconnect(h2, UPOP_POP) == UPOP_OK);
}

namespace {

// LF line endings (as a maildir may store them) shown as the CRLF that POP3 carries.
std::string as_crlf(const std::string &s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
        out += s[i];
    }
    return out;
}

std::string raw_message(Handle &h, int id) {
    std::vector<char> buf(4096);
    int r = upop_get_raw_mail(h, id, 0, buf.data(), buf.size());
    std::string raw = buf.data();
    while (r == UPOP_E_MORE) {
        r = upop_get_raw_mail_x(h, buf.data(), buf.size());
        raw += buf.data();
    }
    REQUIRE_MESSAGE(r == UPOP_OK, h.error());
    return raw;
}

std::string bytes_of(const std::string &path) { return read_file(path); }

} // namespace

TEST_CASE("GetMail: what Send composed (HTML, inline images, attachments) comes back with the same bytes") {
    std::string token = unique_token("roundtrip");
    std::string src = new_dir("src");
    auto write = [&](const std::string &name, const std::string &data) {
        std::ofstream(src + "/" + name, std::ios::binary) << data;
        return src + "/" + name;
    };
    std::string bin1, bin2;
    for (int i = 0; i < 5000; ++i) bin1 += static_cast<char>((i * 7919) & 0xFF);
    for (int i = 0; i < 70000; ++i) bin2 += static_cast<char>((i * 31 + 7) & 0xFF);
    std::string logo = write("logo.png", bin1), chart = write("chart.gif", bin1.substr(0, 1234));
    std::string report = write("report.pdf", bin2), notes = write("Notizen für Zoë.txt", "Grüße\r\nzweite Zeile\r\n");
    const std::string subject = "Rückmeldung ✓ " + token;
    const std::string plain = "Hello,\r\nthe plain text ☃\r\n";
    const std::string html = "<p>Hello <img src=\"cid:logo\"> <img src=\"cid:chart\"></p>";
    {
        Handle s;
        REQUIRE(upop_set_security(s, "SMTP=STARTTLS", "") == UPOP_OK);
        REQUIRE(upop_set_security(s, "SMTP=AUTH PLAIN", credentials().c_str()) == UPOP_OK);
        REQUIRE_MESSAGE(upop_connect(s, UPOP_SMTP, submission().c_str(), "", "") == UPOP_OK, s.error());
        REQUIRE(upop_set_from(s, env().addr.c_str()) == UPOP_OK);
        REQUIRE(upop_set_to_list(s, env().addr.c_str()) == UPOP_OK);
        REQUIRE(upop_set_subject(s, subject.c_str()) == UPOP_OK);
        REQUIRE(upop_set_message_id(s, ("<" + token + "@upopmail.test>").c_str()) == UPOP_OK);
        REQUIRE(upop_set_message(s, plain.c_str(), "") == UPOP_OK);
        REQUIRE(upop_set_message(s, html.c_str(), "MIMEType=text/html") == UPOP_OK);
        REQUIRE(upop_add_inline_from_file(s, logo.c_str(), "ContentID=logo") == UPOP_OK);
        REQUIRE(upop_add_inline_from_file(s, chart.c_str(), "ContentID=chart") == UPOP_OK);
        REQUIRE(upop_add_attachment_from_file(s, report.c_str(), "") == UPOP_OK);
        REQUIRE(upop_add_attachment_from_file(s, notes.c_str(), "") == UPOP_OK);
        REQUIRE_MESSAGE(upop_send(s, "") == 0, s.error());
        REQUIRE(upop_disconnect(s, UPOP_SMTP) == UPOP_OK);
    }
    std::string stored_path = wait_for_delivery(token);
    REQUIRE(!stored_path.empty());
    std::string stored = read_file(stored_path);

    Handle h;
    logon_pop(h);
    int id = find_message(h, token);
    REQUIRE(id > 0);
    CHECK(raw_message(h, id) == as_crlf(stored)); // GetRawMail: the stored message as POP3 carries it

    std::string dir = new_dir("roundtrip");
    Mail m = get_mail(h, id, dir, 1000);
    REQUIRE_MESSAGE(m.rc == 0, h.error());
    CHECK(item(m.headers, "SUBJECT") == subject);
    CHECK(item(m.headers, "ID") == std::to_string(id));
    CHECK(m.text == plain);
    std::set<std::string> names;
    for (auto &n : split_gold(m.atts)) names.insert(n);
    CHECK(names.size() == 5); // the HTML body, two inline images, two attachments
    CHECK(names.count("logo.png") == 1);
    CHECK(names.count("chart.gif") == 1);
    CHECK(names.count("report.pdf") == 1);
    CHECK(names.count("Notizen für Zoë.txt") == 1);
    if (names.count("logo.png")) CHECK(bytes_of(dir + "/logo.png") == bin1);
    if (names.count("chart.gif")) CHECK(bytes_of(dir + "/chart.gif") == bin1.substr(0, 1234));
    if (names.count("report.pdf")) CHECK(bytes_of(dir + "/report.pdf") == bin2);
    if (names.count("Notizen für Zoë.txt")) CHECK(bytes_of(dir + "/Notizen für Zoë.txt") == "Grüße\r\nzweite Zeile\r\n");
    for (auto &n : names) // the fifth file is the HTML body
        if (n != "logo.png" && n != "chart.gif" && n != "report.pdf" && n != "Notizen für Zoë.txt")
            CHECK_MESSAGE(bytes_of(dir + "/" + n) == html, n);
    REQUIRE(upop_delete_mail(h, id) == UPOP_OK);
    CHECK(upop_disconnect(h, UPOP_POP) == UPOP_OK);
}

TEST_CASE("ListMail: a mailbox of 500 messages through a 4 KB buffer (the -16 continuation)") {
    std::string token = unique_token("bulk");
    for (int i = 1; i <= 500; ++i)
        inject(headers_for(token + "-" + std::to_string(i), "bulk " + token + " #" + std::to_string(i) + " é") +
               "Content-Type: text/plain; charset=utf-8\n\nmessage " + std::to_string(i) + "\n");
    Handle h;
    logon_pop(h);
    char buf[4096];
    int rc = upop_list_mail(h, buf, sizeof buf);
    std::string list = buf;
    int parts = 1;
    while (rc == UPOP_E_MORE) {
        CHECK(std::string(buf).size() <= sizeof buf - 1);
        rc = upop_list_mail_x(h, buf, sizeof buf);
        list += buf;
        ++parts;
    }
    REQUIRE_MESSAGE(rc >= 500, h.error());
    CHECK(parts > 10);
    // every message once, with its subject decoded, and NMB counting 1..rc
    std::vector<int> seen(501, 0);
    std::vector<int> ids;
    int nmb = 0;
    std::string last_id;
    for (auto &i : split_gold(list)) {
        if (i.compare(0, 4, "NMB=") == 0) CHECK(std::atoi(i.c_str() + 4) == ++nmb);
        if (i.compare(0, 3, "ID=") == 0) last_id = i.substr(3);
        std::string prefix = "SUBJECT=bulk " + token + " #";
        if (i.compare(0, prefix.size(), prefix) == 0) {
            int n = std::atoi(i.c_str() + prefix.size());
            REQUIRE(n >= 1);
            REQUIRE(n <= 500);
            ++seen[n];
            CHECK(i.substr(i.size() - 3) == " é");
            ids.push_back(std::atoi(last_id.c_str()));
        }
    }
    CHECK(nmb == rc);
    int once = 0;
    for (int n = 1; n <= 500; ++n) once += seen[n] == 1;
    CHECK(once == 500);
    for (int id : ids) REQUIRE(upop_delete_mail(h, id) == UPOP_OK);
    CHECK(upop_disconnect(h, UPOP_POP) == UPOP_OK);
}
