"""upopmail: send mail over SMTP and read it over POP3 with the upopmail library (ctypes).

    import upopmail
    with upopmail.Mail(ca_certificate="/path/ca.crt") as m:
        m.set_security("SMTP=STARTTLS")
        m.set_security("SMTP=AUTH PLAIN", user="me", password="secret")
        m.logon_smtp("localhost+587")
        m.send(from_addr="me@example.org", to=["you@example.org"], subject="Hi", text="Hello")

Every operation of the component is a method of `Mail`. Failures raise `upopmail.Error`, which
carries the status code, the library's sentence and, for SMTP operations, the server's last
reply. GOLD lists (byte 0x1B) are hidden: lists and dicts go in and come out, and the -16
continuation of the long outputs is done for you. Only the C ABI of api/upopmail.h is used.
"""
import ctypes
import email.message
import json
import os
import shutil
import tempfile

from . import _native
from ._native import SEP, SMTP, POP

__all__ = ["Mail", "Error", "MailMessage", "SMTP", "POP", "SEP", "version", "abi_version", "strerror",
           "drivers", "registry_add_path", "STATUS_NAMES", "join_list", "split_list"]

__version__ = "0.2.0"
_lib = _native.lib

#: The usual name of each status code (several are overloaded per operation, see upopmail.h).
STATUS_NAMES = {
    0: "OK", -1: "E_INIT", -2: "E_PARAM", -3: "E_ACTIVE", -4: "E_TIMEOUT", -5: "E_ENTRY",
    -6: "E_SIZE", -7: "E_UNSUPPORTED", -8: "E_SECURITY", -9: "E_NETWORK", -10: "E_MISC",
    -11: "E_RETRIEVAL", -12: "E_MISSING", -13: "E_FILE", -14: "E_MIME", -15: "E_QUOTA",
    -16: "E_MORE", -17: "E_CHARSET", -18: "E_MEMORY",
}

_CHUNK = 1 << 20  # buffer size for the long outputs; the -16 continuation fetches the rest


class Error(Exception):
    """A failed upopmail operation.

    status     the (negative) status code, e.g. -8
    name       its usual name, e.g. "E_SECURITY" (codes are overloaded per operation)
    sentence   upop_last_error: what failed, in words (never a secret)
    operation  the method that failed, e.g. "logon_smtp"
    reply_code, reply_text   for SMTP operations, the server's last reply (0 and "" if none)
    """

    def __init__(self, operation, status, sentence, reply_code=0, reply_text=""):
        self.operation = operation
        self.status = status
        self.name = STATUS_NAMES.get(status, "E_%d" % status)
        self.sentence = sentence
        self.reply_code = reply_code
        self.reply_text = reply_text
        text = "%s failed: %d %s: %s" % (operation, status, self.name, sentence or "(no details)")
        if reply_code:
            text += " (server: %d %s)" % (reply_code, reply_text)
        super().__init__(text)

    @property
    def reply(self):
        """The server's reply as "code text", or "" when there was none."""
        return "%d %s" % (self.reply_code, self.reply_text) if self.reply_code else ""


class MailMessage:
    """What get_mail returns: headers (dict: ID, TO, FROM, SUBJECT, DATE, PRIORITY, CC, REPLY),
    text (the plain-text body), attachments (the files written) and status (0, or the warning
    1 decoding failed, 2 a file could not be written, 3 a duplicate file name)."""

    def __init__(self, headers, text, attachments, status):
        self.headers = headers
        self.text = text
        self.attachments = attachments
        self.status = status

    def __repr__(self):
        return "MailMessage(headers=%r, text=%d chars, attachments=%r, status=%d)" % (
            self.headers, len(self.text), self.attachments, self.status)


def _b(s):
    if s is None:
        return b""
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8")


def _u(b):
    return b.decode("utf-8", errors="replace") if b else ""


def join_list(items):
    """A GOLD list from a list of strings, or from a dict as Name=Value items."""
    if isinstance(items, dict):
        items = ["%s=%s" % (k, v) for k, v in items.items()]
    return SEP.join(str(i) for i in items)


def split_list(text):
    """The items of a GOLD list ("" gives [])."""
    return text.split(SEP) if text else []


