import os, time, uuid, upopmail; E = os.environ; subject = "quickstart " + uuid.uuid4().hex  # pip install ./bindings/python
with upopmail.Mail(ca_certificate=E["MAILTEST_CA"]) as m:
    m.set_security("SMTP=STARTTLS"); m.set_security("SMTP=AUTH PLAIN", user=E["MAILTEST_USER"], password=E["MAILTEST_PASS"])
    m.logon_smtp("localhost+" + E["PORT_SUBMISSION"]); m.send(from_addr=E["MAILTEST_ADDR"], to=E["MAILTEST_ADDR"], subject=subject, text="Hi!"); m.logoff_smtp()
    for _ in range(100):                            # delivery is asynchronous: poll up to ~20 s
        m.set_security("POP=STARTTLS"); m.logon_pop("localhost+" + E["PORT_POP3"], E["MAILTEST_USER"], E["MAILTEST_PASS"])
        found = [x["ID"] for x in m.list_mail() if x["SUBJECT"] == subject]; raw = m.get_raw_mail(found[0]) if found else b""; m.logoff_pop()
        if found: print(raw.decode()); break
        time.sleep(0.2)
    else: raise SystemExit("not delivered")
