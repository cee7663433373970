"""Tests of the Python binding against the real test servers (Dovecot submission and POP3).

Run with the servers' environment exported (scripts/check does it):
    set -a; . /tmp/upop.XXXX/env.sh; set +a
    python3 -m unittest discover -s bindings/python/tests -v
The library is found as the package finds it (UPOPMAIL_LIBRARY, installed, or the build tree).
"""
import email
import email.message
import email.policy
import email.utils
import logging
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
import zipfile

import upopmail

ENV = os.environ


def setUpModule():
    missing = [k for k in ("MAILTEST_USER", "MAILTEST_PASS", "MAILTEST_ADDR", "MAILTEST_CA",
                           "PORT_SUBMISSION", "PORT_SUBMISSIONS", "PORT_POP3", "PORT_POP3S",
                           "PORT_BAD_SUBMISSION", "PORT_BAD_POP3S", "PORT_PF_SUBMISSION")
               if not ENV.get(k)]
    if missing:
        raise RuntimeError("the test servers' environment is missing (%s): run scripts/check, or "
                           "start tests/servers/start.sh and source its env.sh" % ", ".join(missing))


def token(what):
    return "py-%s-%s" % (what, uuid.uuid4().hex)


def smtp(m, user=None, password=None, mechanism="AUTH PLAIN"):
    m.set_security("SMTP=STARTTLS")
    m.set_security("SMTP=" + mechanism, user=user or ENV["MAILTEST_USER"],
                   password=password if password is not None else ENV["MAILTEST_PASS"])
    m.logon_smtp("localhost+" + ENV["PORT_SUBMISSION"])


def pop(m):
    m.set_security("POP=STARTTLS")
    m.logon_pop("localhost+" + ENV["PORT_POP3"], ENV["MAILTEST_USER"], ENV["MAILTEST_PASS"])


def wait_for(subject_token, seconds=20):
    """Polls POP3 until a message whose subject holds the token is listed; returns
    (its list entry, its raw bytes), with the POP session closed again."""
    deadline = time.monotonic() + seconds
    while True:
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            pop(m)
            for entry in m.list_mail():
                if subject_token in entry.get("SUBJECT", ""):
                    raw = m.get_raw_mail(entry["ID"])
                    m.logoff_pop()
                    return entry, raw
            m.logoff_pop()
        if time.monotonic() > deadline:
            raise AssertionError("no message with %s arrived in %d s" % (subject_token, seconds))
        time.sleep(0.2)


class LibraryTest(unittest.TestCase):
    def test_version_and_registry(self):
        self.assertRegex(upopmail.version(), r"^\d+\.\d+\.\d+$")
        self.assertEqual(upopmail.abi_version(), 1)
        self.assertIn("not logged on", upopmail.strerror(-8))
        self.assertTrue(upopmail.strerror(12345))
        reg = upopmail.drivers()
        names = {d["name"] for d in reg["drivers"]}
        self.assertTrue({"STARTTLS", "AUTH PLAIN", "AUTH LOGIN"} <= names, names)
        self.assertIsInstance(reg["paths"], list)

    def test_lists_roundtrip(self):
        self.assertEqual(upopmail.split_list(upopmail.join_list(["a", "b=c"])), ["a", "b=c"])
        self.assertEqual(upopmail.join_list({"A": 1, "B": "x"}), "A=1\x1bB=x")
        self.assertEqual(upopmail.split_list(""), [])

    def test_low_speed_bytes_option(self):
        with upopmail.Mail(timeout_ms=3000, low_speed_bytes=4096):
            pass
        with self.assertRaises(upopmail.Error) as cm:
            upopmail.Mail(low_speed_bytes=0)
        self.assertEqual(cm.exception.status, -2)
        self.assertIn("low_speed_bytes", str(cm.exception))

    def test_closed_instance(self):
        m = upopmail.Mail()
        m.close()
        m.close()  # idempotent
        with self.assertRaises(ValueError):
            m.set_subject("x")