def _assoc(text):
    out = {}
    for item in split_list(text):
        name, _, value = item.partition("=")
        out[name] = value
    return out


def _addresses(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return SEP.join(value)
    return value


def _send_options(max_size, ignore_rcpt_error, notify, ret, envid):
    """The option list of Send and SendRaw (GOLD-separated)."""
    opts = {}
    if max_size:
        opts["MaxSize"] = int(max_size)
    if ignore_rcpt_error:
        opts["IgnoreRcptError"] = "True"
    if notify:
        opts["Notify"] = notify if isinstance(notify, str) else ",".join(notify)
    if ret:
        opts["Ret"] = ret
    if envid:
        opts["EnvId"] = envid
    return join_list(opts)


def version():
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _u(_lib.upop_version())


def abi_version():
    """The ABI version of the loaded library."""
    return _lib.upop_abi_version()


def strerror(status):
    """The general meaning of a status code, as an English sentence (upop_strerror)."""
    return _u(_lib.upop_strerror(int(status)))


def registry_add_path(directory):
    """Adds a directory the driver registry scans for driver manifests (before
    UPOPMAIL_DRIVER_PATH and the install directory). It must be an absolute path."""
    rc = _lib.upop_registry_add_path(_b(directory))
    if rc != 0:
        raise Error("registry_add_path", rc, _u(_lib.upop_last_error(None)))


def drivers():
    """What the driver registry found: {"drivers": [...], "rejected": [...], "paths": [...]}."""
    p = _lib.upop_drivers_json()
    if not p:
        raise MemoryError("upop_drivers_json")
    try:
        return json.loads(ctypes.string_at(p).decode("utf-8"))
    finally:
        _lib.upop_free(p)


class Mail:
    """One upopmail component instance: an SMTP session, a POP3 session, a security context
    for each, and the message being composed. Use it as a context manager (or call close()).

    Keyword arguments:
      ca_certificate  trust this CA (PEM file) for TLS: writes a TLS configuration whose default
                      profile names it and hands it over with the option "config"
      config          path of a JSON TLS configuration (option "config")
      timeout_ms, low_speed_bytes, allow_plaintext, ehlo_domain   the handle options of the
                      same names (timeout_ms bounds each whole reply; a bulk transfer ends when
                      fewer than low_speed_bytes move in a timeout_ms window)
      trace           callable(server, direction, line): the protocol trace, secrets redacted
                      (server is "SMTP" or "POP", direction '>', '<' or '*')
      progress        callable(done, total): transfer progress in bytes; return False to cancel
    """

    def __init__(self, *, ca_certificate=None, config=None, timeout_ms=None, low_speed_bytes=None,
                 allow_plaintext=None, ehlo_domain=None, trace=None, progress=None):
        h = ctypes.c_void_p()
        rc = _lib.upop_create(ctypes.byref(h))
        if rc != 0:
            raise Error("create", rc, _u(_lib.upop_last_error(None)))
        self._h = h
        self._trace_cb = None
        self._progress_cb = None
        self._callback_error = None
        #: after a send: DSN options were given but the server does not offer DSN
        self.dsn_not_requested = False
        self._tmpdir = None
        try:
            if ca_certificate is not None:
                self._tmpdir = tempfile.mkdtemp(prefix="upopmail-")
                config = os.path.join(self._tmpdir, "tls.json")
                with open(config, "w") as f:
                    json.dump({"default": {"ca_certificate": os.path.abspath(ca_certificate)}}, f)
            if config is not None:
                self.set_option("config", config)
            if timeout_ms is not None:
                self.set_option("timeout_ms", int(timeout_ms))
            if low_speed_bytes is not None:
                self.set_option("low_speed_bytes", int(low_speed_bytes))
            if allow_plaintext is not None:
                self.set_option("allow_plaintext", "true" if allow_plaintext else "false")
            if ehlo_domain is not None:
                self.set_option("ehlo_domain", ehlo_domain)
            if trace is not None:
                self.set_trace(trace)
            if progress is not None:
                self.set_progress(progress)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ lifecycle
    def close(self):
        """Logs off both sessions, closes the drivers and frees the instance. Idempotent."""
        if getattr(self, "_h", None):
            _lib.upop_destroy(self._h)
            self._h = None
        if getattr(self, "_tmpdir", None):
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def last_error(self):
        """upop_last_error: the sentence of the last failure ("" after a success)."""
        return _u(_lib.upop_last_error(self._handle()))

    def _handle(self):
        if not self._h:
            raise ValueError("the upopmail.Mail instance is closed")
        return self._h

    def _check(self, operation, rc, smtp=False):
        """Raises Error for a negative status (after a pending callback error); returns rc."""
        pending, self._callback_error = self._callback_error, None
        if rc >= 0:
            if pending is not None:
                raise pending
            return rc
        sentence = _u(_lib.upop_last_error(self._h))
        code, text = 0, ""
        if smtp:
            code, text = self._smtp_response()
        err = Error(operation, rc, sentence, code, text)
        if pending is not None:
            raise err from pending
        raise err

    # ------------------------------------------------------------ options and callbacks
    def set_option(self, name, value):
        """upop_set_option: timeout_ms, low_speed_bytes, allow_plaintext, ehlo_domain, config."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        self._check("set_option", _lib.upop_set_option(self._handle(), _b(name), _b(value)))

    def set_trace(self, fn):
        """Calls fn(server, direction, line) for every protocol line ("SMTP"/"POP", '>' sent,
        '<' received, '*' event); secrets are redacted by the library. None switches it off."""
        if fn is None:
            self._trace_cb = None
            self._check("set_trace", _lib.upop_set_trace(self._handle(), _native.TRACE_FN(), None))
            return

        def cb(_user, server, direction, line):
            try:
                fn("SMTP" if server == SMTP else "POP", direction.decode("latin-1"), _u(line))
            except BaseException as e:  # never unwind through C
                if self._callback_error is None:
                    self._callback_error = e

        self._trace_cb = _native.TRACE_FN(cb)
        self._check("set_trace", _lib.upop_set_trace(self._handle(), self._trace_cb, None))

    def set_progress(self, fn):
        """Calls fn(done, total) during Send, GetMail and GetRawMail (total 0 when unknown).
        Returning False, or raising, cancels the transfer (the exception is re-raised)."""
        if fn is None:
            self._progress_cb = None
            self._check("set_progress",
                        _lib.upop_set_progress(self._handle(), _native.PROGRESS_FN(), None))
            return

        def cb(_user, done, total):
            try:
                return 1 if fn(done, total) is False else 0
            except BaseException as e:
                if self._callback_error is None:
                    self._callback_error = e
                return 1

        self._progress_cb = _native.PROGRESS_FN(cb)
        self._check("set_progress", _lib.upop_set_progress(self._handle(), self._progress_cb, None))

    def cancel(self):
        """From any thread: the blocking call in progress returns with -4 (E_TIMEOUT)."""
        _lib.upop_cancel(self._handle())

    # ------------------------------------------------------------ security context
    def set_security(self, properties, params=None, **kwargs):
        """SetSecurity: appends a driver, e.g. set_security("SMTP=AUTH PLAIN", user=.., password=..).
        properties: "SMTP=<driver>" or "POP=<driver>", optionally with use="OPT" (keyword
        `use`) or ";USE=OPT"; "SMTP=" alone clears the context. Driver parameters come as a dict
        and/or keywords and are handed over as JSON."""
        use = kwargs.pop("use", None)
        if use:
            properties = "%s%sUSE=%s" % (properties, SEP, use)
        p = dict(params or {})
        p.update(kwargs)
        text = json.dumps(p) if p else ""
        self._check("set_security", _lib.upop_set_security(self._handle(), _b(properties), _b(text)))

    def clear_security(self, server="SMTP"):
        """Clears the SMTP or POP security context."""
        self.set_security("%s=" % server)

    def get_security(self, number, server="SMTP"):
        """GetSecurity: (properties, runtime info dict) of driver `number` (1-based) of the
        "SMTP" or "POP" context, e.g. ("SMTP=STARTTLS", {"INUSE": "TRUE"}). Error -1 if none."""
        props = ctypes.create_string_buffer(_native.PROPERTIES_MAX)
        info = ctypes.create_string_buffer(_native.RUNTIME_INFO_MAX)
        server = server.rstrip("=") + "="
        self._check("get_security", _lib.upop_get_security(
            self._handle(), number, _b(server), props, len(props), info, len(info)))
        return _u(props.value).replace(SEP, ";"), _assoc(_u(info.value))

    def security(self, server="SMTP"):
        """Every driver of a context: a list of (properties, runtime info dict)."""
        out = []
        n = 1
        while True:
            try:
                out.append(self.get_security(n, server))
            except Error as e:
                if e.status == -1:
                    return out
                raise
            n += 1

    # ------------------------------------------------------------ sessions
    def logon_smtp(self, connection):
        """LogonSMTP: connects and runs the SMTP security context. connection:
        "host+port", "TLS:host+port", "smtp://host:port" or "smtps://host:port"."""
        self._check("logon_smtp", _lib.upop_connect(self._handle(), SMTP, _b(connection), b"", b""),
                    smtp=True)

    def logoff_smtp(self):
        """LogoffSMTP: closes the drivers, sends QUIT and closes the connection."""
        self._check("logoff_smtp", _lib.upop_disconnect(self._handle(), SMTP), smtp=True)

    def logon_pop(self, connection, user="", password=""):
        """LogonMail: connects and runs the POP security context; user/password go with
        USER/PASS unless an authenticating driver was used. connection: "host+port",
        "TLS:host+port", "pop3://host:port" or "pop3s://host:port"."""
        self._check("logon_pop", _lib.upop_connect(self._handle(), POP, _b(connection), _b(user),
                                                   _b(password)))

    def logoff_pop(self):
        """LogoffMail: QUIT (which commits deletions) and closes the connection."""
        self._check("logoff_pop", _lib.upop_disconnect(self._handle(), POP))

    # ------------------------------------------------------------ composing
    def set_to(self, addresses):
        """SetToList: a list of addresses ("a@b.c" or "Name <a@b.c>") or one string."""
        self._check("set_to", _lib.upop_set_to_list(self._handle(), _b(_addresses(addresses))))

    def set_cc(self, addresses):
        """SetCCList."""
        self._check("set_cc", _lib.upop_set_cc_list(self._handle(), _b(_addresses(addresses))))

    def set_bcc(self, addresses):
        """SetBCCList."""
        self._check("set_bcc", _lib.upop_set_bcc_list(self._handle(), _b(_addresses(addresses))))

    def set_reply_to(self, address):
        """SetReplyTo."""
        self._check("set_reply_to", _lib.upop_set_reply_to(self._handle(), _b(address)))

    def set_from(self, address):
        """SetFrom."""
        self._check("set_from", _lib.upop_set_from(self._handle(), _b(address)))

    def set_subject(self, subject):
        """SetSubject (Unicode)."""
        self._check("set_subject", _lib.upop_set_subject(self._handle(), _b(subject)))

    def set_priority(self, priority):
        """SetPriority: 1 (highest) to 5 (lowest); 0 removes it."""
        self._check("set_priority", _lib.upop_set_priority(self._handle(), int(priority)))

    def set_message_id(self, message_id=None):
        """SetMessageId: the given id, or None to generate one."""
        self._check("set_message_id", _lib.upop_set_message_id(self._handle(), _b(message_id)))

    def set_message(self, text, mime_type="text/plain"):
        """SetMessage: the body of one MIME type ("text/plain" or "text/html")."""
        self._check("set_message", _lib.upop_set_message(self._handle(), _b(text),
                                                         _b("MIMEType=" + mime_type)))

    def add_attachment(self, path, mime_type=None):
        """AddAttachmentFromFile (the type comes from the extension unless given)."""
        opts = {"MIMEType": mime_type} if mime_type else {}
        self._check("add_attachment", _lib.upop_add_attachment_from_file(
            self._handle(), _b(os.fspath(path)), _b(join_list(opts))))

    def add_inline(self, path, content_id=None, mime_type=None):
        """AddInlineFromFile: an object the HTML body refers to as cid:<content_id>."""
        opts = {}
        if mime_type:
            opts["MIMEType"] = mime_type
        if content_id:
            opts["ContentID"] = content_id
        self._check("add_inline", _lib.upop_add_inline_from_file(
            self._handle(), _b(os.fspath(path)), _b(join_list(opts))))

    def send(self, *, from_addr=None, to=None, cc=None, bcc=None, reply_to=None, subject=None,
             text=None, html=None, attachments=(), priority=None, max_size=0,
             ignore_rcpt_error=False, notify=None, ret=None, envid=None):
        """Send over the open SMTP session. The keywords compose the message first (each one
        that is given replaces that part); without them the message set by the set_* methods
        goes out. Returns the number of refused recipients (0 when all were accepted; more only
        with ignore_rcpt_error=True, see recipient_details()). DSN (RFC 3461): notify ("NEVER",
        or any of "SUCCESS", "FAILURE", "DELAY", as a list or a ','-separated string), ret
        ("FULL" or "HDRS"), envid; sent when the server offers DSN, else dsn_not_requested is
        True after the send (the message went all the same)."""
        if from_addr is not None:
            self.set_from(from_addr)
        if to is not None:
            self.set_to(to)
        if cc is not None:
            self.set_cc(cc)
        if bcc is not None:
            self.set_bcc(bcc)
        if reply_to is not None:
            self.set_reply_to(reply_to)
        if subject is not None:
            self.set_subject(subject)
        if text is not None:
            self.set_message(text, "text/plain")
        if html is not None:
            self.set_message(html, "text/html")
        for a in attachments:
            self.add_attachment(a)
        if priority is not None:
            self.set_priority(priority)
        opts = _send_options(max_size, ignore_rcpt_error, notify, ret, envid)
        return self._sent("send", _lib.upop_send(self._handle(), _b(opts)))

    def _sent(self, operation, rc):
        self.dsn_not_requested = rc >= 0 and "DSN not requested" in self.last_error
        return self._check(operation, rc, smtp=True)

    def send_message(self, message, recipients=None, *, max_size=0, ignore_rcpt_error=False,
                     notify=None, ret=None, envid=None):
        """SendRaw: sends an existing message as it is: an email.message.EmailMessage (or
        Message), or its bytes. recipients: addresses (a list or a string); None takes them from
        the message's To, Cc and Bcc, and its Bcc field is removed before sending. The envelope
        sender is set_envelope_from's, else the message's Sender or From. Line ends become CRLF;
        nothing else changes (no Date or Message-ID is added). Options and the return value as
        for send()."""
        if isinstance(message, email.message.Message):
            data = message.as_bytes()
        elif isinstance(message, (bytes, bytearray, memoryview)):
            data = bytes(message)
        else:
            raise TypeError("send_message takes an email.message.Message or bytes, not %s"
                            % type(message).__name__)
        opts = _send_options(max_size, ignore_rcpt_error, notify, ret, envid)
        rcpts = _addresses(recipients)
        return self._sent("send_message", _lib.upop_send_raw(
            self._handle(), data, len(data), _b(rcpts), _b(opts)))

    def send_file(self, path, recipients=None, *, max_size=0, ignore_rcpt_error=False,
                  notify=None, ret=None, envid=None):
        """SendRawFile: sends the message stored in the file at path as it is, read while it
        is sent (memory stays flat whatever its size); otherwise as send_message()."""
        opts = _send_options(max_size, ignore_rcpt_error, notify, ret, envid)
        rcpts = _addresses(recipients)
        return self._sent("send_file", _lib.upop_send_raw_file(
            self._handle(), _b(os.fspath(path)), _b(rcpts), _b(opts)))

    def set_envelope_from(self, address):
        """SetEnvelopeFrom: the envelope sender (MAIL FROM) apart from From; "<>" the null
        reverse-path (bounces, auto-replies); None or "" back to the default."""
        self._check("set_envelope_from", _lib.upop_set_envelope_from(self._handle(), _b(address)))

    def add_header(self, name, value):
        """AddHeader: an extra header field (In-Reply-To, References, List-Unsubscribe, X-...).
        Fields the composer writes (Subject, From, Content-*...) raise Error naming the method
        that sets them; non-ASCII values are RFC 2047-encoded."""
        self._check("add_header", _lib.upop_add_header(self._handle(), _b(name), _b(value)))

    def add_attachment_data(self, data, name, mime_type=None, content_id=None):
        """AddAttachmentFromMemory: an attachment of these bytes (copied now) named name;
        content_id makes it an inline object the HTML body refers to as cid:<content_id>."""
        data = bytes(data)
        opts = {}
        if mime_type:
            opts["MIMEType"] = mime_type
        if content_id:
            opts["ContentID"] = content_id
        self._check("add_attachment_data", _lib.upop_add_attachment_from_memory(
            self._handle(), data, len(data), _b(name), _b(join_list(opts))))

    def send_mail(self, server, headers, text, attachments=(), mail_size=0):
        """SendMail, the legacy one-shot plain-text send. headers: a dict with TO and FROM
        (mandatory), CC, BCC, SUBJECT, PRIORITY, REPLY. Logs on and off around the send when
        no SMTP session is open."""
        rc = _lib.upop_send_mail(self._handle(), _b(server), _b(join_list(headers)), _b(text),
                                 _b(join_list([os.fspath(a) for a in attachments])), int(mail_size))
        return self._check("send_mail", rc, smtp=True)

    def clear_mail(self):
        """ClearMail: forgets header fields, bodies, attachments and recipient details."""
        self._check("clear_mail", _lib.upop_clear_mail(self._handle()))

    # ------------------------------------------------------------ receiving
    def _long_output(self, operation, first, more):
        buf = ctypes.create_string_buffer(_CHUNK)
        parts = []
        rc = first(buf)
        while rc == -16:
            parts.append(buf.value)
            rc = more(buf)
        self._check(operation, rc)
        parts.append(buf.value)
        return rc, b"".join(parts)

    def list_mail(self):
        """ListMail: one dict per message with NMB, ID, FROM, SUBJECT, DATE, PRIORITY, SIZE and
        UIDL (when the server has it); ID is the number to give get_mail / delete_mail."""
        h = self._handle()
        _, data = self._long_output(
            "list_mail", lambda b: _lib.upop_list_mail(h, b, len(b)),
            lambda b: _lib.upop_list_mail_x(h, b, len(b)))
        out = []
        for item in split_list(_u(data)):
            name, _, value = item.partition("=")
            if name == "NMB" or not out:
                out.append({})
            out[-1][name] = value
        for m in out:
            for k in ("NMB", "ID", "PRIORITY", "SIZE"):
                if m.get(k, "").isdigit():
                    m[k] = int(m[k])
        return out

    def get_raw_mail(self, number, mail_size=0):
        """GetRawMail: the message as stored on the server, as bytes."""
        h = self._handle()
        _, data = self._long_output(
            "get_raw_mail", lambda b: _lib.upop_get_raw_mail(h, int(number), int(mail_size), b, len(b)),
            lambda b: _lib.upop_get_raw_mail_x(h, b, len(b)))
        return data

    def get_mail(self, number, attachment_dir="", mail_size=0):
        """GetMail: fetches and decodes a message; every part but the plain text is written to
        attachment_dir. Returns a MailMessage (its status holds a warning 1-3 if any)."""
        h = self._handle()
        bufs = [ctypes.create_string_buffer(n) for n in (_native.DETAILS_MAX, _CHUNK, _native.DETAILS_MAX)]
        parts = [[], [], []]
        args = []
        for b in bufs:
            args += [b, len(b)]
        rc = _lib.upop_get_mail(h, int(number), _b(os.fspath(attachment_dir)), int(mail_size), *args)
        while rc == -16:
            for p, b in zip(parts, bufs):
                p.append(b.value)
            rc = _lib.upop_get_mail_x(h, *args)
        self._check("get_mail", rc)
        for p, b in zip(parts, bufs):
            p.append(b.value)
        headers, text, atts = (_u(b"".join(p)) for p in parts)
        return MailMessage(_assoc(headers), text, split_list(atts), rc)

    def retrieve(self, callback, numbers=None, headers_only=False):
        """upop_retrieve: streams messages to callback(number, chunk, end) as they arrive:
        chunk is bytes (un-stuffed, CRLF line ends, NUL bytes kept), end is True on the one
        call after a message's last chunk (chunk b"" then). numbers: the message numbers in
        the order wanted, or None for every message of the mailbox (one LIST). headers_only:
        TOP n 0 instead of RETR. The commands are pipelined when the server offers it, and
        memory stays flat whatever the message sizes. A callback that returns True stops the
        call (Error -10; the session goes on); one that raises stops it and the exception is
        re-raised. A message the server refuses is skipped: the others are still handed out,
        then Error -7 or -11 names it."""
        h = self._handle()
        nums = None if numbers is None else [int(n) for n in numbers]
        if nums == []:
            return 0
        arr = (ctypes.c_int32 * len(nums))(*nums) if nums else None

        def cb(_user, number, data, length, end):
            try:
                return 1 if callback(number, ctypes.string_at(data, length) if length else b"", bool(end)) else 0
            except BaseException as e:  # re-raised by _check once the call has returned
                self._callback_error = e
                return 1
        fn = _native.CHUNK_FN(cb)
        rc = _lib.upop_retrieve(h, arr, len(nums) if nums else 0,
                                _native.RETRIEVE_HEADERS if headers_only else 0, fn, None)
        if rc < 0 and self._callback_error is not None:
            pending, self._callback_error = self._callback_error, None
            raise pending
        return self._check("retrieve", rc)

    def messages(self, numbers=None, headers_only=False, batch=32):
        """Iterates the mailbox: yields (number, message bytes) in order, retrieved with
        upop_retrieve in pipelined batches of `batch` messages, so that memory holds one batch
        rather than the mailbox. numbers None: every message; their numbers come from one pass
        of TOP n 0 (which is all there is to do with headers_only). Use no other method of this
        object while iterating. A message the server refuses is left out; the Error (-7 or -11)
        of the first one is raised once the others were yielded."""
        step = max(1, int(batch))
        refused = []

        def batches(nums):
            for i in range(0, len(nums), step):
                got = {}
                try:
                    self.retrieve(lambda n, chunk, end: got.setdefault(n, []).append(chunk),
                                  nums[i:i + step], headers_only)
                except Error as e:
                    if e.status not in (-7, -11):
                        raise
                    refused.append(e)
                for n in nums[i:i + step]:
                    if n in got:
                        yield n, b"".join(got.pop(n))
            if refused:
                raise refused[0]
        if numbers is not None:
            yield from batches([int(n) for n in numbers])
            return
        heads = {}
        self.retrieve(lambda n, chunk, end: heads.setdefault(n, []).append(chunk), None, True)
        if headers_only:
            for n, parts in heads.items():
                yield n, b"".join(parts)
            return
        yield from batches(list(heads))

    def delete_mail(self, number):
        """DeleteMail: marks the message; the server removes it at logoff_pop (QUIT)."""
        self._check("delete_mail", _lib.upop_delete_mail(self._handle(), int(number)))

    # ------------------------------------------------------------ diagnostics
    def _smtp_response(self):
        code = ctypes.c_int32(0)
        buf = ctypes.create_string_buffer(_native.REPLY_MAX)
        rc = _lib.upop_get_smtp_response(self._h, ctypes.byref(code), buf, len(buf))
        if rc not in (0, -16):
            return 0, ""
        return code.value, _u(buf.value)

    def smtp_response(self):
        """GetSMTPResponse: (code, text) of the last SMTP reply; (0, "") when there was none."""
        self._handle()
        return self._smtp_response()

    def recipient_details(self):
        """GetRecipientDetails: for the last send, {"to": [...], "cc": [...], "bcc": [...]}, each
        a list of (address, reply code, reply text) of the refused recipients."""
        bufs = [ctypes.create_string_buffer(_native.DETAILS_MAX) for _ in range(3)]
        self._check("recipient_details", _lib.upop_get_recipient_details(
            self._handle(), bufs[0], len(bufs[0]), bufs[1], len(bufs[1]), bufs[2], len(bufs[2])))
        out = {}
        for key, b in zip(("to", "cc", "bcc"), bufs):
            items = split_list(_u(b.value))
            rows = []
            for i in range(0, len(items), 2):
                addr, _, code = items[i].rpartition("=")
                text = items[i + 1] if i + 1 < len(items) else ""
                rows.append((addr, int(code) if code.isdigit() else 0, text))
            out[key] = rows
        return out
