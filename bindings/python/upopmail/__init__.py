"""upopmail: send mail over SMTP and read it over POP3 with the upopmail library (ctypes).

    import upopmail
    with upopmail.Mail(ca_certificate="/path/ca.crt") as m:
        m.set_security("SMTP=STARTTLS")
        m.set_security("SMTP=AUTH PLAIN", user="me", password="secret")
        with m.smtp_session("localhost+587"):
            m.send(from_addr="me@example.org", to=["you@example.org"], subject="Hi", text="Hello")
        m.set_security("POP=STARTTLS")
        with m.pop_session("localhost+110", "me", "secret"):
            for number, raw in m:              # the mailbox, pipelined (upop_retrieve)
                print(number, len(raw))

Every operation of the component is a method of `Mail`. Failures raise `UpopError` (alias
`Error`) or one of its subclasses, which carry the status code, the library's sentence and, for
SMTP operations, the server's last reply:

    UpopError            every failure; status, name, sentence, operation, reply_code, reply_text
    +- AuthenticationError   the server refused the credentials
    +- TlsError              TLS could not be established or is required
    +- RecipientsRefused     the server refused recipients; .refused, .addresses
    +- Timeout               a network time-out (-4)
    +- Cancelled             upop_cancel (-4), or a progress/retrieve callback stopped it (-10)
    +- ProtocolError         the server's replies do not let the operation go on

How a status maps to a class (a code is overloaded per operation, so the sentence decides
where the code alone cannot; see `error_class`):

    -8 at logon (logon_smtp, logon_pop, send_mail's implicit logon): the security context failed.
       An SMTP reply 530/534/535/538 or "refused the credentials" -> AuthenticationError; a
       sentence about TLS (a handshake, a certificate, the STARTTLS/STLS driver, credentials
       that would go out without verified TLS) -> TlsError; anything else -> ProtocolError.
       -8 "not logged on" (every other operation) stays UpopError.
    -2 "refused the logon" / "refused the credentials" (POP logon) -> AuthenticationError;
       -2 of a send whose recipients were refused -> RecipientsRefused; other -2 stay UpopError.
    -7, -9 naming TLS or the STARTTLS/STLS driver (e.g. the server lacks STARTTLS, an unusable
       TLS configuration) -> TlsError.
    -4 -> Cancelled when upop_cancel ended it ("... cancelled"), else Timeout.
    -10 stopped by the progress or chunk callback -> Cancelled; -10 with a server reply >= 400
       (DATA or the message refused) -> ProtocolError.
    -11 (the server refused a listing or message) -> ProtocolError.

GOLD lists (byte 0x1B) are hidden: lists and dicts go in and come out, and the -16
continuation of the long outputs is done for you. Numbers are int; raw mail is bytes. The
protocol trace goes to the logger "upopmail" at DEBUG when asked (`Mail(log=True)` or
`log_trace()`), secrets redacted by the library. Only the C ABI of api/upopmail.h is used.
"""
import contextlib
import ctypes
import email.message
import email.parser
import email.policy
import json
import logging
import os
import shutil
import tempfile
from typing import (Any, Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional,
                    Sequence, Tuple, Type, Union)

from . import _native
from ._native import SEP, SMTP, POP

__all__ = ["Mail", "UpopError", "Error", "AuthenticationError", "TlsError", "RecipientsRefused",
           "Timeout", "Cancelled", "ProtocolError", "error_class", "Message", "MailMessage",
           "SMTP", "POP", "SEP", "version", "abi_version", "strerror", "drivers",
           "registry_add_path", "library_path", "STATUS_NAMES", "join_list", "split_list",
           "logger"]

__version__ = "1.0.0"
_lib = _native.lib
#: the logger of the protocol trace (DEBUG records, opt-in per Mail)
logger = logging.getLogger("upopmail")

#: The usual name of each status code (several are overloaded per operation, see upopmail.h).
STATUS_NAMES = {
    0: "OK", -1: "E_INIT", -2: "E_PARAM", -3: "E_ACTIVE", -4: "E_TIMEOUT", -5: "E_ENTRY",
    -6: "E_SIZE", -7: "E_UNSUPPORTED", -8: "E_SECURITY", -9: "E_NETWORK", -10: "E_MISC",
    -11: "E_RETRIEVAL", -12: "E_MISSING", -13: "E_FILE", -14: "E_MIME", -15: "E_QUOTA",
    -16: "E_MORE", -17: "E_CHARSET", -18: "E_MEMORY",
}

_CHUNK = 1 << 20  # buffer size for the long outputs; the -16 continuation fetches the rest

#: (address, SMTP reply code, reply text) of one refused recipient
Refusal = Tuple[str, int, str]
Addresses = Union[str, Sequence[str], None]
TraceFn = Callable[[str, str, str], object]
ProgressFn = Callable[[int, int], object]
ChunkFn = Callable[[int, bytes, bool], object]


