#!/usr/bin/env python3
"""Parses a composed message with Python's standard email package (the reference reader for the
unit tests in test_mime_compose.cpp) and prints what it found as JSON.

usage: mime_check.py OUT_DIR MESSAGE_FILE...
Prints a JSON array, one object per message. The decoded bytes of message M's leaf parts are
written to OUT_DIR/m<M>/part<N> (N counts leaves in order). (One run for many messages: starting
Python is the slow part.)"""
import email
import email.header
import email.utils
import email.policy
import json
import os
import sys


def structure(part):
    if part.is_multipart():
        return part.get_content_type() + "(" + ",".join(structure(p) for p in part.iter_parts()) + ")"
    return part.get_content_type()


def check(msg_path, out_dir):
    with open(msg_path, "rb") as f:
        raw = f.read()
    with open(msg_path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)

    def addresses(name):
        h = msg[name]
        if h is None:
            return []
        return [{"display": a.display_name, "addr": a.addr_spec} for a in h.addresses]

    legacy = email.message_from_bytes(raw)  # compat32: raw header values

    def addresses_rfc2047(name):
        # the legacy decoder, which (unlike the address parser of policy.default) drops the
        # blanks between adjacent encoded words as RFC 2047 section 6.2 says
        values = [str(email.header.make_header(email.header.decode_header(v))) for v in legacy.get_all(name, [])]
        return [{"display": d, "addr": a} for d, a in email.utils.getaddresses(values)]

    lines = raw.split(b"\r\n")
    result = {
        "subject": str(msg["subject"]) if msg["subject"] is not None else None,
        "from": addresses("from"),
        "to": addresses("to"),
        "cc": addresses("cc"),
        "from_2047": addresses_rfc2047("from"),
        "to_2047": addresses_rfc2047("to"),
        "date": msg["date"] is not None,
        "mime_version": str(msg["mime-version"]) if msg["mime-version"] else None,
        "message_id": str(msg["message-id"]) if msg["message-id"] else None,
        "structure": structure(msg),
        "max_line": max(len(l) for l in lines),
        "bare_lf": raw.replace(b"\r\n", b"").count(b"\n"),
        "bare_cr": raw.replace(b"\r\n", b"").count(b"\r"),
        "defects": [],
        "parts": [],
    }
    n = 0
    for part in msg.walk():
        result["defects"] += [type(d).__name__ for d in part.defects]
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True) or b""
        with open(os.path.join(out_dir, "part%d" % n), "wb") as f:
            f.write(data)
        cid = part["content-id"]
        result["parts"].append({
            "type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "cte": part.get("content-transfer-encoding", ""),
            "disposition": part.get_content_disposition(),
            "filename": part.get_filename(),
            "name": part["content-type"].params.get("name") if part["content-type"] is not None else None,
            "cid": str(cid) if cid is not None else None,
            "size": len(data),
        })
        n += 1
    return result


def main():
    out_root = sys.argv[1]
    results = []
    for m, path in enumerate(sys.argv[2:]):
        out_dir = os.path.join(out_root, "m%d" % m)
        os.makedirs(out_dir, exist_ok=True)
        results.append(check(path, out_dir))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
