"""The `upopmail` program as its users meet it: options, exit statuses, credentials, the progress
meter, the listing.

Run by ctest (label servers) with UPOPMAIL_CLI set to the built program and the real servers'
environment (MAILTEST_*, PORT_*) exported by scripts/check. Every exit status that
`upopmail --help` documents is provoked by one test below (EXIT_TESTS), and the table is
checked against --help and the man page. The misbehaving servers (silent, garbled) are small
sockets in this file; everything else, the 100 MB send of the meter test included, goes to
Dovecot and Postfix.
"""
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import unittest
import uuid

CLI = os.environ.get("UPOPMAIL_CLI", "")
ENV = os.environ
HERE = os.path.dirname(os.path.abspath(__file__))
MAN = os.path.join(HERE, "..", "..", "docs", "man", "upopmail.1")


def token(what="cli"):
    return "%s-%s" % (what, uuid.uuid4().hex[:12])


class Run:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return "exit %d\nstdout: %s\nstderr: %s" % (self.rc, self.out[-2000:], self.err[-2000:])


class CliCase(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.TemporaryDirectory(prefix="upop-cli-home.")
        self.addCleanup(self.home.cleanup)

    def env(self, **extra):
        """The environment of a run: no UPOPMAIL_* of the caller, a HOME of its own (no ~/.netrc,
        no profile) unless the test writes one."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("UPOPMAIL_") and k != "NETRC"}
        e["HOME"] = self.home.name
        e.pop("XDG_CONFIG_HOME", None)
        e.update(extra)
        return e

    def run_cli(self, args, password=None, stdin=subprocess.DEVNULL, timeout=120, **extra):
        env = self.env(**extra)
        if password is not None:
            env["UPOPMAIL_PASSWORD"] = password
        # a session of its own: no controlling terminal, so nothing can be asked
        p = subprocess.run([CLI] + args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=timeout, start_new_session=True)
        return Run(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))

    def assertExit(self, r, code):
        self.assertEqual(r.rc, code, r)

    # the real servers
    def submission(self):
        return ["-s", "localhost:" + ENV["PORT_SUBMISSION"], "--starttls", "--ca", ENV["MAILTEST_CA"],
                "-u", ENV["MAILTEST_USER"]]

    def pop(self):
        return ["-s", "localhost:" + ENV["PORT_POP3"], "--starttls", "--ca", ENV["MAILTEST_CA"],
                "-u", ENV["MAILTEST_USER"]]

    def wait_delivery(self, tok, seconds=20):
        """The maildir file holding tok (delivery is asynchronous: poll with a deadline)."""
        new = os.path.join(ENV["MAILTEST_MAILDIR"], "new")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for name in os.listdir(new) if os.path.isdir(new) else []:
                path = os.path.join(new, name)
                try:
                    with open(path, "rb") as f:
                        if tok.encode() in f.read():
                            return path
                except OSError:
                    pass
            time.sleep(0.1)
        self.fail("%s not delivered within %d s" % (tok, seconds))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Listener:
    """A TCP listener on loopback; accept() waits for the program's connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.conns = []

    def accept(self, timeout=30):
        self.sock.settimeout(timeout)
        c, _ = self.sock.accept()
        self.conns.append(c)
        return c

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


def display_width(s):
    w = 0
    for ch in s:
        if unicodedata.combining(ch):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


# every documented exit status and the test that provokes it
EXIT_TESTS = {
    0: "test_exit_0_netrc_and_profile",
    1: "test_exit_1_local_file",
    2: "test_exit_2_connect",
    3: "test_exit_3_tls",
    4: "test_exit_4_logon",
    5: "test_exit_5_recipients_refused",
    6: "test_exit_6_size",
    7: "test_exit_7_timeout",
    8: "test_exit_8_cancelled",
    9: "test_exit_9_no_such_message",
    10: "test_exit_10_protocol",
    11: "test_exit_11_driver",
    20: "test_exit_20_some_recipients_refused",
    64: "test_exit_64_usage",
}


class ExitStatus(CliCase):
    def test_every_documented_status_is_provoked(self):
        r = self.run_cli(["--help"])
        self.assertExit(r, 0)
        section = r.out[r.out.index("Exit status:"):]
        documented = {int(m) for m in re.findall(r"^ +(\d+)  ", section, re.M)}
        self.assertEqual(documented, set(EXIT_TESTS), "--help documents %s" % sorted(documented))
        with open(MAN, encoding="utf-8") as f:
            man = f.read()
        exit_section = man[man.index(".SH EXIT STATUS"):man.index(".SH", man.index(".SH EXIT STATUS") + 4)]
        in_man = {int(m) for m in re.findall(r"^\.IP (\d+)", exit_section, re.M)}
        self.assertEqual(in_man, set(EXIT_TESTS), "upopmail(1) documents %s" % sorted(in_man))
        for name in EXIT_TESTS.values():
            self.assertTrue(hasattr(self, name), name)

    def test_exit_64_usage(self):
        r = self.run_cli(["send", "--nope"])
        self.assertExit(r, 64)
        self.assertIn("unknown option '--nope'", r.err)
        r = self.run_cli(["send", "--from"])
        self.assertExit(r, 64)
        self.assertIn("option '--from' needs a value", r.err)
        r = self.run_cli(["list", "--subject", "x"])
        self.assertExit(r, 64)
        self.assertIn("does not go with list", r.err)
        r = self.run_cli(["send", "-Z"])
        self.assertExit(r, 64)
        self.assertIn("unknown option '-Z'", r.err)
        r = self.run_cli(["list", "--json=yes"])
        self.assertExit(r, 64)
        self.assertIn("option '--json' takes no value", r.err)
        r = self.run_cli(["list", "--pass"])
        self.assertExit(r, 64)
        self.assertIn("ambiguous option '--pass': --password, --password-file, --password-env?", r.err)

    def test_credentials_never_from_the_command_line(self):
        for args in (["--password=secret"], ["--password", "secret"],
                     ["--security", "SMTP=AUTH PLAIN", "-p", "password=secret"]):
            r = self.run_cli(["send", "-s", "localhost:1", "--to", "a@b.example"] + args)
            self.assertExit(r, 64)
            self.assertNotIn("secret", r.err)
            self.assertIn("command line", r.err)

    def test_exit_1_local_file(self):
        r = self.run_cli(["send", "-s", "127.0.0.1:%d" % free_port(), "--from", "a@b.example", "--to", "c@d.example",
                          "--attach", "/nonexistent/report.pdf"])
        self.assertExit(r, 1)
        self.assertIn("report.pdf", r.err)

    def test_exit_2_connect(self):
        r = self.run_cli(["send", "-s", "127.0.0.1:%d" % free_port(), "--from", "a@b.example", "--to", "c@d.example",
                          "--text", "x"])
        self.assertExit(r, 2)

    def test_exit_3_tls(self):
        # Dovecot with a certificate that the test CA did not sign
        r = self.run_cli(["send", "-s", "localhost:" + ENV["PORT_BAD_SUBMISSION"], "--starttls", "--ca",
                          ENV["MAILTEST_CA"], "-u", ENV["MAILTEST_USER"], "--from", ENV["MAILTEST_ADDR"],
                          "--to", ENV["MAILTEST_ADDR"], "--text", "x"], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 3)
        self.assertIn("ertificate", r.err)

    def test_pop_without_tls_names_the_cli_flags(self):
        r = self.run_cli(["list", "-s", "localhost:" + ENV["PORT_POP3"], "-u", ENV["MAILTEST_USER"]],
                         password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 3)
        self.assertIn("--starttls", r.err)
        self.assertIn("--allow-plaintext", r.err)
        self.assertNotIn("allow_plaintext=true", r.err)

    def test_exit_4_logon(self):
        args = ["send"] + self.submission() + ["--from", ENV["MAILTEST_ADDR"], "--to", ENV["MAILTEST_ADDR"],
                                               "--text", "x"]
        r = self.run_cli(args, password="wrong-password")
        self.assertExit(r, 4)
        self.assertNotIn("wrong-password", r.err)
        r = self.run_cli(["list"] + self.pop(), password="wrong-password")
        self.assertExit(r, 4)
        # no password anywhere and no terminal to ask on: a clear stop, nothing sent
        r = self.run_cli(args)
        self.assertExit(r, 4)
        self.assertIn("no password for " + ENV["MAILTEST_USER"], r.err)
        self.assertIn("no terminal", r.err)

    def test_exit_5_recipients_refused(self):
        # Postfix's submission service refuses this address with 550
        r = self.run_cli(["send", "-s", "localhost:" + ENV["PORT_PF_SUBMISSION"], "--starttls", "--ca",
                          ENV["MAILTEST_CA"], "-u", ENV["MAILTEST_USER"], "--from", ENV["MAILTEST_ADDR"],
                          "--to", "nobody-here@example.test", "--text", "x"], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 5)
        self.assertIn("nobody-here@example.test", r.err)

    def test_exit_20_some_recipients_refused(self):
        tok = token("partial")
        r = self.run_cli(["send", "-s", "localhost:" + ENV["PORT_PF_SUBMISSION"], "--starttls", "--ca",
                          ENV["MAILTEST_CA"], "-u", ENV["MAILTEST_USER"], "--from", ENV["MAILTEST_ADDR"],
                          "--to", ENV["MAILTEST_ADDR"], "--to", "nobody-here@example.test", "--subject", tok,
                          "--text", "x", "--ignore-rcpt-errors"], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 20)
        self.assertIn("nobody-here@example.test", r.err)
        os.unlink(self.wait_delivery(tok))

    def test_exit_6_size(self):
        r = self.run_cli(["send"] + self.submission() + ["--from", ENV["MAILTEST_ADDR"], "--to", ENV["MAILTEST_ADDR"],
                                                          "--text", "x" * 5000, "--max-size", "1000"],
                         password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 6)

    def test_exit_7_timeout(self):
        silent = Listener()  # accepts (the kernel does) and never says a word
        self.addCleanup(silent.close)
        r = self.run_cli(["send", "-s", "127.0.0.1:%d" % silent.port, "--timeout", "1", "--from", "a@b.example",
                          "--to", "c@d.example", "--text", "x"])
        self.assertExit(r, 7)
        # the sentence names the deadline as this program's option
        self.assertIn("within 1000 ms (--timeout)", r.err)

    def test_exit_8_cancelled(self):
        silent = Listener()
        self.addCleanup(silent.close)
        p = subprocess.Popen([CLI, "list", "-s", "127.0.0.1:%d" % silent.port, "--timeout", "600",
                              "-u", "someone", "--allow-plaintext"], env=self.env(UPOPMAIL_PASSWORD="x"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            silent.accept()  # connected: now waiting for a greeting that never comes
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 8, err)
        self.assertIn(b"cancelled", err)

    def test_exit_9_no_such_message(self):
        r = self.run_cli(["get"] + self.pop() + ["999999"], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 9)
        r = self.run_cli(["delete"] + self.pop() + ["--uidl", "no-such-uidl"], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 9)

    def test_exit_10_protocol(self):
        garbled = Listener()
        self.addCleanup(garbled.close)

        def serve():
            c = garbled.accept()
            c.sendall(b"hello, this is not SMTP\r\n")
        threading.Thread(target=serve, daemon=True).start()
        r = self.run_cli(["send", "-s", "127.0.0.1:%d" % garbled.port, "--from", "a@b.example",
                          "--to", "c@d.example", "--text", "x", "--timeout", "20"])
        self.assertExit(r, 10)

    def test_exit_11_driver(self):
        r = self.run_cli(["send", "-s", "localhost:1", "--security", "SMTP=AUTH NO-SUCH-MECH", "--from", "a@b.example",
                          "--to", "c@d.example", "--text", "x"])
        self.assertExit(r, 11)
        self.assertIn("AUTH NO-SUCH-MECH", r.err)

    def test_exit_0_netrc_and_profile(self):
        # a profile names the server, its security and the CA; ~/.netrc gives the user and password
        conf = os.path.join(self.home.name, ".config", "upopmail")
        os.makedirs(conf)
        with open(os.path.join(conf, "config"), "w") as f:
            f.write("# test profile\n[test]\nserver = localhost\nsmtp.port = %s\npop.port = %s\n"
                    "security = starttls\nca = %s\nfrom = %s\n\n[other]\nserver = elsewhere.invalid\n"
                    % (ENV["PORT_SUBMISSION"], ENV["PORT_POP3"], ENV["MAILTEST_CA"], ENV["MAILTEST_ADDR"]))
        netrc = os.path.join(self.home.name, ".netrc")
        with open(netrc, "w") as f:
            f.write("machine elsewhere.invalid login x password y\n"
                    "machine localhost\n  login %s\n  password %s\n" % (ENV["MAILTEST_USER"], ENV["MAILTEST_PASS"]))
        os.chmod(netrc, 0o600)
        tok = token("profile")
        r = self.run_cli(["send", "--profile", "test", "--to", ENV["MAILTEST_ADDR"], "--subject", tok, "--text", "x",
                          "--trace"])
        self.assertExit(r, 0)
        self.assertIn("SMTP > STARTTLS", r.err)
        self.assertIn("SMTP > AUTH PLAIN", r.err)
        self.assertNotIn(ENV["MAILTEST_PASS"], r.err)
        os.unlink(self.wait_delivery(tok))
        r = self.run_cli(["list", "-P", "test"])
        self.assertExit(r, 0)
        # a netrc others can read is not used
        os.chmod(netrc, 0o644)
        r = self.run_cli(["list", "-P", "test"])
        self.assertExit(r, 1)
        self.assertIn("chmod 600", r.err)
        # an unknown profile, a password in the profile file: usage errors naming the file
        r = self.run_cli(["list", "-P", "nope"])
        self.assertExit(r, 64)
        self.assertIn("no profile [nope]", r.err)
        with open(os.path.join(conf, "config"), "a") as f:
            f.write("[bad]\npassword = x\n")
        r = self.run_cli(["list", "-P", "bad"])
        self.assertExit(r, 64)
        self.assertIn("config:13: passwords are not kept in the profile file", r.err)

    def test_tls_shortcut(self):
        tok = token("tls")
        r = self.run_cli(["send", "-s", "localhost:" + ENV["PORT_SUBMISSIONS"], "--tls", "--ca", ENV["MAILTEST_CA"],
                          "-u", ENV["MAILTEST_USER"], "--from", ENV["MAILTEST_ADDR"], "--to", ENV["MAILTEST_ADDR"],
                          "--subject", tok, "--text", "over implicit TLS"], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 0)
        os.unlink(self.wait_delivery(tok))
        r = self.run_cli(["list", "-s", "localhost:" + ENV["PORT_POP3S"], "--tls", "--ca", ENV["MAILTEST_CA"],
                          "-u", ENV["MAILTEST_USER"], "--json"], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 0)


class Listing(CliCase):
    def test_json_numbers_and_aligned_columns(self):
        import json
        tok = token("cols")
        name = "Jürgen 日本語 Größe"
        r = self.run_cli(["send"] + self.submission() + ["--from", "%s <%s>" % (name, ENV["MAILTEST_ADDR"]),
                                                          "--to", ENV["MAILTEST_ADDR"], "--subject", "Grüße " + tok,
                                                          "--text", tok], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 0)
        self.wait_delivery(tok)
        r = self.run_cli(["list"] + self.pop() + ["--json"], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 0)
        ours = [m for m in json.loads(r.out) if tok in m["SUBJECT"]]
        self.assertEqual(len(ours), 1, r.out)
        m = ours[0]
        for key in ("ID", "SIZE", "PRIORITY"):
            self.assertIsInstance(m[key], int, (key, m))
        self.assertIsInstance(m["UIDL"], str)
        self.assertIn("日本語", m["FROM"])
        r = self.run_cli(["list"] + self.pop() + ["--uidl"], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 0)
        lines = r.out.splitlines()
        header = lines[0]
        row = next(line for line in lines if tok in line)
        # the subject column starts at the same display column in the header and in our row
        self.assertEqual(display_width(row[:row.index("Grüße")]), display_width(header[:header.index("SUBJECT")]),
                         "\n%s\n%s" % (header, row))
        r = self.run_cli(["delete"] + self.pop() + ["--uidl", m["UIDL"]], password=ENV["MAILTEST_PASS"])
        self.assertExit(r, 0)


class Progress(CliCase):
    def write_eml(self, directory, name, size, tok):
        path = os.path.join(directory, name)
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd\r\n"
        with open(path, "wb") as f:
            f.write(("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\n"
                     % (ENV["MAILTEST_ADDR"], ENV["MAILTEST_ADDR"], tok)).encode())
            block = line * 13107  # about 1 MB
            while f.tell() < size:
                f.write(block)
        return path

    def send_on_a_pty(self, eml, *extra):
        """Sends eml through Dovecot (STARTTLS + AUTH PLAIN) with standard error on a pty;
        returns the exit status and what the terminal showed."""
        master, slave = pty.openpty()
        p = subprocess.Popen([CLI, "send"] + self.submission() + ["--eml", eml] + list(extra),
                             env=self.env(UPOPMAIL_PASSWORD=ENV["MAILTEST_PASS"]), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        chunks = []

        def drain():  # the terminal's side: read until the program has closed it
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    return
                if not data:
                    return
                chunks.append(data)
        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        p.communicate(timeout=600)
        reader.join(30)
        os.close(master)
        return p.returncode, b"".join(chunks).decode("utf-8", "replace")

    def test_meter_on_a_terminal_for_a_100_mb_send(self):
        size = 100 * 1024 * 1024
        work = tempfile.TemporaryDirectory(prefix="upop-cli-big.")
        self.addCleanup(work.cleanup)
        tok = token("big")
        eml = self.write_eml(work.name, "big.eml", size, tok)
        rc, err = self.send_on_a_pty(eml)
        self.assertEqual(rc, 0, err[-2000:])
        delivered = self.wait_delivery(tok, 120)
        with open(eml, "rb") as f:  # the maildir keeps LF line ends, after the trace fields
            self.assertGreater(os.path.getsize(delivered), os.path.getsize(eml) - f.read().count(b"\r\n"))
        os.unlink(delivered)
        draws = [d for d in err.split("\r") if "MB" in d]
        # a rate (a fast send may have no draw between the first and the last)
        self.assertTrue(any(re.search(r"\d B/s|[KMG]B/s", d) for d in draws), err[-2000:])
        self.assertTrue(any(re.search(r"/ 100\.\d MB +\d+%", d) for d in draws), err[-2000:])
        # the final draw says 100 %; the meter is redrawn a few times a second, not for each of
        # the 1600 blocks of 64 KiB
        self.assertIn("100%", draws[-1])
        self.assertLess(len(draws), 400, "%d draws" % len(draws))
        # --silent: no meter even on the terminal (5 MB: above the automatic threshold)
        tok = token("silent")
        rc, err = self.send_on_a_pty(self.write_eml(work.name, "5mb.eml", 5 * 1024 * 1024, tok), "--silent", "-q")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("B/s", err)
        os.unlink(self.wait_delivery(tok))


if __name__ == "__main__":
    if not CLI or not os.access(CLI, os.X_OK):
        sys.exit("set UPOPMAIL_CLI to the upopmail program")
    if "MAILTEST_DIR" not in ENV:
        sys.exit("MAILTEST_DIR is not set: these tests need the real servers (scripts/check starts them)")
    unittest.main(verbosity=2)
