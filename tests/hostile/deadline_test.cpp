// deadline_test.cpp — timeout_ms bounds whole replies, and bulk transfers follow the low-speed
// rule: a server that drips one byte every 0.4 s cannot hold a call for longer than the rule
// allows (issue 10). The servers pace their bytes with sleeps: that is the misbehaviour under
// test, not synchronisation.
#include "hostile/support.hpp"

#include <future>
#include <string>
#include <thread>

using namespace hostile;

namespace {

using Clock = std::chrono::steady_clock;

/** Sends bytes one at a time, one every `every`, until all are sent or the client is gone. */
void drip(FakeConn& c, const std::string& bytes, std::chrono::milliseconds every = 400ms) {
    for (char ch : bytes) {
        if (!c.send(std::string(1, ch))) return;
        std::this_thread::sleep_for(every);
    }
}

/** 60 bytes that take 24 s to drip: far longer than any rule allows. */
const std::string kSlowLine = "250 " + std::string(54, 'x') + "\r\n";

struct Outcome {
    std::string name;
    int rc = 0;
    std::string err;
    Clock::duration took{};
    std::string server;
};

/** Runs call(h) against a server running script, with timeout_ms; the server and the call run
 *  on their own thread so that several cases run at once (no doctest macro off the main thread). */
Outcome run_case(std::string name, FakeServer::Script script, int timeout_ms,
                 std::function<int(Handle&, FakeServer&)> call) {
    Outcome o;
    o.name = std::move(name);
    FakeServer srv(std::move(script), 30s);
    {
        Handle h(timeout_ms);
        auto start = Clock::now();
        o.rc = call(h, srv);
        o.took = Clock::now() - start;
        o.err = h.err();
    }
    srv.join();
    o.server = srv.failure_text();
    return o;
}

int send_one(Handle& h) {
    if (upop_set_from(h, "a@example.org") || upop_set_to_list(h, "b@example.org") ||
        upop_set_message(h, "hello", "")) return 1000;
    return upop_send(h, "");
}

} // namespace

TEST_SUITE("hostile: deadlines") {

TEST_CASE("timeout_ms=3000: a drip of one byte per 0.4 s ends with -4 within 6 s (greeting, reply, RETR body, "
          "end-of-data reply)") {
    const int t = 3000;
    std::vector<std::future<Outcome>> runs;
    runs.push_back(std::async(std::launch::async, [&] {
        return run_case("greeting", [](FakeConn& c) { drip(c, "220 " + kSlowLine); }, t,
                        [](Handle& h, FakeServer& s) { return h.connect(s); });
    }));
    runs.push_back(std::async(std::launch::async, [&] {
        return run_case("EHLO reply", [](FakeConn& c) {
            c.send("220 fake.example ESMTP\r\n");
            c.expect("EHLO");
            c.send("250-fake.example\r\n");
            drip(c, kSlowLine);
        }, t, [](Handle& h, FakeServer& s) { return h.connect(s); });
    }));
    runs.push_back(std::async(std::launch::async, [&] {
        return run_case("RETR body", [](FakeConn& c) {
            pop_logon(c);
            c.expect("LIST 1");
            c.send("+OK 1 5000\r\n");
            c.expect("RETR 1");
            c.send("+OK message follows\r\nSubject: slow\r\n\r\n");
            drip(c, std::string(60, 'y'));
        }, t, [](Handle& h, FakeServer& s) {
            int rc = h.connect_pop(s);
            if (rc != 0) return 1000 + rc;
            char buf[8192];
            return upop_get_raw_mail(h, 1, 0, buf, sizeof buf);
        });
    }));
    runs.push_back(std::async(std::launch::async, [&] {
        return run_case("end-of-data reply", [](FakeConn& c) {
            greet(c, {});
            accept_envelope(c);
            c.read_data();
            drip(c, kSlowLine);
        }, t, [](Handle& h, FakeServer& s) {
            int rc = h.connect(s);
            return rc != 0 ? 1000 + rc : send_one(h);
        });
    }));
    for (auto& f : runs) {
        Outcome o = f.get();
        CAPTURE(o.name);
        INFO("last_error: " << o.err << " | server: " << o.server);
        CHECK(o.rc == UPOP_E_TIMEOUT);
        CHECK(o.took < std::chrono::milliseconds(2 * t));
        CHECK(is_sentence(o.err));
        if (o.name == "end-of-data reply") CHECK(contains(o.err, "MAY HAVE BEEN DELIVERED"));
        if (o.name == "RETR body") CHECK(contains(o.err, "low-speed"));
    }
}

TEST_CASE("low-speed rule: a RETR body that keeps moving more than low_speed_bytes per window arrives even when it "
          "takes several times timeout_ms") {
    // 8 pieces of 2 KiB, one every 0.25 s: 2 s in all with timeout_ms=500, 4 KiB per window.
    std::string body;
    for (int i = 0; i < 8 * 32; ++i) body += std::string(62, static_cast<char>('a' + i % 26)) + "\r\n";
    Outcome o = run_case("steady", [&](FakeConn& c) {
        pop_logon(c);
        c.expect("LIST 1");
        c.send("+OK 1 " + std::to_string(body.size()) + "\r\n");
        c.expect("RETR 1");
        c.send("+OK\r\n");
        for (size_t at = 0; at < body.size(); at += 2048) {
            if (!c.send(body.substr(at, 2048))) return;
            std::this_thread::sleep_for(250ms);
        }
        c.send(".\r\n");
        c.expect("QUIT");
        c.send("+OK bye\r\n");
    }, 500, [&](Handle& h, FakeServer& s) {
        int rc = h.connect_pop(s);
        if (rc != 0) return 1000 + rc;
        std::vector<char> buf(body.size() + 1);
        rc = upop_get_raw_mail(h, 1, 0, buf.data(), buf.size());
        if (rc == 0 && std::string(buf.data()) != body) return 2000;
        return rc != 0 ? rc : upop_disconnect(h, UPOP_POP);
    });
    INFO("last_error: " << o.err << " | server: " << o.server);
    CHECK(o.rc == 0);
    CHECK(o.took > 1s); // it really outlasted timeout_ms
    CHECK(o.server == "");
}

TEST_CASE("low_speed_bytes is an option: bad values are refused with -2") {
    Handle h;
    CHECK(upop_set_option(h, "low_speed_bytes", "4096") == 0);
    for (const char* bad : {"0", "-1", "", "12k", "99999999999999999999", "1073741825"}) {
        CAPTURE(bad);
        CHECK(upop_set_option(h, "low_speed_bytes", bad) == UPOP_E_PARAM);
        CHECK(is_sentence(h.err()));
    }
}

}