class SecurityContextTest(unittest.TestCase):
    def test_unknown_driver_is_minus_5_and_names_it(self):
        with upopmail.Mail() as m:
            with self.assertRaises(upopmail.Error) as cm:
                m.set_security("SMTP=NO-SUCH-DRIVER")
            self.assertEqual(cm.exception.status, -5)
            self.assertEqual(cm.exception.name, "E_ENTRY")
            self.assertIn("NO-SUCH-DRIVER", cm.exception.sentence)
            self.assertEqual(m.security(), [])

    def test_unknown_parameter_is_minus_1(self):
        with upopmail.Mail() as m:
            with self.assertRaises(upopmail.Error) as cm:
                m.set_security("SMTP=AUTH PLAIN", user="u", password="p", colour="blue")
            self.assertEqual(cm.exception.status, -1)
            self.assertIn("colour", cm.exception.sentence)

    def test_optional_driver_and_get_security(self):
        with upopmail.Mail() as m:
            m.set_security("SMTP=STARTTLS")
            m.set_security("SMTP=AUTH LOGIN", {"user": "u"}, password="p", use="OPT")
            sec = m.security("SMTP")
            self.assertEqual([p for p, _ in sec], ["SMTP=STARTTLS", "SMTP=AUTH LOGIN;USE=OPT"])
            self.assertEqual(sec[0][1]["INUSE"], "FALSE")
            m.clear_security("SMTP")
            self.assertEqual(m.security("SMTP"), [])


