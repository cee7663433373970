#!/usr/bin/env python3
"""bench/drive.py -- the measuring part of bench/run (which compiles the programs, makes the
test CA and starts the servers, then calls this). Not meant to be called by hand.

  drive.py WORK [--quick] [--reps N] [--dovecot]

WORK holds the compiled programs (sink, limit, cipher_speed, client_upop, client_curl) and
certs/ (server.crt, server.key, ca.crt). Starts the sink, runs every workload with every
client in turn (upopmail, libcurl, python, limit; repeated, alternating), checks what the sink
or the mailbox received, and prints the medians and ratios. With --dovecot (the MAILTEST_*
and PORT_* variables of tests/servers/start.sh in the environment) the Dovecot workloads
follow. Exits 1 when a client failed or a message was lost, else 0: timings never fail it."""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

from client_py import fill_lines

HERE = os.path.dirname(os.path.abspath(__file__))
KIB, MIB = 1024, 1024 * 1024
SINK_USER, SINK_PASS = "bench", "benchpass"  # sink.c's SMTP account; POP3 user "box-N-S"
FROM, TO = "bench@bench.invalid", "sink@bench.invalid"
DOVECOT_BOX = "bench"  # the Dovecot account added for the POP3 workload


class Workload:
    def __init__(self, key, title, kind, target, port, count, size, file_size=0, reps=None):
        self.key, self.title, self.kind, self.target, self.port = key, title, kind, target, port
        self.count, self.size, self.file_size, self.reps = count, size, file_size, reps
        self.runs = {}  # client -> list of run dicts
        self.load = ""  # the 1-minute load average when it started and ended


def workloads(quick, dovecot):
    """The workloads; sizes per the issue (11), or tiny ones with --quick."""
    q = quick
    w = [
        Workload("W1a", "send %d x 4 KiB, sink offers CHUNKING" % (20 if q else 2000),
                 "send", "sink", "smtp_chunking", 20 if q else 2000, 4 * KIB),
        Workload("W1b", "send %d x 4 KiB, sink offers DATA only" % (20 if q else 2000),
                 "send", "sink", "smtp_data", 20 if q else 2000, 4 * KIB),
        Workload("W2", "send %d x 64 KiB" % (5 if q else 500),
                 "send", "sink", "smtp_chunking", 5 if q else 500, 64 * KIB),
        Workload("W3", "send one %d MiB attachment" % (1 if q else 100),
                 "send", "sink", "smtp_chunking", 1, 1 * KIB, file_size=(1 if q else 100) * MIB, reps=3),
        Workload("W4a", "POP3 retrieve %d x 4 KiB" % (20 if q else 2000),
                 "pop", "sink", "pop3", 20 if q else 2000, 4 * KIB),
        Workload("W4b", "POP3 retrieve %d x 256 KiB" % (3 if q else 200),
                 "pop", "sink", "pop3", 3 if q else 200, 256 * KIB),
        Workload("W5", "connect + STARTTLS + AUTH PLAIN + QUIT, %d times" % (3 if q else 200),
                 "login", "sink", "smtp_data", 3 if q else 200, 0),
    ]
    if dovecot:
        w += [
            Workload("D1", "Dovecot submission: send %d x 4 KiB" % (5 if q else 200),
                     "send", "dovecot", "PORT_SUBMISSION", 5 if q else 200, 4 * KIB),
            Workload("D2", "Dovecot POP3: retrieve %d x 4 KiB" % (20 if q else 2000),
                     "pop", "dovecot", "PORT_POP3", 20 if q else 2000, 4 * KIB),
            Workload("D3", "Dovecot submission: connect + STARTTLS + AUTH PLAIN + QUIT, %d times"
                     % (3 if q else 100), "login", "dovecot", "PORT_SUBMISSION", 3 if q else 100, 0),
        ]
    return w


def clients(work):
    return {
        "upopmail": [os.path.join(work, "client_upop")],
        "libcurl": [os.path.join(work, "client_curl")],
        # W3 only: the attachment composed by libcurl's curl_mime instead of as libcurl reads it
        "libcurl-mime": [os.path.join(work, "client_curl"), "--mime"],
        "python": [sys.executable, os.path.join(HERE, "client_py.py")],
        "limit": [os.path.join(work, "limit")],
    }


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().strip()


