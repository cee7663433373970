// The sending additions of 0.2 through the real servers: a 50 MB .eml sent with
// upop_send_raw_file arrives byte-identical with a peak RSS under 32 MiB; the envelope sender
// (also <>) arrives as Return-Path; two Sends of one composition carry two Message-IDs; an
// In-Reply-To added with upop_add_header arrives and Subject is refused by it; DSN parameters go
// to Postfix (which offers DSN) and its success report comes back with the ENVID; against a
// server without DSN the send succeeds and says that none was requested.
#include "mailtest.hpp"
#include "relay.hpp"

#include <cstring>

using namespace mailtest;

namespace {

void remove_all(const std::vector<fs::path> &paths) {
    for (auto &p : paths) {
        std::error_code ec;
        fs::remove(p, ec);
    }
}

// A header field of a delivered message (LF line ends), unfolded; "" when absent.
std::string field(const std::string &raw, const std::string &name) {
    size_t at = raw.rfind(name + ": ", 0) == 0 ? 0 : raw.find("\n" + name + ": ");
    if (at == std::string::npos) return "";
    if (at) ++at;
    at += name.size() + 2;
    std::string v;
    for (;;) {
        size_t end = raw.find('\n', at);
        v += raw.substr(at, end - at);
        if (end == std::string::npos || end + 1 >= raw.size() || (raw[end + 1] != ' ' && raw[end + 1] != '\t')) break;
        at = end + 1;
    }
    return v;
}


constexpr uint64_t kRawBytes = 50ull * 1000 * 1000;

} // namespace

// The child of the next test: this executable again with UPOP_SENDRAW_CHILD=<file> and
// UPOP_SENDRAW_OUT=<file>, for this test case only. It sends the file with upop_send_raw_file
// and writes "status peak_rss_kib rss_before_kib" into the out file. Without them it does nothing.
TEST_CASE("upop_send_raw_file child: one large message and the peak RSS of this process") {
    const char *file = std::getenv("UPOP_SENDRAW_CHILD");
    const char *out = std::getenv("UPOP_SENDRAW_OUT");
    if (!file || !out) return;
    Handle h;
    REQUIRE(upop_set_trace(h, nullptr, nullptr) == UPOP_OK);
    REQUIRE(upop_set_option(h, "timeout_ms", "120000") == UPOP_OK);
    smtp_logon(h, submission());
    const long before = status_kib("VmRSS:");
    int rc = upop_send_raw_file(h, file, "", "");
    CHECK_MESSAGE(rc == 0, upop_last_error(h));
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    std::ofstream(out) << rc << " " << status_kib("VmHWM:") << " " << before << "\n";
}