class SendAndReceiveTest(unittest.TestCase):
    def test_starttls_auth_plain_send_then_pop3_read_and_delete(self):
        subject = token("plain")
        lines = []
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000,
                           trace=lambda s, d, l: lines.append((s, d, l))) as m:
            smtp(m)
            refused = m.send(from_addr=ENV["MAILTEST_ADDR"], to=[ENV["MAILTEST_ADDR"]],
                             subject=subject, text="Hello from the Python binding.\nÄ second line.\n",
                             priority=2)
            self.assertEqual(refused, 0)
            code, text = m.smtp_response()
            self.assertEqual(code, 250, text)
            sec = m.security()
            self.assertEqual([(p, i["INUSE"]) for p, i in sec],
                             [("SMTP=STARTTLS", "TRUE"), ("SMTP=AUTH PLAIN", "TRUE")])
            m.logoff_smtp()
        sent = [l for s, d, l in lines if d == ">"]
        self.assertIn("STARTTLS", sent)
        self.assertTrue(any(l.startswith("AUTH PLAIN") for l in sent), sent)
        self.assertFalse(any(ENV["MAILTEST_PASS"] in l for _, _, l in lines),
                         "the password appeared in the trace")

        entry, raw = wait_for(subject)
        self.assertEqual(entry["PRIORITY"], 2)
        self.assertIsInstance(entry["SIZE"], int)
        self.assertIn(subject.encode(), raw)
        self.assertIn(b"X-Priority: 2", raw)

        # delete it; the deletion is committed by logoff_pop
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"]) as m:
            pop(m)
            ids = [e["ID"] for e in m.list_mail() if subject in e["SUBJECT"]]
            self.assertEqual(len(ids), 1)
            m.delete_mail(ids[0])
            m.logoff_pop()
            pop(m)
            self.assertFalse([e for e in m.list_mail() if subject in e["SUBJECT"]])
            with self.assertRaises(upopmail.Error) as cm:
                m.delete_mail(0)
            self.assertEqual(cm.exception.status, -7)
            m.logoff_pop()

    def test_implicit_tls_auth_login_with_attachment_and_progress(self):
        subject = token("login")
        seen = []
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "data.bin")
            with open(path, "wb") as f:
                f.write(os.urandom(300000))
            with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"],
                               progress=lambda done, total: seen.append((done, total))) as m:
                m.set_security("SMTP=AUTH LOGIN", user=ENV["MAILTEST_USER"], password=ENV["MAILTEST_PASS"])
                m.logon_smtp("TLS:localhost+" + ENV["PORT_SUBMISSIONS"])
                m.send(from_addr=ENV["MAILTEST_ADDR"], to=ENV["MAILTEST_ADDR"], subject=subject,
                       text="see the attachment", attachments=[path])
                m.logoff_smtp()
        self.assertTrue(seen, "no progress reported")
        self.assertGreater(seen[-1][0], 300000)
        self.assertEqual(seen[-1][0], seen[-1][1])  # done == total at the end
        _, raw = wait_for(subject)
        self.assertIn(b'filename="data.bin"', raw)

    def test_retrieve_streams_and_messages_iterates(self):
        subject = token("retrieve")
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            smtp(m)
            m.send(from_addr=ENV["MAILTEST_ADDR"], to=ENV["MAILTEST_ADDR"], subject=subject,
                   text=".leading dot\n..two dots\n.\nend\n")
            m.logoff_smtp()
        _, raw = wait_for(subject)

        class Boom(Exception):
            pass

        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            pop(m)
            # the mailbox iterated, headers only (TOP n 0, pipelined): ours is among them
            found = [n for n, head in m.messages(headers_only=True) if subject.encode() in head]
            self.assertEqual(len(found), 1)
            n = found[0]
            # the whole message, iterated and streamed: the same bytes as GetRawMail
            self.assertEqual(list(m.messages([n])), [(n, raw)])
            chunks, ends = [], []
            m.retrieve(lambda nr, chunk, end: (ends if end else chunks).append((nr, chunk)), [n])
            self.assertEqual(b"".join(c for _, c in chunks), raw)
            self.assertIn(b"\r\n.leading dot\r\n..two dots\r\n.\r\nend", raw)
            self.assertEqual(ends, [(n, b"")])
            # a callback that returns True stops (-10), one that raises stops with its exception;
            # the session goes on after both
            with self.assertRaises(upopmail.Error) as cm:
                m.retrieve(lambda nr, chunk, end: True, [n, n])
            self.assertEqual(cm.exception.status, -10)
            self.assertIsInstance(cm.exception, upopmail.Cancelled)

            def boom(nr, chunk, end):
                raise Boom()
            with self.assertRaises(Boom):
                m.retrieve(boom, [n])
            self.assertEqual(m.get_raw_mail(n), raw)
            m.logoff_pop()

    def test_progress_returning_false_cancels(self):
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], progress=lambda d, t: False) as m:
            smtp(m)
            with self.assertRaises(upopmail.Error) as cm:
                m.send(from_addr=ENV["MAILTEST_ADDR"], to=ENV["MAILTEST_ADDR"], subject=token("cancel"),
                       text="never sent")
            self.assertEqual(cm.exception.status, -10)
            self.assertIsInstance(cm.exception, upopmail.Cancelled)

    def test_callback_exception_is_reraised(self):
        class Boom(Exception):
            pass

        def trace(server, direction, line):
            raise Boom(line)

        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], trace=trace) as m:
            m.set_security("SMTP=STARTTLS")
            with self.assertRaises(Boom):
                m.logon_smtp("localhost+" + ENV["PORT_SUBMISSION"])

    def test_wrong_password_carries_status_sentence_and_reply(self):
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"]) as m:
            with self.assertRaises(upopmail.Error) as cm:
                smtp(m, password="not-the-password")
            e = cm.exception
            self.assertIsInstance(e, upopmail.AuthenticationError)
            self.assertEqual(e.status, -8)
            self.assertEqual(e.operation, "logon_smtp")
            self.assertTrue(e.sentence)
            self.assertNotIn("not-the-password", str(e))
            self.assertEqual(e.reply_code, 535, e.reply)

    def test_send_message_of_an_email_message_arrives_as_built(self):
        subject = token("sendmsg")
        msg = email.message.EmailMessage()
        msg["From"] = "Python Sender <%s>" % ENV["MAILTEST_ADDR"]
        msg["To"] = "Team: %s;" % ENV["MAILTEST_ADDR"]
        msg["Bcc"] = ENV["MAILTEST_ADDR"]
        msg["Subject"] = subject + " \u00e9t\u00e9"
        msg["Message-ID"] = email.utils.make_msgid(domain="example.test")
        msg.set_content("Built with the email package.\n.leading dot\n\u00c4 line\n")
        msg.add_attachment(bytes(range(256)) * 40, maintype="application", subtype="octet-stream",
                           filename="data.bin")
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            smtp(m)
            self.assertEqual(m.send_message(msg), 0)
            self.assertFalse(m.dsn_not_requested)
            m.logoff_smtp()
        _, raw = wait_for(subject)
        got = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(str(got["Subject"]), subject + " \u00e9t\u00e9")
        self.assertEqual(got["Message-ID"], msg["Message-ID"])
        self.assertIsNone(got["Bcc"])
        self.assertNotIn(b"Bcc:", raw)
        self.assertEqual(got.get_body(("plain",)).get_content().replace("\r\n", "\n"),
                         "Built with the email package.\n.leading dot\n\u00c4 line\n")
        atts = list(got.iter_attachments())
        self.assertEqual([a.get_filename() for a in atts], ["data.bin"])
        self.assertEqual(atts[0].get_content(), bytes(range(256)) * 40)

    def test_send_message_bytes_explicit_recipients_envelope_and_bad_input(self):
        subject = token("sendraw")
        raw_msg = ("From: %s\nTo: nobody@example.invalid\nSubject: %s\n\nraw bytes, LF line ends\n"
                   % (ENV["MAILTEST_ADDR"], subject)).encode()
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            smtp(m)
            m.set_envelope_from("<>")
            self.assertEqual(m.send_message(raw_msg, [ENV["MAILTEST_ADDR"]]), 0)
            with self.assertRaises(upopmail.Error) as cm:
                m.send_message(b"From: a@example.test\nSubject: nobody\n\nx\n")
            self.assertEqual(cm.exception.status, -12)
            self.assertIn("no recipient", cm.exception.sentence)
            with self.assertRaises(TypeError):
                m.send_message("a str is neither a message nor bytes")
            m.logoff_smtp()
        _, raw = wait_for(subject)
        self.assertIn(b"Return-Path: <>", raw)
        self.assertIn(b"raw bytes, LF line ends\r\n", raw)

    def test_add_header_attachment_data_and_dsn_options(self):
        subject = token("extras")
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            smtp(m)
            m.add_header("In-Reply-To", "<parent@example.test>")
            m.add_header("X-Greeting", "gr\u00fc\u00dfe")
            with self.assertRaises(upopmail.Error) as cm:
                m.add_header("Subject", "x")
            self.assertEqual(cm.exception.status, -2)
            self.assertIn("upop_set_subject", cm.exception.sentence)
            m.add_attachment_data(b"\x00\x01binary\xff", "r\u00e9sum\u00e9.bin")
            m.send(from_addr=ENV["MAILTEST_ADDR"], to=[ENV["MAILTEST_ADDR"]], subject=subject,
                   text="with extras", notify=["SUCCESS", "FAILURE"], ret="HDRS", envid="py-env")
            # Dovecot's submission offers DSN when its relay (Postfix) does; either way it is known
            self.assertIsInstance(m.dsn_not_requested, bool)
            m.logoff_smtp()
        _, raw = wait_for(subject)
        got = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(got["In-Reply-To"], "<parent@example.test>")
        self.assertEqual(str(got["X-Greeting"]), "gr\u00fc\u00dfe")
        atts = list(got.iter_attachments())
        self.assertEqual(atts[0].get_filename(), "r\u00e9sum\u00e9.bin")
        self.assertEqual(atts[0].get_content(), b"\x00\x01binary\xff")

    def test_send_without_recipients_is_minus_12(self):
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"]) as m:
            smtp(m)
            m.set_from(ENV["MAILTEST_ADDR"])
            with self.assertRaises(upopmail.Error) as cm:
                m.send(subject="x", text="y")
            self.assertEqual(cm.exception.status, -12)
            m.logoff_smtp()

    def test_not_logged_on_is_minus_8(self):
        with upopmail.Mail() as m:
            with self.assertRaises(upopmail.Error) as cm:
                m.list_mail()
            self.assertEqual(cm.exception.status, -8)

    def test_legacy_send_mail_with_implicit_logon(self):
        subject = token("sendmail")
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"]) as m:
            m.set_security("SMTP=STARTTLS")
            m.set_security("SMTP=AUTH PLAIN", user=ENV["MAILTEST_USER"], password=ENV["MAILTEST_PASS"])
            m.send_mail("localhost+" + ENV["PORT_SUBMISSION"],
                        {"FROM": ENV["MAILTEST_ADDR"], "TO": ENV["MAILTEST_ADDR"], "SUBJECT": subject},
                        "legacy text")
        _, raw = wait_for(subject)
        self.assertIn(subject.encode(), raw)

    def test_pop3s_and_cancel_from_another_thread(self):
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"]) as m:
            m.logon_pop("TLS:localhost+" + ENV["PORT_POP3S"], ENV["MAILTEST_USER"], ENV["MAILTEST_PASS"])
            self.assertIsInstance(m.list_mail(), list)
            m.logoff_pop()
        # a cancel with no call blocking ends the next blocking call
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"]) as m:
            t = threading.Thread(target=m.cancel)
            t.start()
            t.join()
            with self.assertRaises(upopmail.Error) as cm:
                m.logon_pop("TLS:localhost+" + ENV["PORT_POP3S"], ENV["MAILTEST_USER"], ENV["MAILTEST_PASS"])
            self.assertEqual(cm.exception.status, -4)
            self.assertIsInstance(cm.exception, upopmail.Cancelled)

    def test_get_mail_decodes_when_available(self):
        subject = token("getmail")
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"]) as m:
            smtp(m)
            m.send(from_addr=ENV["MAILTEST_ADDR"], to=ENV["MAILTEST_ADDR"], subject=subject,
                   text="décodé", html="<p>html part</p>")
            m.logoff_smtp()
        wait_for(subject)
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"]) as m, tempfile.TemporaryDirectory() as d:
            pop(m)
            n = [e["ID"] for e in m.list_mail() if subject in e["SUBJECT"]][0]
            try:
                msg = m.get_mail(n, d)
            except upopmail.Error as e:
                if e.status == -10 and "not implemented" in e.sentence:
                    self.skipTest("GetMail is not implemented in this library yet")
                raise
            self.assertEqual(msg.headers["SUBJECT"], subject)
            self.assertIn("décodé", msg.text)
            self.assertTrue(msg.attachments, "the HTML part is written as a file")
            m.logoff_pop()

    def _lmtp_deliver(self, raw):
        """Delivers raw bytes as they are through Dovecot's LMTP (synchronous: the message is in
        the mailbox when this returns)."""
        with smtplib.LMTP("127.0.0.1", int(ENV["PORT_LMTP"])) as lmtp:
            refused = lmtp.sendmail("sender@example.test", [ENV["MAILTEST_ADDR"]], raw)
        self.assertEqual(refused, {})

    def _entry(self, m, subject):
        entries = [e for e in m.list_mail() if subject in e.get("SUBJECT", "")]
        self.assertEqual(len(entries), 1, entries)
        return entries[0]

    def test_fetch_raw_bytes_with_nul_and_fetch_message(self):
        subject = token("nul")
        raw = ("From: Sender <sender@example.test>\r\nTo: %s\r\nSubject: =?UTF-8?Q?caf=C3=A9?= %s\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
               % (ENV["MAILTEST_ADDR"], subject)).encode() + b"before\x00after\r\n.dot\r\n\xc3\xa9 end\r\n"
        self._lmtp_deliver(raw)
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            pop(m)
            n = self._entry(m, subject)["ID"]
            data = m.fetch(n)
            self.assertIsInstance(data, bytes)
            self.assertTrue(data.endswith(raw.split(b"\r\n\r\n", 1)[1]), data[-80:])
            self.assertIn(b"before\x00after\r\n.dot\r\n", data)
            # GetRawMail hands out a C string: it stops at the NUL; fetch does not
            self.assertEqual(m.get_raw_mail(n), data[:data.index(b"\x00")])
            msg = m.fetch_message(n)
            self.assertIsInstance(msg, email.message.EmailMessage)
            self.assertEqual(msg["Subject"], "café " + subject)
            self.assertEqual(msg["From"].addresses[0].addr_spec, "sender@example.test")
            self.assertEqual(msg.get_content(), "before\x00after\r\n.dot\r\né end\r\n")  # CRLF as sent
            m.delete_mail(n)
            m.logoff_pop()

    def test_uidl_get_and_delete_noop_and_reset(self):
        subject = token("uidl")
        self._lmtp_deliver(("From: sender@example.test\r\nTo: %s\r\nSubject: %s\r\n\r\nby uidl\r\n"
                            % (ENV["MAILTEST_ADDR"], subject)).encode())
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            pop(m)
            entry = self._entry(m, subject)
            uidl, n = entry["UIDL"], entry["ID"]
            self.assertEqual(m.find_uidl(uidl), n)
            self.assertEqual(m.get_by_uidl(uidl), m.fetch(n))
            self.assertEqual(m.message_by_uidl(uidl)["Subject"], subject)
            with self.assertRaises(upopmail.Error) as cm:
                m.find_uidl("no-such-uidl")
            self.assertEqual(cm.exception.status, -7)
            m.noop(upopmail.POP)
            m.noop("POP")
            with self.assertRaises(upopmail.Error) as cm:
                m.noop(upopmail.SMTP)  # no SMTP session
            self.assertEqual(cm.exception.status, -8)
            with self.assertRaises(ValueError):
                m.noop("IMAP")
            # deleted, undone by RSET: still there after logoff
            m.delete_by_uidl(uidl)
            with self.assertRaises(upopmail.Error) as cm:
                m.find_uidl(uidl)
            self.assertEqual(cm.exception.status, -7)
            m.reset(upopmail.POP)
            self.assertEqual(m.find_uidl(uidl), n)
            m.logoff_pop()
            pop(m)
            m.delete_by_uidl(uidl)
            m.logoff_pop()  # committed
            pop(m)
            with self.assertRaises(upopmail.Error) as cm:
                m.get_by_uidl(uidl)
            self.assertEqual(cm.exception.status, -7)
            m.logoff_pop()
        # NOOP and RSET on a submission session carry the server's reply
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            smtp(m)
            m.noop(upopmail.SMTP)
            self.assertEqual(m.smtp_response()[0], 250)
            m.reset("SMTP")
            self.assertEqual(m.smtp_response()[0], 250)
            m.logoff_smtp()


