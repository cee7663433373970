#!/usr/bin/env python3
"""Independent check of a delivered message with Python's standard email package.

usage: check_message.py MESSAGE SPEC.json
SPEC: {"subject": str, "from_name": str, "to_names": [str], "plain": str, "html": str,
       "inline": [{"cid": str, "file": path}], "attachments": [{"name": str, "file": path}]}
Prints "ok" or one line per difference, and exits 0 / 1.
"""
import email
import email.policy
import json
import sys


def main():
    with open(sys.argv[1], "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    with open(sys.argv[2], encoding="utf-8") as f:
        spec = json.load(f)
    errors = []
    if msg.defects:
        errors.append("message defects: %r" % msg.defects)
    if str(msg["subject"]) != spec["subject"]:
        errors.append("subject %r != %r" % (str(msg["subject"]), spec["subject"]))
    if msg["from"].addresses[0].display_name != spec["from_name"]:
        errors.append("from name %r != %r" % (msg["from"].addresses[0].display_name, spec["from_name"]))
    to_names = [a.display_name for a in msg["to"].addresses]
    if to_names != spec["to_names"]:
        errors.append("to names %r != %r" % (to_names, spec["to_names"]))
    plain = html = None
    inline, attachments = {}, {}
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.defects:
            errors.append("part defects: %r" % part.defects)
        ctype = part.get_content_type()
        disp = part.get_content_disposition()
        data = part.get_payload(decode=True)
        if disp == "attachment":
            attachments[part.get_filename()] = data
        elif part.get("Content-ID"):
            inline[part["Content-ID"].strip("<>")] = data
        elif ctype == "text/plain" and plain is None:
            plain = data.decode(part.get_content_charset() or "ascii")
        elif ctype == "text/html" and html is None:
            html = data.decode(part.get_content_charset() or "ascii")
    norm = lambda s: None if s is None else s.replace("\r\n", "\n")
    if norm(plain) != norm(spec.get("plain")):
        errors.append("plain text differs: %r" % (plain or "")[:200])
    if norm(html) != norm(spec.get("html")):
        errors.append("html differs: %r" % (html or "")[:200])
    for item in spec.get("inline", []):
        want = open(item["file"], "rb").read()
        if inline.get(item["cid"]) != want:
            errors.append("inline %s differs or is missing (have %r)" % (item["cid"], list(inline)))
    for item in spec.get("attachments", []):
        want = open(item["file"], "rb").read()
        got = attachments.get(item["name"])
        if got != want:
            errors.append("attachment %r differs or is missing (have %r, %s bytes)"
                          % (item["name"], list(attachments), None if got is None else len(got)))
    if len(attachments) != len(spec.get("attachments", [])):
        errors.append("expected %d attachments, found %d" % (len(spec.get("attachments", [])), len(attachments)))
    print("\n".join(errors) if errors else "ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