TEST_CASE("SendRawFile: a 50 MB .eml arrives byte-identical after the trace fields, peak RSS under 32 MiB") {
    const std::string token = unique_token("raw50m");
    const fs::path eml = fs::path(temp_dir()) / "big.eml";
    {
        std::ofstream f(eml, std::ios::binary);
        f << "From: Raw Sender <" << env().addr << ">\n"
          << "To: " << env().addr << "\n"
          << "Bcc: " << env().addr << "\n"
          << "Subject: raw 50 MB " << token << "\n"
          << "Date: Mon, 07 Dec 2026 12:00:00 +0000\n"
          << "Message-ID: <" << token << "@example.test>\n\n";
        std::string block;
        char line[80];
        for (uint64_t k = 0; static_cast<uint64_t>(f.tellp()) + block.size() < kRawBytes; ++k) {
            std::snprintf(line, sizeof line, "%010llu %.66s\n", static_cast<unsigned long long>(k),
                          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!");
            block += line;
            if (block.size() > (1u << 20)) f << block, block.clear();
        }
        f << block;
        REQUIRE(f.good());
    }
    std::string want = read_file(eml);
    REQUIRE(want.size() >= kRawBytes);
    // what arrives: the message without its Bcc field
    {
        auto b = want.find("Bcc: ");
        want.erase(b, want.find('\n', b) + 1 - b);
    }

    const std::string out = temp_dir() + "/sendraw-" + token;
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::setenv("UPOP_SENDRAW_CHILD", eml.c_str(), 1);
        ::setenv("UPOP_SENDRAW_OUT", out.c_str(), 1);
        if (kAsan) {
            std::string opts = getenv_or("ASAN_OPTIONS");
            ::setenv("ASAN_OPTIONS", (opts + (opts.empty() ? "" : ":") + "quarantine_size_mb=0").c_str(), 1);
        }
        ::execl("/proc/self/exe", "upop_integration", "--test-case=upop_send_raw_file child*", "--no-version",
                static_cast<char *>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), "the child failed: status " << status);
    std::ifstream in(out);
    int rc = -100;
    long peak = 0, before = 0;
    in >> rc >> peak >> before;
    REQUIRE(in);
    CHECK(rc == 0);
    if (!kAsan) CHECK_MESSAGE(peak < 32 * 1024, "peak RSS " << peak << " KiB");
    else CHECK_MESSAGE(peak - before < 32 * 1024, "peak RSS " << peak << " KiB, " << before << " KiB before (ASan)");

    auto got = wait_for_deliveries(token, 1, 120);
    REQUIRE(got.size() == 1);
    std::string raw = read_file(got[0]);
    fs::remove(eml);
    REQUIRE(raw.size() > want.size());
    // the server put its trace fields (Return-Path, Delivered-To, Received) in front; the rest is ours
    CHECK(raw.compare(raw.size() - want.size(), want.size(), want) == 0);
    CHECK(raw[raw.size() - want.size() - 1] == '\n');
    CHECK(raw.substr(0, raw.size() - want.size()).find("Received: ") != std::string::npos);
    CHECK(raw.find("Bcc:") == std::string::npos);
    MESSAGE("50 MB .eml (" << want.size() << " bytes delivered after the trace fields): peak RSS " << peak
                          << " KiB (" << before << " KiB logged on, before the send" << std::string(kAsan ? ", ASan" : "") << ")");
    remove_all(got);
}

TEST_CASE("Envelope sender: <> and a different address arrive as Return-Path") {
    for (std::string envelope : {std::string("<>"), "bounces+" + unique_token("ret").substr(0, 20) + "@example.test"}) {
        CAPTURE(envelope);
        std::string token = unique_token("envfrom");
        Handle h;
        smtp_logon(h, submission());
        REQUIRE(upop_set_envelope_from(h, envelope.c_str()) == UPOP_OK);
        REQUIRE_MESSAGE(send_message(h, "envelope " + token, "body " + token) == 0, h.error());
        std::string trace = h.trace_text();
        CHECK(trace.find("> MAIL FROM:<" + std::string(envelope == "<>" ? "" : envelope) + ">") != std::string::npos);
        CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
        auto got = wait_for_deliveries(token, 1, 20);
        REQUIRE(got.size() == 1);
        std::string raw = read_file(got[0]);
        CHECK(field(raw, "Return-Path") == (envelope == "<>" ? "<>" : "<" + envelope + ">"));
        CHECK(field(raw, "From") == "<" + env().addr + ">");
        remove_all(got);
    }
}

TEST_CASE("Message-ID: two Sends of one composition arrive with two different ids; In-Reply-To arrives") {
    std::string token = unique_token("msgid");
    Handle h;
    smtp_logon(h, submission());
    CHECK(upop_add_header(h, "Subject", "no") == UPOP_E_PARAM);
    CHECK(h.error().find("Subject is set with upop_set_subject") != std::string::npos);
    REQUIRE(upop_add_header(h, "In-Reply-To", ("<parent." + token + "@example.test>").c_str()) == UPOP_OK);
    REQUIRE(upop_add_header(h, "References", ("<root@example.test> <parent." + token + "@example.test>").c_str()) ==
            UPOP_OK);
    REQUIRE_MESSAGE(send_message(h, "twice " + token, "the same composition") == 0, h.error());
    REQUIRE_MESSAGE(upop_send(h, "") == 0, h.error());
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    auto got = wait_for_deliveries(token, 2, 20);
    REQUIRE(got.size() == 2);
    std::string a = read_file(got[0]), b = read_file(got[1]);
    std::string id_a = field(a, "Message-ID"), id_b = field(b, "Message-ID");
    CHECK(id_a.size() > 20);
    CHECK(id_a.find("@example.test>") != std::string::npos);
    CHECK(id_a != id_b);
    for (auto *raw : {&a, &b}) {
        CHECK(field(*raw, "In-Reply-To") == "<parent." + token + "@example.test>");
        CHECK(field(*raw, "References") == "<root@example.test> <parent." + token + "@example.test>");
    }
    remove_all(got);
}