class ExceptionClassTest(unittest.TestCase):
    """The exception hierarchy: raised by the real servers for the three failures users meet
    first, and the status/sentence mapping of error_class."""

    def test_hierarchy_and_alias(self):
        self.assertIs(upopmail.Error, upopmail.UpopError)
        for cls in (upopmail.AuthenticationError, upopmail.TlsError, upopmail.RecipientsRefused,
                    upopmail.Timeout, upopmail.Cancelled, upopmail.ProtocolError):
            self.assertTrue(issubclass(cls, upopmail.UpopError), cls)

    def test_error_class_mapping(self):
        c = upopmail.error_class
        self.assertIs(c(-8, "the security driver 'AUTH PLAIN' failed: the server refused the credentials: x",
                        535), upopmail.AuthenticationError)
        self.assertIs(c(-8, "TLS handshake with localhost:1 failed: X509 - Certificate verification failed"),
                      upopmail.TlsError)
        self.assertIs(c(-8, "the security driver 'X-LOG' failed: its protocol did not succeed"),
                      upopmail.ProtocolError)
        self.assertIs(c(-8, "not logged on to an SMTP server"), upopmail.UpopError)
        self.assertIs(c(-2, "the server localhost:1 refused the logon: -ERR [AUTH] failed"),
                      upopmail.AuthenticationError)
        self.assertIs(c(-2, "1 of 1 recipients were refused (first: a@b 550 no)"), upopmail.RecipientsRefused)
        self.assertIs(c(-2, "option 'X' is unknown"), upopmail.UpopError)
        self.assertIs(c(-4, "reading from localhost:1 timed out"), upopmail.Timeout)
        self.assertIs(c(-4, "reading from localhost:1 cancelled"), upopmail.Cancelled)
        self.assertIs(c(-10, "sending was cancelled by the progress callback"), upopmail.Cancelled)
        self.assertIs(c(-10, "the server refused the message", 554), upopmail.ProtocolError)
        self.assertIs(c(-7, "the server does not support the mandatory security driver 'STARTTLS'"),
                      upopmail.TlsError)
        self.assertIs(c(-11, "the server refused message 3"), upopmail.ProtocolError)
        self.assertIs(c(-13, "cannot open x"), upopmail.UpopError)

    def test_wrong_password_smtp_and_pop_raise_authentication_error(self):
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"]) as m:
            with self.assertRaises(upopmail.AuthenticationError) as cm:
                smtp(m, password="not-the-password")
            self.assertEqual((cm.exception.status, cm.exception.reply_code), (-8, 535))
            m.set_security("POP=STARTTLS")
            with self.assertRaises(upopmail.AuthenticationError) as cm:
                m.logon_pop("localhost+" + ENV["PORT_POP3"], ENV["MAILTEST_USER"], "not-the-password")
            self.assertEqual(cm.exception.status, -2)
            self.assertNotIn("not-the-password", str(cm.exception))

    def test_bad_certificate_raises_tls_error(self):
        # the "badcert" Dovecot presents a certificate for wrong.example.invalid
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            m.set_security("SMTP=STARTTLS")
            with self.assertRaises(upopmail.TlsError) as cm:
                m.logon_smtp("localhost+" + ENV["PORT_BAD_SUBMISSION"])
            self.assertEqual(cm.exception.status, -8)
            with self.assertRaises(upopmail.TlsError) as cm:
                m.logon_pop("TLS:localhost+" + ENV["PORT_BAD_POP3S"], ENV["MAILTEST_USER"], ENV["MAILTEST_PASS"])
            self.assertIn("certificate", cm.exception.sentence.lower())

    def test_refused_recipient_raises_recipients_refused_with_the_address(self):
        refused = "nobody-here@example.test"  # Postfix's submission service refuses it with 550
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            m.set_security("SMTP=STARTTLS")
            m.set_security("SMTP=AUTH PLAIN", user=ENV["MAILTEST_USER"], password=ENV["MAILTEST_PASS"])
            with m.smtp_session("localhost+" + ENV["PORT_PF_SUBMISSION"]):
                with self.assertRaises(upopmail.RecipientsRefused) as cm:
                    m.send(from_addr=ENV["MAILTEST_ADDR"], to=[ENV["MAILTEST_ADDR"], refused],
                           subject=token("refused"), text="not sent")
                e = cm.exception
                self.assertEqual(e.status, -2)
                self.assertEqual(e.addresses, [refused])
                self.assertEqual(e.refused[0][1], 550)
                self.assertEqual(e.reply_code, 550)

    def test_silent_server_raises_timeout(self):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            port = listener.getsockname()[1]
            with upopmail.Mail(timeout_ms=300) as m:
                with self.assertRaises(upopmail.Timeout) as cm:
                    m.logon_smtp("localhost+%d" % port)
                self.assertEqual(cm.exception.status, -4)
                self.assertNotIsInstance(cm.exception, upopmail.Cancelled)