def busiest(seconds=1.0, top=5):
    """The processes that used the most CPU over the next seconds: "name pid NN%" each."""
    def ticks():
        out = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/stat" % pid) as f:
                    stat = f.read()
            except OSError:
                continue
            name, fields = stat[stat.find("(") + 1:stat.rfind(")")], stat[stat.rfind(")") + 2:].split()
            out[pid] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
        return out
    a = ticks()
    time.sleep(seconds)
    b = ticks()
    hz = os.sysconf("SC_CLK_TCK")
    me = str(os.getpid())
    use = sorted(((t - a[p][1], n, p) for p, (n, t) in b.items() if p in a and t > a[p][1] and p != me),
                 reverse=True)
    return ", ".join("%s %s %d%%" % (n, p, 100 * d / hz / seconds) for d, n, p in use[:top]) or "none"


class Sink:
    """sink.c in the background; its per-session lines read as they come."""

    def __init__(self, work):
        self.stats = os.path.join(work, "sink.stats")
        ports = os.path.join(work, "sink.ports")
        open(self.stats, "w").close()
        self.log = open(os.path.join(work, "sink.err"), "w")
        self.proc = subprocess.Popen([os.path.join(work, "sink"), os.path.join(work, "certs/server.crt"),
                                      os.path.join(work, "certs/server.key"), self.stats, ports],
                                     stdout=self.log, stderr=self.log)
        for _ in range(100):
            if os.path.exists(ports):
                break
            if self.proc.poll() is not None:
                sys.exit("bench: the sink did not start (see %s)" % self.log.name)
            time.sleep(0.05)
        with open(ports) as f:
            self.ports = {k: v for k, v in (line.strip().split("=") for line in f if "=" in line)}
        self.offset = 0

    def sessions(self):
        """The session lines written since the last call, as dicts."""
        with open(self.stats) as f:
            f.seek(self.offset)
            text = f.read()
        text = text[:text.rfind("\n") + 1]
        self.offset += len(text.encode())
        out = []
        for line in text.splitlines():
            proto, *items = line.split()
            d = dict(item.split("=", 1) for item in items)
            d["proto"] = proto
            out.append(d)
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