class UpopError(Exception):
    """A failed upopmail operation.

    status     the (negative) status code, e.g. -8
    name       its usual name, e.g. "E_SECURITY" (codes are overloaded per operation)
    sentence   upop_last_error: what failed, in words (never a secret)
    operation  the method that failed, e.g. "logon_smtp"
    reply_code, reply_text   for SMTP operations, the server's last reply (0 and "" if none)
    """

    def __init__(self, operation: str, status: int, sentence: str, reply_code: int = 0,
                 reply_text: str = "") -> None:
        self.operation = operation
        self.status = int(status)
        self.name = STATUS_NAMES.get(self.status, "E_%d" % self.status)
        self.sentence = sentence
        self.reply_code = int(reply_code)
        self.reply_text = reply_text
        text = "%s failed: %d %s: %s" % (operation, self.status, self.name, sentence or "(no details)")
        if reply_code:
            text += " (server: %d %s)" % (reply_code, reply_text)
        super().__init__(text)

    @property
    def reply(self) -> str:
        """The server's reply as "code text", or "" when there was none."""
        return "%d %s" % (self.reply_code, self.reply_text) if self.reply_code else ""


#: The name of releases before 0.3; `except upopmail.Error` catches every subclass too.
Error = UpopError


class AuthenticationError(UpopError):
    """The server refused the credentials (SMTP 535 and friends, POP -ERR to USER/PASS or AUTH)."""


class TlsError(UpopError):
    """TLS could not be established (handshake, certificate, STARTTLS missing) or is required
    before credentials may be sent."""


class RecipientsRefused(UpopError):
    """The server refused recipients, so nothing was sent.

    refused    [(address, reply code, reply text), ...] from upop_get_recipient_details
    addresses  the refused addresses alone
    """

    def __init__(self, operation: str, status: int, sentence: str, reply_code: int = 0,
                 reply_text: str = "", refused: Sequence[Refusal] = ()) -> None:
        super().__init__(operation, status, sentence, reply_code, reply_text)
        self.refused: List[Refusal] = list(refused)

    @property
    def addresses(self) -> List[str]:
        return [addr for addr, _, _ in self.refused]


class Timeout(UpopError):
    """A network time-out (-4): the connection is closed."""


class Cancelled(UpopError):
    """upop_cancel ended the call (-4), or a progress or chunk callback stopped it (-10)."""


class ProtocolError(UpopError):
    """The server's replies do not let the operation go on (a failed security protocol at logon,
    DATA or the message refused, a listing or message the server refused)."""


_AUTH_REPLIES = (530, 534, 535, 538)


def _mentions_tls(sentence: str) -> bool:
    s = sentence.lower()
    return any(w in s for w in ("tls", "certificate", "handshake", "'starttls'", "'stls'",
                                "would send credentials"))


def error_class(status: int, sentence: str, reply_code: int = 0) -> Type[UpopError]:
    """The exception class for a status, its sentence and the last SMTP reply (module docstring)."""
    s = sentence.lower()
    if status == -4:
        return Cancelled if "cancelled" in s else Timeout
    if status == -8:
        if "not logged on" in s:
            return UpopError
        if reply_code in _AUTH_REPLIES or "refused the credentials" in s:
            return AuthenticationError
        return TlsError if _mentions_tls(sentence) else ProtocolError
    if status == -2:
        if "refused the logon" in s or "refused the credentials" in s:
            return AuthenticationError
        if "recipient" in s and "refused" in s:
            return RecipientsRefused
        return UpopError
    if status in (-7, -9) and _mentions_tls(sentence):
        return TlsError
    if status == -10:
        if "callback" in s and ("cancelled" in s or "stopped" in s):
            return Cancelled
        return ProtocolError if reply_code >= 400 else UpopError
    if status == -11:
        return ProtocolError
    return UpopError


class Message(NamedTuple):
    """One message of the mailbox as the iterator yields it: its number and raw bytes."""
    number: int
    data: bytes

    def email(self) -> email.message.EmailMessage:
        """The message parsed by the standard library (email.policy.default)."""
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(self.data)
        assert isinstance(msg, email.message.EmailMessage)
        return msg


class MailMessage:
    """What get_mail returns: headers (dict: ID, TO, FROM, SUBJECT, DATE, PRIORITY, CC, REPLY),
    text (the plain-text body), attachments (the files written) and status (0, or the warning
    1 decoding failed, 2 a file could not be written, 3 a duplicate file name)."""

    def __init__(self, headers: Dict[str, str], text: str, attachments: List[str], status: int) -> None:
        self.headers = headers
        self.text = text
        self.attachments = attachments
        self.status = status

    def __repr__(self) -> str:
        return "MailMessage(headers=%r, text=%d chars, attachments=%r, status=%d)" % (
            self.headers, len(self.text), self.attachments, self.status)


def _b(s: Union[str, bytes, int, None]) -> bytes:
    if s is None:
        return b""
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8")


def _u(b: Optional[bytes]) -> str:
    return b.decode("utf-8", errors="replace") if b else ""


def join_list(items: Union[Mapping[str, object], Sequence[object]]) -> str:
    """A GOLD list from a list of strings, or from a dict as Name=Value items."""
    if isinstance(items, Mapping):
        items = ["%s=%s" % (k, v) for k, v in items.items()]
    return SEP.join(str(i) for i in items)


def split_list(text: str) -> List[str]:
    """The items of a GOLD list ("" gives [])."""
    return text.split(SEP) if text else []


def _assoc(text: str) -> Dict[str, str]:
    out = {}
    for item in split_list(text):
        name, _, value = item.partition("=")
        out[name] = value
    return out


