#!/usr/bin/env python3
"""bench/client_py.py -- the Python 3 client of the bench: smtplib and poplib over ssl, with
the email package composing, as a Python program usually sends mail.

  client_py.py send  HOST PORT USER PASS CA FROM TO COUNT SIZE [FILE]
  client_py.py pop   HOST PORT USER PASS CA COUNT
  client_py.py login HOST PORT USER PASS CA COUNT

send: one SMTP session (starttls, login: AUTH PLAIN); COUNT messages, each an EmailMessage
(From, To, Subject, a text body of SIZE bytes, FILE read and attached) sent with send_message.
pop: one POP3 session (stls, user/pass_); retr of messages 1..COUNT.
login: COUNT times SMTP(), starttls, login, quit.
The server certificate is verified against CA (ssl.create_default_context(cafile=CA)).
Prints the result line of common.h; any failure raises (exit 1)."""
import os
import poplib
import smtplib
import ssl
import sys
import time
from email.message import EmailMessage

# common.h's BENCH_LINE: 76 characters; lines of 78 bytes with CRLF
LINE = "The quick brown fox jumps over the lazy dog; 0123456789 abcdefghijklmnopqrst"


def fill_lines(n):
    """common.h's bench_fill_lines as text with LF line ends (n counted with CRLF)."""
    full, rest = divmod(n, len(LINE) + 2)
    lines = [LINE] * full
    if rest == 1:
        lines[-1] = LINE + "x"
    elif rest >= 2:
        lines.append(LINE[:rest - 2])
    return "".join(line + "\n" for line in lines)


def send(host, port, user, password, ctx, sender, to, count, size, path=None):
    body = fill_lines(size)
    sent = 0
    t0 = time.monotonic()
    with smtplib.SMTP(host, port, timeout=120) as s:
        s.starttls(context=ctx)
        s.login(user, password)
        for i in range(count):
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = sender, to, "bench message %d" % (i + 1)
            msg.set_content(body)
            sent += size
            if path:
                with open(path, "rb") as f:
                    data = f.read()
                msg.add_attachment(data, maintype="application", subtype="octet-stream",
                                   filename=os.path.basename(path))
                sent += len(data)
            s.send_message(msg)
    return count, sent, time.monotonic() - t0


def pop(host, port, user, password, ctx, count):
    received = 0
    t0 = time.monotonic()
    m = poplib.POP3(host, port, timeout=120)
    m.stls(ctx)
    m.user(user)
    m.pass_(password)
    for i in range(1, count + 1):
        _, lines, _ = m.retr(i)
        received += sum(len(line) + 2 for line in lines)
    m.quit()
    return count, received, time.monotonic() - t0


def login(host, port, user, password, ctx, count):
    t0 = time.monotonic()
    for _ in range(count):
        with smtplib.SMTP(host, port, timeout=120) as s:
            s.starttls(context=ctx)
            s.login(user, password)
    return count, 0, time.monotonic() - t0


def main(argv):
    usage = ("usage: client_py.py send HOST PORT USER PASS CA FROM TO COUNT SIZE [FILE]\n"
             "       client_py.py pop|login HOST PORT USER PASS CA COUNT")
    mode = argv[1] if len(argv) > 1 else ""
    if not ((mode == "send" and len(argv) in (11, 12)) or (mode in ("pop", "login") and len(argv) == 8)):
        sys.exit(usage)
    host, port, user, password, ca = argv[2], int(argv[3]), argv[4], argv[5], argv[6]
    ctx = ssl.create_default_context(cafile=ca)
    if mode == "send":
        r = send(host, port, user, password, ctx, argv[7], argv[8], int(argv[9]), int(argv[10]),
                 argv[11] if len(argv) == 12 else None)
    elif mode == "pop":
        r = pop(host, port, user, password, ctx, int(argv[7]))
    else:
        r = login(host, port, user, password, ctx, int(argv[7]))
    print("result msgs=%d bytes=%d seconds=%.6f" % r, flush=True)


if __name__ == "__main__":
    main(sys.argv)