class Dovecot:
    """The servers of tests/servers/start.sh, from the MAILTEST_* and PORT_* environment."""

    def __init__(self, count, size):
        e = os.environ
        self.dir, self.user, self.password = e["MAILTEST_DIR"], e["MAILTEST_USER"], e["MAILTEST_PASS"]
        self.addr, self.ca, self.maildir = e["MAILTEST_ADDR"], e["MAILTEST_CA"], e["MAILTEST_MAILDIR"]
        self.note = ""
        self.box_ok = self.make_box(count, size)

    def make_box(self, count, size):
        """A Dovecot account of its own for the POP3 workload, with count messages of exactly
        size bytes (with CRLF line ends, as POP3 sends them). Needs root (the state is root's)."""
        passwd = os.path.join(self.dir, "etc/passwd")
        try:
            with open(passwd) as f:
                lines = f.read().splitlines()
            uid, gid = (int(x) for x in next(l for l in lines if l.startswith(self.user + ":")).split(":")[2:4])
            home = os.path.join(self.dir, "mail", DOVECOT_BOX)
            shutil.rmtree(home, ignore_errors=True)
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(home, "Maildir", sub))
            for n in range(1, count + 1):
                head = ("From: Bench <bench@bench.invalid>\r\nTo: <bench@example.test>\r\n"
                        "Subject: bench message %07d\r\nMessage-ID: <%07d@bench.invalid>\r\n"
                        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" % (n, n))
                # Maildir stores LF line ends (S= the file's size); POP3 sends CRLF (W=, size)
                text = (head + fill_lines(size - len(head))).replace("\r\n", "\n")
                name = "1700000000.M%dP0.bench,S=%d,W=%d:2,S" % (n, len(text), size)
                with open(os.path.join(home, "Maildir/cur", name), "w", newline="") as f:
                    f.write(text)
            for root, dirs, files in os.walk(os.path.join(self.dir, "mail", DOVECOT_BOX)):
                for x in [root] + [os.path.join(root, y) for y in files]:
                    os.chown(x, uid, gid)
            if not any(l.startswith(DOVECOT_BOX + ":") for l in lines):
                with open(passwd, "a") as f:
                    f.write("%s:{PLAIN}%s:%d:%d::%s::\n" % (DOVECOT_BOX, SINK_PASS, uid, gid, home))
            return True
        except (OSError, StopIteration, ValueError) as e:
            self.note = "the Dovecot POP3 mailbox could not be made (%s): D2 skipped" % e
            return False

    def delivered(self):
        try:
            return sum(len(os.listdir(os.path.join(self.maildir, d))) for d in ("new", "cur"))
        except OSError:
            return None


def run_client(cmd, args):
    """Runs one client under /usr/bin/time; (result dict or None, (peak RSS KiB, CPU seconds of
    the whole process), error text)."""
    time_file = "/tmp/upop-bench-time.%d" % os.getpid()
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", time_file] + cmd + args,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with open(time_file) as f:
            rss, user, system = f.read().splitlines()[-1].split()
        os.unlink(time_file)
        usage = (int(rss), float(user) + float(system))
    except (OSError, ValueError, IndexError):
        usage = (0, 0.0)
    result = None
    for line in p.stdout.splitlines():
        if line.startswith("result "):
            result = {k: float(v) for k, v in (x.split("=") for x in line.split()[1:])}
    if p.returncode != 0 or result is None:
        last = (p.stderr.strip() or p.stdout.strip() or "no output").splitlines()[-1]
        return None, usage, "exit %d: %s" % (p.returncode, last[-300:])
    return result, usage, ""


def check_sink(w, sessions, result, run):
    """Checks one client run against the sessions the sink saw, and records in run the TLS
    suite and group, the bytes on the wire in the bulk direction, the message bytes and how the
    messages came (DATA or BDAT). Returns the problem, or ""."""
    if not sessions:
        return "the sink saw no session"
    bad = [s for s in sessions if s["auth"] != "1" or s["quit"] != "1"]
    if bad:
        return "%d session(s) without AUTH or QUIT" % len(bad)
    run["suite"], run["curve"] = sessions[0]["suite"], sessions[0]["curve"]
    if w.kind == "login":
        return "" if len(sessions) == w.count else "%d sessions for %d logins" % (len(sessions), w.count)
    if w.kind == "send":
        msgs = sum(int(s["msgs"]) for s in sessions)
        least = w.size + w.file_size * 4 // 3
        if msgs != w.count:
            return "the sink received %d of %d messages" % (msgs, w.count)
        small = [s for s in sessions if int(s["msgs"]) and int(s["min"]) < least]
        if small:
            return "a message of %s bytes, less than its %d bytes of content" % (small[0]["min"], least)
        run["wire"] = sum(int(s["wire_in"]) for s in sessions)
        run["payload"] = sum(int(s["bytes"]) for s in sessions)
        bdat = sum(int(s["bdat"]) for s in sessions)
        run["via"] = "BDAT" if bdat == msgs else "DATA" if bdat == 0 else "BDAT+DATA"
        return ""
    retr = sum(int(s["retr"]) for s in sessions)
    if retr != w.count:
        return "the sink served %d RETR for %d messages" % (retr, w.count)
    if int(result["bytes"]) != w.count * w.size:
        return "the client received %d bytes of %d" % (result["bytes"], w.count * w.size)
    run["wire"] = sum(int(s["wire_out"]) for s in sessions)
    return ""


def client_args(w, sink, dovecot, work, box_file):
    if w.target == "sink":
        host, port, ca = "localhost", sink.ports[w.port], os.path.join(work, "certs/ca.crt")
        user = "box-%d-%d" % (w.count, w.size) if w.kind == "pop" else SINK_USER
        password, sender, rcpt = SINK_PASS, FROM, TO
    else:
        host, port, ca = "localhost", os.environ[w.port], dovecot.ca
        user, password = (DOVECOT_BOX, SINK_PASS) if w.kind == "pop" else (dovecot.user, dovecot.password)
        sender, rcpt = dovecot.addr, dovecot.addr
    if w.kind == "send":
        return [w.kind, host, port, user, password, ca, sender, rcpt, str(w.count), str(w.size)] + \
            ([box_file] if w.file_size else [])
    return [w.kind, host, port, user, password, ca, str(w.count)]


def measure(w, names, cmds, reps, sink, dovecot, work, failures):
    load = loadavg().split()[0]
    box_file = ""
    if w.file_size:
        box_file = os.path.join(work, "attachment.bin")
        with open(box_file, "wb") as f:
            left = w.file_size
            while left:
                f.write(os.urandom(min(left, MIB)))
                left -= min(left, MIB)
    if w.target == "dovecot" and w.kind == "pop":  # Dovecot indexes the new mailbox: not timed
        subprocess.run(cmds["python"] + client_args(w, sink, dovecot, work, "")[:-1] + ["1"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for rep in range(reps):
        for name in names:
            if w.target == "sink":
                sink.sessions()  # forget what came before
            before = dovecot.delivered() if w.target == "dovecot" and w.kind == "send" else None
            result, (rss, cpu), err = run_client(cmds[name], client_args(w, sink, dovecot, work, box_file))
            run = {"rss": rss, "cpu": cpu, "wire": 0, "suite": "", "curve": "", "payload": 0, "via": "",
                   "error": err}
            if result:
                run["seconds"] = result["seconds"]
                run["payload"] = int(result["bytes"])
                if w.target == "sink":
                    run["error"] = check_sink(w, sink.sessions(), result, run)
                elif before is not None:
                    run["error"] = wait_delivery(dovecot, before + w.count)
                elif w.kind == "pop" and run["payload"] != w.count * w.size:
                    run["error"] = "the client received %d bytes of %d" % (run["payload"], w.count * w.size)
            if run["error"]:
                failures.append("%s %s (run %d): %s" % (w.key, name, rep + 1, run["error"]))
                print("  %s %s run %d FAILED: %s" % (w.key, name, rep + 1, run["error"]), flush=True)
            w.runs.setdefault(name, []).append(run)
    if box_file:
        os.unlink(box_file)
    w.load = "%s -> %s" % (load, loadavg().split()[0])


def wait_delivery(dovecot, expected):
    """Waits until the test mailbox holds expected messages (Postfix delivers after the
    submission's reply); the wait is not timed, and no queue is left to load the next run."""
    deadline = time.monotonic() + 120
    n = dovecot.delivered()
    while n is not None and n < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        n = dovecot.delivered()
    if n is None:
        return ""  # the mailbox is not readable here: the clients' 250 replies are all we know
    return "" if n >= expected else "%d of the messages did not arrive in the mailbox in 120 s" % (expected - n)


def median(xs):
    return statistics.median(xs) if xs else None


def fmt_bytes_kib(kib):
    return "%.1f MiB" % (kib / 1024.0)


def report(ws, speeds):
    for w in ws:
        if not w.runs:
            continue
        print()
        print("%s  %s   (load average %s)" % (w.key, w.title, w.load))
        per = w.kind == "login"
        print("    %-12s %9s %9s %9s %9s %10s %12s%s" % ("client", "median s", "min s", "CPU s",
                                                         "ms/login" if per else "MB/s", "peak RSS", "vs upopmail",
                                                         "  sent by" if w.kind == "send" and w.target == "sink" else ""))
        base = median([r["seconds"] for r in w.runs.get("upopmail", []) if not r["error"]])
        for name in w.runs:
            runs = [r for r in w.runs[name] if not r["error"]]
            if not runs:
                print("    %-12s FAILED (%s)" % (name, w.runs[name][0]["error"][:120]))
                continue
            t = median([r["seconds"] for r in runs])
            rate = t / w.count * 1000 if per else median([r["payload"] for r in runs]) / t / 1e6
            ratio = "%.2f" % (t / base) if base else "-"
            failed = len(w.runs[name]) - len(runs)
            print("    %-12s %9.3f %9.3f %9.3f %9.2f %10s %12s%s%s" % (
                name, t, min(r["seconds"] for r in runs), median([r["cpu"] for r in runs]), rate,
                fmt_bytes_kib(median([r["rss"] for r in runs])), ratio,
                "  " + runs[0]["via"] if runs[0]["via"] else "",
                "   (%d run(s) failed)" % failed if failed else ""))
        up = [r for r in w.runs.get("upopmail", []) if not r["error"] and r["wire"]]
        if up and w.kind != "login":
            wire, suite = median([r["wire"] for r in up]), up[0]["suite"]
            cipher, mbps = speeds.get(suite, ("?", 0))
            if mbps:
                floor = wire / (mbps * 1e6)
                print("    cipher floor %.3g s: %.1f MB on the wire / %.1f MB/s (%s, upopmail's suite); "
                      "upopmail %.1fx the floor" % (floor, wire / 1e6, mbps, cipher, base / floor))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--dovecot", action="store_true")
    ap.add_argument("--build", default="")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    reps = a.reps or (1 if a.quick else 5)
    cmds = clients(a.work)
    names = ["upopmail", "libcurl", "python", "limit"]
    ws = workloads(a.quick, a.dovecot)
    if a.only:
        wanted = {k.strip().upper() for k in a.only.split(",")}
        unknown = wanted - {w.key.upper() for w in ws}
        if unknown:
            sys.exit("bench: unknown workload(s) %s (known: %s)" % (", ".join(sorted(unknown)),
                                                                   ", ".join(w.key for w in ws)))
        ws = [w for w in ws if w.key.upper() in wanted]
    start_load = loadavg()
    print("upopmail bench%s: %s, %s, nproc %d" % (" (--quick)" if a.quick else "",
                                                   time.strftime("%Y-%m-%d %H:%M:%S %z"), platform.node(),
                                                   os.cpu_count()))
    print("  load average at start: %s; busiest processes (1 s): %s" % (start_load, busiest()))
    print("  library: %s; repetitions: %d (W3: %d), clients alternating in the order %s"
          % (a.build, reps, min(reps, 3), ", ".join(names)))
    sink = Sink(a.work)
    # the Dovecot servers, with the POP3 workload's mailbox when that workload runs
    box = next((w for w in ws if w.target == "dovecot" and w.kind == "pop"), None)
    dovecot = Dovecot(box.count if box else 0, box.size if box else 0) if any(
        w.target == "dovecot" for w in ws) else None
    if dovecot and dovecot.note:
        print("  " + dovecot.note)
    failures = []
    t0 = time.monotonic()
    try:
        for w in ws:
            if w.target == "dovecot" and w.kind == "pop" and not dovecot.box_ok:
                continue
            these = names if w.target == "sink" else names[:3]  # limit pipelines past what Dovecot 2.3.19 survives
            if w.file_size:
                these = these[:2] + ["libcurl-mime"] + these[2:]
            print("  running %s (%s) ..." % (w.key, w.title), flush=True)
            measure(w, these, cmds, min(reps, w.reps or reps), sink, dovecot, a.work, failures)
    finally:
        sink.stop()
    elapsed = time.monotonic() - t0
    # the record encryption speed of every suite the sink negotiated
    suites = sorted({r["suite"] for w in ws for rs in w.runs.values() for r in rs if r["suite"]})
    speeds = {}
    for s in suites:
        out = subprocess.run([os.path.join(a.work, "cipher_speed"), s, "0.2" if a.quick else "1"],
                             stdout=subprocess.PIPE, text=True).stdout.split()
        if out:
            kv = dict(x.split("=") for x in out)
            speeds[s] = (kv["cipher"], float(kv["mbps"]))
    print()
    print("TLS that the sink negotiated (mbedTLS 2.28 server, TLS 1.2, the client's order of suites and groups):")
    for name in cmds:
        seen = sorted({(r["suite"], r["curve"]) for w in ws for r in w.runs.get(name, []) if r["suite"]})
        print("    %-12s %s" % (name, "; ".join("%s, %s" % x for x in seen) or "-"))
    print("mbedTLS record encryption, 16 KiB records (bench/cipher_speed, measured now, the best of 10 samples):")
    for s in suites:
        if s in speeds:
            print("    %-44s %s %.1f MB/s" % (s, speeds[s][0], speeds[s][1]))
    report(ws, speeds)
    print()
    print("median s: the workload's time as the client measured it (session start to QUIT answered);")
    print("CPU s: user + system time of the whole client process (interpreter start-up included);")
    print("vs upopmail: the client's median time / upopmail's (> 1: slower than upopmail); MB/s: the")
    print("message bytes (as the sink counted them, or as the POP3 client received them) / median time.")
    print("load average (1 min) per workload: at its start -> at its end; the bench's own client and")
    print("sink count for up to 2 of it while a workload runs, on %d cores." % os.cpu_count())
    print("  load average at end: %s; busiest processes (1 s): %s" % (loadavg(), busiest()))
    print("  the workloads took %.0f s" % elapsed)
    if failures:
        print()
        print("%d failure(s):" % len(failures))
        for f in failures:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
