#!/usr/bin/env python3
"""The peer for bench/memory.sh: Python's smtplib + email package sending the same message
(STARTTLS + AUTH PLAIN, one attachment). usage: peer_smtplib.py HOST PORT USER PASSWORD CA FROM TO FILE"""
import os
import smtplib
import ssl
import sys
from email.message import EmailMessage

host, port, user, password, ca, sender, to, path = sys.argv[1:9]
msg = EmailMessage()
msg["From"], msg["To"], msg["Subject"] = sender, to, "bench: large attachment (smtplib)"
msg.set_content("A large attachment follows.")
with open(path, "rb") as f:
    msg.add_attachment(f.read(), maintype="application", subtype="octet-stream",
                       filename=os.path.basename(path))
ctx = ssl.create_default_context(cafile=ca)
with smtplib.SMTP(host, int(port), timeout=120) as s:
    s.starttls(context=ctx)
    s.login(user, password)
    s.send_message(msg)