class IdiomsTest(unittest.TestCase):
    def test_trace_through_logging_is_opt_in_and_redacted(self):
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], log=True) as m:
            with self.assertLogs("upopmail", logging.DEBUG) as logs:
                smtp(m)
                m.logoff_smtp()
        lines = [r.getMessage() for r in logs.records]
        self.assertIn("SMTP > STARTTLS", lines)
        self.assertTrue(any(l.startswith("SMTP > AUTH PLAIN") for l in lines), lines)
        self.assertTrue(all(r.levelno == logging.DEBUG for r in logs.records))
        self.assertEqual({r.upop_server for r in logs.records}, {"SMTP"})
        self.assertFalse(any(ENV["MAILTEST_PASS"] in l for l in lines), "the password was logged")
        # without log=True (or after log_trace(False)) nothing is logged
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        log = logging.getLogger("upopmail")
        log.addHandler(handler)
        old = log.level
        log.setLevel(logging.DEBUG)
        try:
            with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"]) as m:
                smtp(m)
                m.log_trace(True)
                m.log_trace(False)
                m.logoff_smtp()
        finally:
            log.removeHandler(handler)
            log.setLevel(old)
        self.assertEqual(records, [])

    def test_mailbox_iterator_and_session_context_managers(self):
        subject = token("iter")
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            m.set_security("SMTP=STARTTLS")
            m.set_security("SMTP=AUTH PLAIN", user=ENV["MAILTEST_USER"], password=ENV["MAILTEST_PASS"])
            with m.smtp_session("localhost+" + ENV["PORT_SUBMISSION"]):
                m.send(from_addr=ENV["MAILTEST_ADDR"], to=ENV["MAILTEST_ADDR"], subject=subject, text="iterated")
            # the block logged off: the next send is "not logged on" (-8, no subclass)
            with self.assertRaises(upopmail.UpopError) as cm:
                m.send(subject="x")
            self.assertIs(type(cm.exception), upopmail.UpopError)
            self.assertEqual(cm.exception.status, -8)
        _, raw = wait_for(subject)
        with upopmail.Mail(ca_certificate=ENV["MAILTEST_CA"], timeout_ms=20000) as m:
            m.set_security("POP=STARTTLS")
            with m.pop_session("localhost+" + ENV["PORT_POP3"], ENV["MAILTEST_USER"], ENV["MAILTEST_PASS"]):
                ours = [msg for msg in m if subject.encode() in msg.data]
                self.assertEqual(len(ours), 1)
                msg = ours[0]
                self.assertIsInstance(msg, upopmail.Message)
                self.assertIsInstance(msg.number, int)
                number, data = msg
                self.assertEqual(data, raw)
                self.assertEqual(msg.email()["Subject"], subject)
                self.assertEqual([x.number for x in m.mailbox(headers_only=True) if x.number == number], [number])
                m.delete_mail(number)
            # pop_session's logoff committed the deletion
            with m.pop_session("localhost+" + ENV["PORT_POP3"], ENV["MAILTEST_USER"], ENV["MAILTEST_PASS"]):
                self.assertFalse([x for x in m.list_mail() if subject in x["SUBJECT"]])