def _addresses(value: Addresses) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return SEP.join(value)


def _send_options(max_size: int, ignore_rcpt_error: bool, notify: Union[str, Sequence[str], None],
                  ret: Optional[str], envid: Optional[str]) -> str:
    """The option list of Send and SendRaw (GOLD-separated)."""
    opts: Dict[str, object] = {}
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


def version() -> str:
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _u(_lib.upop_version())


def abi_version() -> int:
    """The ABI version of the loaded library."""
    return int(_lib.upop_abi_version())


def strerror(status: int) -> str:
    """The general meaning of a status code, as an English sentence (upop_strerror)."""
    return _u(_lib.upop_strerror(int(status)))


def library_path() -> str:
    """The file of the loaded libupopmail (see _native for the search order)."""
    return _native.library_path()


def registry_add_path(directory: Union[str, "os.PathLike[str]"]) -> None:
    """Adds a directory the driver registry scans for driver manifests (before
    UPOPMAIL_DRIVER_PATH and the install directory). It must be an absolute path."""
    rc = int(_lib.upop_registry_add_path(_b(os.fspath(directory))))
    if rc != 0:
        sentence = _u(_lib.upop_last_error(None))
        raise error_class(rc, sentence)("registry_add_path", rc, sentence)


def drivers() -> Dict[str, Any]:
    """What the driver registry found: {"drivers": [...], "rejected": [...], "paths": [...]}."""
    p = _lib.upop_drivers_json()
    if not p:
        raise MemoryError("upop_drivers_json")
    try:
        out: Dict[str, Any] = json.loads(ctypes.string_at(p).decode("utf-8"))
        return out
    finally:
        _lib.upop_free(p)