TEST_CASE("DSN: Postfix gets NOTIFY=SUCCESS,FAILURE, RET=HDRS and ENVID, and reports the delivery with the ENVID") {
    std::string token = unique_token("dsn");
    std::string envid = "env+" + token.substr(0, 40) + "=x";
    Handle h;
    smtp_logon(h, postfix_submission());
    REQUIRE(upop_set_from(h, env().addr.c_str()) == UPOP_OK);
    REQUIRE(upop_set_to_list(h, env().addr.c_str()) == UPOP_OK);
    REQUIRE(upop_set_subject(h, ("dsn " + token).c_str()) == UPOP_OK);
    REQUIRE(upop_set_message(h, "with a delivery status notification", "") == UPOP_OK);
    const std::string opts = "Notify=SUCCESS,FAILURE" UPOP_SEP_STR "Ret=HDRS" UPOP_SEP_STR "EnvId=" + envid;
    int rc = upop_send(h, opts.c_str());
    REQUIRE_MESSAGE(rc == 0, h.error());
    CHECK(h.error() == ""); // DSN was requested
    std::string trace = h.trace_text();
    INFO(trace);
    CHECK(trace.find(" RET=HDRS ENVID=env+2B" + token.substr(0, 40) + "+3Dx\n") != std::string::npos);
    CHECK(trace.find("> RCPT TO:<" + env().addr + "> NOTIFY=SUCCESS,FAILURE\n") != std::string::npos);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    // the message, and Postfix's success report (RET=HDRS: our header, with the token, inside)
    auto got = wait_for_deliveries(token, 2, 30);
    REQUIRE(got.size() == 2);
    bool report = false;
    for (auto &p : got) {
        std::string raw = read_file(p);
        if (raw.find("Original-Envelope-Id: " + envid) != std::string::npos) report = true;
    }
    CHECK_MESSAGE(report, "no delivery report with Original-Envelope-Id: " << envid);
    remove_all(got);
}

TEST_CASE("DSN against a server without DSN: the message is sent and the sentence says DSN was not requested") {
    // Dovecot's submission service behind a relay that renames the DSN keyword of its EHLO reply
    int hidden = 0;
    Relay relay(env().port_submission, nullptr, [&hidden](std::string &got) {
        for (size_t at; (at = got.find("250-DSN\r\n")) != std::string::npos || (at = got.find("250 DSN\r\n")) != std::string::npos;
             ++hidden)
            got.replace(at + 4, 3, "XNO");
        return true;
    });
    std::string token = unique_token("nodsn");
    Handle h;
    REQUIRE(upop_set_security(h, "SMTP=AUTH PLAIN", credentials(env().pass, "\"allow_plaintext\": \"true\"").c_str()) ==
            UPOP_OK);
    REQUIRE_MESSAGE(upop_connect(h, UPOP_SMTP, relay.conn().c_str(), "", "") == UPOP_OK, h.error());
    const std::string raw = "From: " + env().addr + "\r\nTo: " + env().addr + "\r\nSubject: no dsn " + token +
                            "\r\n\r\nsent without DSN\r\n";
    int rc = upop_send_raw(h, raw.data(), raw.size(), "", "Notify=SUCCESS" UPOP_SEP_STR "Ret=FULL");
    CHECK(rc == 0);
    CHECK(h.error().find("DSN not requested") != std::string::npos);
    std::string trace = h.trace_text();
    CHECK(trace.find("NOTIFY=") == std::string::npos);
    CHECK(trace.find("RET=") == std::string::npos);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    auto got = wait_for_deliveries(token, 1, 20);
    REQUIRE(got.size() == 1);
    CHECK(read_file(got[0]).find("sent without DSN") != std::string::npos);
    remove_all(got);
    MESSAGE("DSN keyword hidden " << hidden << " time(s) (0: Dovecot's submission does not offer DSN)");
}