class LoaderTest(unittest.TestCase):
    """How the package finds the library (upopmail/_native.py) and what the backend records."""

    def test_library_path_and_typed_marker(self):
        path = upopmail.library_path()
        self.assertTrue(os.path.isfile(path), path)
        self.assertIn("libupopmail.so", os.path.basename(path))
        self.assertTrue(os.path.isfile(os.path.join(os.path.dirname(upopmail.__file__), "py.typed")))

    def test_search_order_without_environment(self):
        import sysconfig
        from unittest import mock
        from upopmail import _native
        env = {k: v for k, v in os.environ.items() if k != "UPOPMAIL_LIBRARY"}
        with mock.patch.dict(os.environ, env, clear=True), \
                mock.patch.object(_native.ctypes.util, "find_library", return_value="libupopmail.so.1"), \
                mock.patch.object(_native, "_recorded_libdir", return_value="/opt/upop/lib"):
            got = list(_native._candidates())
        origins = []
        for _, origin in got:
            if origin not in origins:
                origins.append(origin)
        expected = ["prefix recorded at install", "ctypes.util.find_library", "the dynamic loader's search",
                    "install directory"]
        self.assertEqual([o for o in origins if o in expected], expected)
        paths = [p for p, _ in got]
        self.assertEqual(paths[0], "/opt/upop/lib/libupopmail.so.1")
        self.assertIn("/usr/local/lib/libupopmail.so.1", paths)  # cmake --install, no ldconfig
        multiarch = sysconfig.get_config_var("MULTIARCH")
        if multiarch:  # the Debian package
            self.assertIn("/usr/lib/%s/libupopmail.so.1" % multiarch, paths)
        with mock.patch.dict(os.environ, {"UPOPMAIL_LIBRARY": "/x/libupopmail.so.1"}):
            self.assertEqual(list(_native._candidates()), [("/x/libupopmail.so.1", "UPOPMAIL_LIBRARY")])

    def test_not_found_says_what_to_do(self):
        env = dict(os.environ, UPOPMAIL_LIBRARY="/nonexistent/libupopmail.so.1",
                   PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(upopmail.__file__))))
        r = subprocess.run([sys.executable, "-c", "import upopmail"], env=env, cwd=tempfile.gettempdir(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        self.assertNotEqual(r.returncode, 0)
        for what in ("cmake --install", "apt-get install ./libupopmail1", "UPOPMAIL_LIBRARY=",
                     "bundle=true", "Tried:", "/nonexistent/libupopmail.so.1"):
            self.assertIn(what, r.stdout)

    def test_backend_records_the_prefix_in_a_pure_wheel(self):
        import importlib.util
        here = os.path.dirname(os.path.dirname(os.path.abspath(upopmail.__file__)))
        spec = importlib.util.spec_from_file_location("upop_backend", os.path.join(here, "backend.py"))
        if spec is None or spec.loader is None or not os.path.exists(os.path.join(here, "backend.py")):
            self.skipTest("not run from the source tree")
        backend = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(backend)
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "prefix", "lib"))
            os.symlink(upopmail.library_path(), os.path.join(d, "prefix", "lib", "libupopmail.so.1"))
            name = backend.build_wheel(d, {"prefix": os.path.join(d, "prefix")})
            self.assertTrue(name.endswith("-py3-none-any.whl"), name)
            with zipfile.ZipFile(os.path.join(d, name)) as z:
                names = z.namelist()
                config = z.read("upopmail/_config.py").decode()
                modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
        self.assertIn("upopmail/py.typed", names)
        self.assertIn("LIBDIR = %r" % os.path.join(d, "prefix", "lib"), config)
        self.assertFalse(any(n.startswith("upopmail/_bundled/") for n in names))
        self.assertEqual(set(modes.values()), {0o644})


if __name__ == "__main__":
    unittest.main()