class Mail:
    """One upopmail component instance: an SMTP session, a POP3 session, a security context
    for each, and the message being composed. Use it as a context manager (or call close()):
    leaving the block logs off both sessions (QUIT) and frees the instance.

    Keyword arguments:
      ca_certificate  trust this CA (PEM file) for TLS: writes a TLS configuration whose default
                      profile names it and hands it over with the option "config"
      config          path of a JSON TLS configuration (option "config")
      timeout_ms, low_speed_bytes, allow_plaintext, ehlo_domain   the handle options of the
                      same names (timeout_ms bounds each whole reply; a bulk transfer ends when
                      fewer than low_speed_bytes move in a timeout_ms window)
      trace           callable(server, direction, line): the protocol trace, secrets redacted
                      (server is "SMTP" or "POP", direction '>', '<' or '*')
      log             True: the trace also goes to the logger "upopmail" at DEBUG (log_trace);
                      or a logging.Logger to use instead
      progress        callable(done, total): transfer progress in bytes; return False to cancel
    """

    def __init__(self, *, ca_certificate: Optional[Union[str, "os.PathLike[str]"]] = None,
                 config: Optional[Union[str, "os.PathLike[str]"]] = None,
                 timeout_ms: Optional[int] = None, low_speed_bytes: Optional[int] = None,
                 allow_plaintext: Optional[bool] = None, ehlo_domain: Optional[str] = None,
                 trace: Optional[TraceFn] = None, log: Union[bool, logging.Logger] = False,
                 progress: Optional[ProgressFn] = None) -> None:
        h = ctypes.c_void_p()
        self._h: Optional[ctypes.c_void_p] = None
        self._tmpdir: Optional[str] = None
        rc = int(_lib.upop_create(ctypes.byref(h)))
        if rc != 0:
            sentence = _u(_lib.upop_last_error(None))
            raise error_class(rc, sentence)("create", rc, sentence)
        self._h = h
        self._trace_fn: Optional[TraceFn] = None
        self._trace_logger: Optional[logging.Logger] = None
        self._trace_cb: Any = None
        self._progress_cb: Any = None
        self._callback_error: Optional[BaseException] = None
        #: after a send: DSN options were given but the server does not offer DSN
        self.dsn_not_requested = False
        try:
            if ca_certificate is not None:
                self._tmpdir = tempfile.mkdtemp(prefix="upopmail-")
                config = os.path.join(self._tmpdir, "tls.json")
                with open(config, "w") as f:
                    json.dump({"default": {"ca_certificate": os.path.abspath(ca_certificate)}}, f)
            if config is not None:
                self.set_option("config", os.fspath(config))
            if timeout_ms is not None:
                self.set_option("timeout_ms", int(timeout_ms))
            if low_speed_bytes is not None:
                self.set_option("low_speed_bytes", int(low_speed_bytes))
            if allow_plaintext is not None:
                self.set_option("allow_plaintext", bool(allow_plaintext))
            if ehlo_domain is not None:
                self.set_option("ehlo_domain", ehlo_domain)
            if trace is not None:
                self.set_trace(trace)
            if log:
                self.log_trace(True, log if isinstance(log, logging.Logger) else None)
            if progress is not None:
                self.set_progress(progress)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Logs off both sessions, closes the drivers and frees the instance. Idempotent."""
        if getattr(self, "_h", None):
            _lib.upop_destroy(self._h)
            self._h = None
        if getattr(self, "_tmpdir", None):
            shutil.rmtree(str(self._tmpdir), ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> "Mail":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def last_error(self) -> str:
        """upop_last_error: the sentence of the last failure ("" after a success)."""
        return _u(_lib.upop_last_error(self._handle()))

    def _handle(self) -> ctypes.c_void_p:
        if not self._h:
            raise ValueError("the upopmail.Mail instance is closed")
        return self._h

    def _check(self, operation: str, rc: int, smtp: bool = False) -> int:
        """Raises the UpopError subclass for a negative status (error_class; after a pending
        callback error, which becomes its __cause__ or is raised itself); returns rc."""
        rc = int(rc)
        pending, self._callback_error = self._callback_error, None
        if rc >= 0:
            if pending is not None:
                raise pending
            return rc
        sentence = _u(_lib.upop_last_error(self._h))
        code, text = 0, ""
        if smtp:
            code, text = self._smtp_response()
        cls = error_class(rc, sentence, code)
        err: UpopError
        if cls is RecipientsRefused:
            details = self._recipient_details()
            refused = [r for key in ("to", "cc", "bcc") for r in details.get(key, [])]
            err = RecipientsRefused(operation, rc, sentence, code, text, refused)
        else:
            err = cls(operation, rc, sentence, code, text)
        if pending is not None:
            raise err from pending
        raise err

    # ------------------------------------------------------------ options and callbacks
    def set_option(self, name: str, value: Union[str, int, bool]) -> None:
        """upop_set_option: timeout_ms, low_speed_bytes, allow_plaintext, ehlo_domain, config."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        self._check("set_option", _lib.upop_set_option(self._handle(), _b(name), _b(value)))

    def set_trace(self, fn: Optional[TraceFn]) -> None:
        """Calls fn(server, direction, line) for every protocol line ("SMTP"/"POP", '>' sent,
        '<' received, '*' event); secrets are redacted by the library. None switches it off
        (the logging of log_trace goes on if it is on)."""
        self._trace_fn = fn
        self._install_trace()

    def log_trace(self, enabled: bool = True, logger_: Optional[logging.Logger] = None) -> None:
        """Sends the protocol trace to logging: one DEBUG record per line on the logger
        "upopmail" (or logger_), as "SMTP > EHLO host"; secrets are redacted by the library.
        The record's extra fields: upop_server, upop_direction, upop_line. Off with False."""
        self._trace_logger = (logger_ or logger) if enabled else None
        self._install_trace()

    def _install_trace(self) -> None:
        fn, log = self._trace_fn, self._trace_logger
        if fn is None and log is None:
            self._trace_cb = None
            self._check("set_trace", _lib.upop_set_trace(self._handle(), _native.TRACE_FN(0), None))
            return

        def cb(_user: object, server: int, direction: bytes, line: Optional[bytes]) -> None:
            try:
                name, d, text = "SMTP" if server == SMTP else "POP", direction.decode("latin-1"), _u(line)
                if log is not None and log.isEnabledFor(logging.DEBUG):
                    log.debug("%s %s %s", name, d, text,
                              extra={"upop_server": name, "upop_direction": d, "upop_line": text})
                if fn is not None:
                    fn(name, d, text)
            except BaseException as e:  # never unwind through C
                if self._callback_error is None:
                    self._callback_error = e

        self._trace_cb = _native.TRACE_FN(cb)
        self._check("set_trace", _lib.upop_set_trace(self._handle(), self._trace_cb, None))

    def set_progress(self, fn: Optional[ProgressFn]) -> None:
        """Calls fn(done, total) during Send, GetMail and GetRawMail (total 0 when unknown).
        Returning False, or raising, cancels the transfer (the exception is re-raised)."""
        if fn is None:
            self._progress_cb = None
            self._check("set_progress",
                        _lib.upop_set_progress(self._handle(), _native.PROGRESS_FN(0), None))
            return
        f = fn

        def cb(_user: object, done: int, total: int) -> int:
            try:
                return 1 if f(done, total) is False else 0
            except BaseException as e:
                if self._callback_error is None:
                    self._callback_error = e
                return 1

        self._progress_cb = _native.PROGRESS_FN(cb)
        self._check("set_progress", _lib.upop_set_progress(self._handle(), self._progress_cb, None))

    def cancel(self) -> None:
        """From any thread: the blocking call in progress raises Cancelled (-4)."""
        _lib.upop_cancel(self._handle())

    # ------------------------------------------------------------ security context
    def set_security(self, properties: str, params: Optional[Mapping[str, object]] = None,
                     **kwargs: object) -> None:
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

    def clear_security(self, server: str = "SMTP") -> None:
        """Clears the SMTP or POP security context."""
        self.set_security("%s=" % server)

    def get_security(self, number: int, server: str = "SMTP") -> Tuple[str, Dict[str, str]]:
        """GetSecurity: (properties, runtime info dict) of driver `number` (1-based) of the
        "SMTP" or "POP" context, e.g. ("SMTP=STARTTLS", {"INUSE": "TRUE"}). Error -1 if none."""
        props = ctypes.create_string_buffer(_native.PROPERTIES_MAX)
        info = ctypes.create_string_buffer(_native.RUNTIME_INFO_MAX)
        server = server.rstrip("=") + "="
        self._check("get_security", _lib.upop_get_security(
            self._handle(), int(number), _b(server), props, len(props), info, len(info)))
        return _u(props.value).replace(SEP, ";"), _assoc(_u(info.value))

    def security(self, server: str = "SMTP") -> List[Tuple[str, Dict[str, str]]]:
        """Every driver of a context: a list of (properties, runtime info dict)."""
        out = []
        n = 1
        while True:
            try:
                out.append(self.get_security(n, server))
            except UpopError as e:
                if e.status == -1:
                    return out
                raise
            n += 1

    # ------------------------------------------------------------ sessions
    def logon_smtp(self, connection: str) -> None:
        """LogonSMTP: connects and runs the SMTP security context. connection:
        "host+port", "TLS:host+port", "smtp://host:port" or "smtps://host:port"."""
        self._check("logon_smtp", _lib.upop_connect(self._handle(), SMTP, _b(connection), b"", b""),
                    smtp=True)

    def logoff_smtp(self) -> None:
        """LogoffSMTP: closes the drivers, sends QUIT and closes the connection."""
        self._check("logoff_smtp", _lib.upop_disconnect(self._handle(), SMTP), smtp=True)

    def logon_pop(self, connection: str, user: str = "", password: str = "") -> None:
        """LogonMail: connects and runs the POP security context; user/password go with
        USER/PASS unless an authenticating driver was used. connection: "host+port",
        "TLS:host+port", "pop3://host:port" or "pop3s://host:port"."""
        self._check("logon_pop", _lib.upop_connect(self._handle(), POP, _b(connection), _b(user),
                                                   _b(password)))

    def logoff_pop(self) -> None:
        """LogoffMail: QUIT (which commits deletions) and closes the connection."""
        self._check("logoff_pop", _lib.upop_disconnect(self._handle(), POP))

    @contextlib.contextmanager
    def smtp_session(self, connection: str) -> Iterator["Mail"]:
        """with m.smtp_session("host+587"): ... logs on (logon_smtp) and off (logoff_smtp) again,
        also when the block raises (then a failing logoff does not hide the exception)."""
        self.logon_smtp(connection)
        with self._logging_off(self.logoff_smtp):
            yield self

    @contextlib.contextmanager
    def pop_session(self, connection: str, user: str = "", password: str = "") -> Iterator["Mail"]:
        """with m.pop_session("host+110", user, password): ... logs on (logon_pop) and off
        (logoff_pop, which commits deletions) again, also when the block raises."""
        self.logon_pop(connection, user, password)
        with self._logging_off(self.logoff_pop):
            yield self

    @contextlib.contextmanager
    def _logging_off(self, logoff: Callable[[], None]) -> Iterator[None]:
        try:
            yield
        except BaseException:
            with contextlib.suppress(UpopError, ValueError):
                logoff()
            raise
        logoff()

    @staticmethod
    def _server(server: Union[int, str]) -> int:
        if server in (SMTP, "SMTP", "smtp"):
            return SMTP
        if server in (POP, "POP", "pop", "POP3", "pop3"):
            return POP
        raise ValueError("server must be upopmail.SMTP or upopmail.POP, not %r" % (server,))

    def noop(self, server: Union[int, str]) -> None:
        """upop_noop: a keep-alive NOOP on the open session of server (upopmail.SMTP or
        upopmail.POP)."""
        s = self._server(server)
        self._check("noop", _lib.upop_noop(self._handle(), s), smtp=s == SMTP)

    def reset(self, server: Union[int, str]) -> None:
        """upop_reset: RSET on the open session of server. POP: the messages deleted in this
        session stay in the mailbox (with their numbers); SMTP: ends a pending transaction."""
        s = self._server(server)
        self._check("reset", _lib.upop_reset(self._handle(), s), smtp=s == SMTP)

    # ------------------------------------------------------------ composing
    def set_to(self, addresses: Addresses) -> None:
        """SetToList: a list of addresses ("a@b.c" or "Name <a@b.c>") or one string."""
        self._check("set_to", _lib.upop_set_to_list(self._handle(), _b(_addresses(addresses))))

    def set_cc(self, addresses: Addresses) -> None:
        """SetCCList."""
        self._check("set_cc", _lib.upop_set_cc_list(self._handle(), _b(_addresses(addresses))))

    def set_bcc(self, addresses: Addresses) -> None:
        """SetBCCList."""
        self._check("set_bcc", _lib.upop_set_bcc_list(self._handle(), _b(_addresses(addresses))))

    def set_reply_to(self, address: str) -> None:
        """SetReplyTo."""
        self._check("set_reply_to", _lib.upop_set_reply_to(self._handle(), _b(address)))

    def set_from(self, address: str) -> None:
        """SetFrom."""
        self._check("set_from", _lib.upop_set_from(self._handle(), _b(address)))

    def set_subject(self, subject: str) -> None:
        """SetSubject (Unicode)."""
        self._check("set_subject", _lib.upop_set_subject(self._handle(), _b(subject)))

    def set_priority(self, priority: int) -> None:
        """SetPriority: 1 (highest) to 5 (lowest); 0 removes it."""
        self._check("set_priority", _lib.upop_set_priority(self._handle(), int(priority)))

    def set_message_id(self, message_id: Optional[str] = None) -> None:
        """SetMessageId: the given id, or None to generate one."""
        self._check("set_message_id", _lib.upop_set_message_id(self._handle(), _b(message_id)))

    def set_message(self, text: str, mime_type: str = "text/plain") -> None:
        """SetMessage: the body of one MIME type ("text/plain" or "text/html")."""
        self._check("set_message", _lib.upop_set_message(self._handle(), _b(text),
                                                         _b("MIMEType=" + mime_type)))

    def add_attachment(self, path: Union[str, "os.PathLike[str]"], mime_type: Optional[str] = None) -> None:
        """AddAttachmentFromFile (the type comes from the extension unless given)."""
        opts = {"MIMEType": mime_type} if mime_type else {}
        self._check("add_attachment", _lib.upop_add_attachment_from_file(
            self._handle(), _b(os.fspath(path)), _b(join_list(opts))))

    def add_inline(self, path: Union[str, "os.PathLike[str]"], content_id: Optional[str] = None,
                   mime_type: Optional[str] = None) -> None:
        """AddInlineFromFile: an object the HTML body refers to as cid:<content_id>."""
        opts = {}
        if mime_type:
            opts["MIMEType"] = mime_type
        if content_id:
            opts["ContentID"] = content_id
        self._check("add_inline", _lib.upop_add_inline_from_file(
            self._handle(), _b(os.fspath(path)), _b(join_list(opts))))

    def send(self, *, from_addr: Optional[str] = None, to: Addresses = None, cc: Addresses = None,
             bcc: Addresses = None, reply_to: Optional[str] = None, subject: Optional[str] = None,
             text: Optional[str] = None, html: Optional[str] = None,
             attachments: Sequence[Union[str, "os.PathLike[str]"]] = (), priority: Optional[int] = None,
             max_size: int = 0, ignore_rcpt_error: bool = False,
             notify: Union[str, Sequence[str], None] = None, ret: Optional[str] = None,
             envid: Optional[str] = None) -> int:
        """Send over the open SMTP session. The keywords compose the message first (each one
        that is given replaces that part); without them the message set by the set_* methods
        goes out. Returns the number of refused recipients (0 when all were accepted; more only
        with ignore_rcpt_error=True, see recipient_details()). Without ignore_rcpt_error a
        refused recipient raises RecipientsRefused (nothing was sent). DSN (RFC 3461): notify
        ("NEVER", or any of "SUCCESS", "FAILURE", "DELAY", as a list or a ','-separated string),
        ret ("FULL" or "HDRS"), envid; sent when the server offers DSN, else dsn_not_requested
        is True after the send (the message went all the same)."""
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

    def _sent(self, operation: str, rc: int) -> int:
        self.dsn_not_requested = rc >= 0 and "DSN not requested" in self.last_error
        return self._check(operation, int(rc), smtp=True)

    def send_message(self, message: Union[email.message.Message, bytes, bytearray, memoryview],
                     recipients: Addresses = None, *, max_size: int = 0, ignore_rcpt_error: bool = False,
                     notify: Union[str, Sequence[str], None] = None, ret: Optional[str] = None,
                     envid: Optional[str] = None) -> int:
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

    def send_file(self, path: Union[str, "os.PathLike[str]"], recipients: Addresses = None, *,
                  max_size: int = 0, ignore_rcpt_error: bool = False,
                  notify: Union[str, Sequence[str], None] = None, ret: Optional[str] = None,
                  envid: Optional[str] = None) -> int:
        """SendRawFile: sends the message stored in the file at path as it is, read while it
        is sent (memory stays flat whatever its size); otherwise as send_message()."""
        opts = _send_options(max_size, ignore_rcpt_error, notify, ret, envid)
        rcpts = _addresses(recipients)
        return self._sent("send_file", _lib.upop_send_raw_file(
            self._handle(), _b(os.fspath(path)), _b(rcpts), _b(opts)))

    def set_envelope_from(self, address: Optional[str]) -> None:
        """SetEnvelopeFrom: the envelope sender (MAIL FROM) apart from From; "<>" the null
        reverse-path (bounces, auto-replies); None or "" back to the default."""
        self._check("set_envelope_from", _lib.upop_set_envelope_from(self._handle(), _b(address)))

    def add_header(self, name: str, value: str) -> None:
        """AddHeader: an extra header field (In-Reply-To, References, List-Unsubscribe, X-...).
        Fields the composer writes (Subject, From, Content-*...) raise Error naming the method
        that sets them; non-ASCII values are RFC 2047-encoded."""
        self._check("add_header", _lib.upop_add_header(self._handle(), _b(name), _b(value)))

    def add_attachment_data(self, data: Union[bytes, bytearray, memoryview], name: str,
                            mime_type: Optional[str] = None, content_id: Optional[str] = None) -> None:
        """AddAttachmentFromMemory: an attachment of these bytes (copied now) named name;
        content_id makes it an inline object the HTML body refers to as cid:<content_id>."""
        raw = bytes(data)
        opts: Dict[str, object] = {}
        if mime_type:
            opts["MIMEType"] = mime_type
        if content_id:
            opts["ContentID"] = content_id
        self._check("add_attachment_data", _lib.upop_add_attachment_from_memory(
            self._handle(), raw, len(raw), _b(name), _b(join_list(opts))))

    def send_mail(self, server: str, headers: Mapping[str, object], text: str,
                  attachments: Sequence[Union[str, "os.PathLike[str]"]] = (), mail_size: int = 0) -> int:
        """SendMail, the legacy one-shot plain-text send. headers: a dict with TO and FROM
        (mandatory), CC, BCC, SUBJECT, PRIORITY, REPLY. Logs on and off around the send when
        no SMTP session is open."""
        rc = _lib.upop_send_mail(self._handle(), _b(server), _b(join_list(headers)), _b(text),
                                 _b(join_list([os.fspath(a) for a in attachments])), int(mail_size))
        return self._check("send_mail", rc, smtp=True)

    def clear_mail(self) -> None:
        """ClearMail: forgets header fields, bodies, attachments and recipient details."""
        self._check("clear_mail", _lib.upop_clear_mail(self._handle()))

    # ------------------------------------------------------------ receiving
    def _long_output(self, operation: str, first: Callable[[Any], int],
                     more: Callable[[Any], int]) -> Tuple[int, bytes]:
        buf = ctypes.create_string_buffer(_CHUNK)
        parts = []
        rc = int(first(buf))
        while rc == -16:
            parts.append(buf.value)
            rc = int(more(buf))
        self._check(operation, rc)
        parts.append(buf.value)
        return rc, b"".join(parts)

    def list_mail(self) -> List[Dict[str, Any]]:
        """ListMail: one dict per message with NMB, ID, FROM, SUBJECT, DATE, PRIORITY, SIZE and
        UIDL (when the server has it); ID is the number to give get_mail / delete_mail. NMB, ID,
        PRIORITY and SIZE are int, the others str."""
        h = self._handle()
        _, data = self._long_output(
            "list_mail", lambda b: int(_lib.upop_list_mail(h, b, len(b))),
            lambda b: int(_lib.upop_list_mail_x(h, b, len(b))))
        out: List[Dict[str, Any]] = []
        for item in split_list(_u(data)):
            name, _, value = item.partition("=")
            if name == "NMB" or not out:
                out.append({})
            out[-1][name] = value
        for m in out:
            for k in ("NMB", "ID", "PRIORITY", "SIZE"):
                v = m.get(k, "")
                if isinstance(v, str) and v.isdigit():
                    m[k] = int(v)
        return out

    def get_raw_mail(self, number: int, mail_size: int = 0) -> bytes:
        """GetRawMail: the message as stored on the server, as bytes (it always was bytes;
        decode with .decode("utf-8", "replace") for text). The C call hands out a C string, so a
        message with a NUL byte ends before it: fetch(), messages() and retrieve() give every
        byte."""
        h = self._handle()
        _, data = self._long_output(
            "get_raw_mail", lambda b: int(_lib.upop_get_raw_mail(h, int(number), int(mail_size), b, len(b))),
            lambda b: int(_lib.upop_get_raw_mail_x(h, b, len(b))))
        return data

    def get_mail(self, number: int, attachment_dir: Union[str, "os.PathLike[str]"] = "",
                 mail_size: int = 0) -> MailMessage:
        """GetMail: fetches and decodes a message; every part but the plain text is written to
        attachment_dir. Returns a MailMessage (its status holds a warning 1-3 if any)."""
        h = self._handle()
        bufs = [ctypes.create_string_buffer(n) for n in (_native.DETAILS_MAX, _CHUNK, _native.DETAILS_MAX)]
        parts: List[List[bytes]] = [[], [], []]
        args: List[Any] = []
        for b in bufs:
            args += [b, len(b)]
        rc = int(_lib.upop_get_mail(h, int(number), _b(os.fspath(attachment_dir)), int(mail_size), *args))
        while rc == -16:
            for p, b in zip(parts, bufs):
                p.append(b.value)
            rc = int(_lib.upop_get_mail_x(h, *args))
        self._check("get_mail", rc)
        for p, b in zip(parts, bufs):
            p.append(b.value)
        headers, text, atts = (_u(b"".join(p)) for p in parts)
        return MailMessage(_assoc(headers), text, split_list(atts), rc)

    def retrieve(self, callback: ChunkFn, numbers: Optional[Sequence[int]] = None,
                 headers_only: bool = False) -> int:
        """upop_retrieve: streams messages to callback(number, chunk, end) as they arrive:
        chunk is bytes (un-stuffed, CRLF line ends, NUL bytes kept), end is True on the one
        call after a message's last chunk (chunk b"" then). numbers: the message numbers in
        the order wanted, or None for every message of the mailbox (one LIST). headers_only:
        TOP n 0 instead of RETR. The commands are pipelined when the server offers it, and
        memory stays flat whatever the message sizes. A callback that returns True stops the
        call (Cancelled, -10; the session goes on); one that raises stops it and the exception
        is re-raised. A message the server refuses is skipped: the others are still handed out,
        then UpopError -7 or ProtocolError -11 names it."""
        h = self._handle()
        nums = None if numbers is None else [int(n) for n in numbers]
        if nums == []:
            return 0
        arr = (ctypes.c_int32 * len(nums))(*nums) if nums else None

        def cb(_user: object, number: int, data: Any, length: int, end: int) -> int:
            try:
                return 1 if callback(number, ctypes.string_at(data, length) if length else b"", bool(end)) else 0
            except BaseException as e:  # re-raised by _check once the call has returned
                self._callback_error = e
                return 1
        fn = _native.CHUNK_FN(cb)
        rc = int(_lib.upop_retrieve(h, arr, len(nums) if nums else 0,
                                    _native.RETRIEVE_HEADERS if headers_only else 0, fn, None))
        if rc < 0 and self._callback_error is not None:
            pending, self._callback_error = self._callback_error, None
            raise pending
        return self._check("retrieve", rc)

    def messages(self, numbers: Optional[Sequence[int]] = None, headers_only: bool = False,
                 batch: int = 32) -> Iterator[Message]:
        """Iterates the mailbox: yields Message(number, data bytes) in order (a NamedTuple, so
        `for number, raw in m.messages()` works; .email() parses it), retrieved with
        upop_retrieve in pipelined batches of `batch` messages, so that memory holds one batch
        rather than the mailbox. numbers None: every message; their numbers come from one pass
        of TOP n 0 (which is all there is to do with headers_only). Use no other method of this
        object while iterating. A message the server refuses is left out; the error (-7 or -11)
        of the first one is raised once the others were yielded."""
        step = max(1, int(batch))
        refused: List[UpopError] = []

        def batches(nums: List[int]) -> Iterator[Message]:
            for i in range(0, len(nums), step):
                got: Dict[int, List[bytes]] = {}
                try:
                    self.retrieve(lambda n, chunk, end: got.setdefault(n, []).append(chunk),
                                  nums[i:i + step], headers_only)
                except UpopError as e:
                    if e.status not in (-7, -11):
                        raise
                    refused.append(e)
                for n in nums[i:i + step]:
                    if n in got:
                        yield Message(n, b"".join(got.pop(n)))
            if refused:
                raise refused[0]
        if numbers is not None:
            yield from batches([int(n) for n in numbers])
            return
        heads: Dict[int, List[bytes]] = {}
        self.retrieve(lambda n, chunk, end: heads.setdefault(n, []).append(chunk), None, True)
        if headers_only:
            for n, parts in heads.items():
                yield Message(n, b"".join(parts))
            return
        yield from batches(list(heads))

    def mailbox(self, headers_only: bool = False, batch: int = 32) -> Iterator[Message]:
        """Every message of the open POP3 session: messages(None, headers_only, batch)."""
        return self.messages(None, headers_only, batch)

    def __iter__(self) -> Iterator[Message]:
        """`for number, raw in m:` iterates the mailbox of the open POP3 session (mailbox())."""
        return self.messages()

    def delete_mail(self, number: int) -> None:
        """DeleteMail: marks the message; the server removes it at logoff_pop (QUIT)."""
        self._check("delete_mail", _lib.upop_delete_mail(self._handle(), int(number)))

    def fetch(self, number: int) -> bytes:
        """The message as stored on the server (CRLF lines, un-stuffed), as bytes of its true
        length: NUL bytes and all (upop_retrieve of one message). A message the server refuses
        raises Error -11."""
        parts: List[bytes] = []
        self.retrieve(lambda n, chunk, end: parts.append(chunk), [int(number)])
        return b"".join(parts)

    def fetch_message(self, number: int) -> "email.message.EmailMessage":
        """The message parsed by Python's email package: an email.message.EmailMessage
        (policy email.policy.default), from fetch()'s bytes."""
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(self.fetch(number))
        assert isinstance(msg, email.message.EmailMessage)
        return msg

    def find_uidl(self, uidl: str) -> int:
        """upop_find_uidl: this session's message number of the message with that unique-id
        (UIDL; stable across sessions, unlike numbers). Error -7 when it is not in the mailbox,
        -11 when the server has no UIDL or its listing is malformed."""
        nr = ctypes.c_int32(0)
        self._check("find_uidl", _lib.upop_find_uidl(self._handle(), _b(uidl), ctypes.byref(nr)))
        return int(nr.value)

    def get_by_uidl(self, uidl: str) -> bytes:
        """fetch() of the message with that unique-id: its bytes, of their true length."""
        return self.fetch(self.find_uidl(uidl))

    def message_by_uidl(self, uidl: str) -> "email.message.EmailMessage":
        """fetch_message() of the message with that unique-id: an EmailMessage."""
        return self.fetch_message(self.find_uidl(uidl))

    def delete_by_uidl(self, uidl: str) -> None:
        """delete_mail() of the message with that unique-id (Error -7 when it is not there)."""
        self.delete_mail(self.find_uidl(uidl))

    # ------------------------------------------------------------ diagnostics
    def _smtp_response(self) -> Tuple[int, str]:
        code = ctypes.c_int32(0)
        buf = ctypes.create_string_buffer(_native.REPLY_MAX)
        rc = int(_lib.upop_get_smtp_response(self._h, ctypes.byref(code), buf, len(buf)))
        if rc not in (0, -16):
            return 0, ""
        return int(code.value), _u(buf.value)

    def smtp_response(self) -> Tuple[int, str]:
        """GetSMTPResponse: (code, text) of the last SMTP reply; (0, "") when there was none."""
        self._handle()
        return self._smtp_response()

    def _recipient_details(self) -> Dict[str, List[Refusal]]:
        """recipient_details() for _check: {} when the call fails (the first error wins)."""
        try:
            return self.recipient_details()
        except UpopError:
            return {}

    def recipient_details(self) -> Dict[str, List[Refusal]]:
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
