#!/usr/bin/env python3
"""send_and_fetch.py -- send a message with STARTTLS + AUTH and read it back over POP3 with the
upopmail Python binding (pip install ./bindings/python, or PYTHONPATH=bindings/python).

    UPOPMAIL_PASSWORD=... python3 send_and_fetch.py --user me --addr me@example.org \
        --smtp-port 587 --pop-port 110 [--ca ca.crt] [--login] [--trace] [--keep]

Sends to --addr from --addr, polls the POP3 mailbox (STLS, then USER/PASS over TLS) until the
message is there, prints its list entry and the start of the message, and deletes it unless
--keep is given. Exits 0 when the message came back.
"""
import argparse
import os
import sys
import time
import uuid

import upopmail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="localhost")
    ap.add_argument("--smtp-port", default="587", help="submission port with STARTTLS")
    ap.add_argument("--pop-port", default="110", help="POP3 port with STLS")
    ap.add_argument("--user", required=True)
    ap.add_argument("--addr", required=True, help="sender and recipient")
    ap.add_argument("--ca", help="CA certificate to trust (default: the system store)")
    ap.add_argument("--login", action="store_true", help="AUTH LOGIN instead of AUTH PLAIN")
    ap.add_argument("--trace", action="store_true", help="protocol trace (secrets redacted)")
    ap.add_argument("--keep", action="store_true", help="do not delete the message")
    ap.add_argument("--wait", type=float, default=20, help="seconds to wait for delivery")
    args = ap.parse_args()
    password = os.environ.get("UPOPMAIL_PASSWORD")
    if not password:
        ap.error("set UPOPMAIL_PASSWORD")

    trace = (lambda server, d, line: print(server, d, line, file=sys.stderr)) if args.trace else None
    subject = "upopmail Python sample %s" % uuid.uuid4().hex
    mechanism = "SMTP=AUTH LOGIN" if args.login else "SMTP=AUTH PLAIN"
    try:
        with upopmail.Mail(ca_certificate=args.ca, timeout_ms=30000, trace=trace) as m:
            m.set_security("SMTP=STARTTLS")
            m.set_security(mechanism, user=args.user, password=password)
            m.logon_smtp("%s+%s" % (args.host, args.smtp_port))
            m.send(from_addr=args.addr, to=[args.addr], subject=subject,
                   text="Sent by samples/python/send_and_fetch.py.\n")
            print("sent %r; server said %d %s" % ((subject,) + m.smtp_response()))
            for props, info in m.security("SMTP"):
                print("driver %s: INUSE=%s" % (props, info["INUSE"]))
            m.logoff_smtp()

            deadline = time.monotonic() + args.wait
            while True:
                m.set_security("POP=STARTTLS")
                m.logon_pop("%s+%s" % (args.host, args.pop_port), args.user, password)
                entry = next((e for e in m.list_mail() if e["SUBJECT"] == subject), None)
                if entry:
                    raw = m.get_raw_mail(entry["ID"])
                    print("fetched message %d (%d bytes) from %s" % (entry["ID"], entry["SIZE"], entry["FROM"]))
                    print(raw.decode("utf-8", "replace").split("\r\n\r\n")[0])
                    if not args.keep:
                        m.delete_mail(entry["ID"])
                m.logoff_pop()
                if entry:
                    return 0
                if time.monotonic() > deadline:
                    print("the message did not arrive within %g s" % args.wait, file=sys.stderr)
                    return 1
                time.sleep(0.2)
    except upopmail.Error as e:
        print("error: %s" % e, file=sys.stderr)
        return -e.status


if __name__ == "__main__":
    sys.exit(main())
