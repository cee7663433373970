"""Finds and loads libupopmail.so and declares the C ABI of api/upopmail.h for ctypes.

Search order: the UPOPMAIL_LIBRARY environment variable (a file path), the system's library
search (an installed library: LD_LIBRARY_PATH, ldconfig, the usual prefixes), then the build
trees of a source checkout that holds this package (build*/core/libupopmail.so).
"""
import ctypes
import ctypes.util
import glob
import os

SEP = "\x1b"  # the GOLD list separator (UPOP_SEP)
SMTP = 1
POP = 2

PROPERTIES_MAX = 256
RUNTIME_INFO_MAX = 1024
REPLY_MAX = 512
DETAILS_MAX = 102400

TRACE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char, ctypes.c_char_p)
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)
#: upop_retrieve's chunk callback; data as a pointer, not c_char_p, so that NUL bytes survive
CHUNK_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_char),
                            ctypes.c_size_t, ctypes.c_int)
RETRIEVE_HEADERS = 1


def _candidates():
    env = os.environ.get("UPOPMAIL_LIBRARY")
    if env:
        yield env
        return
    found = ctypes.util.find_library("upopmail")
    if found:
        yield found
    yield "libupopmail.so"  # LD_LIBRARY_PATH and the loader's cache
    for prefix in ("/usr/local/lib", "/usr/local/lib64", "/usr/lib", "/usr/lib64"):
        yield os.path.join(prefix, "libupopmail.so")
    # a source checkout: <root>/bindings/python/upopmail/_native.py -> <root>/build*/core/
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    for path in sorted(glob.glob(os.path.join(root, "build*", "core", "libupopmail.so")),
                       key=lambda p: -os.path.getmtime(p)):
        yield path


def _load():
    tried = []
    for name in _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append("%s (%s)" % (name, e))
    raise OSError("libupopmail.so not found: install upopmail, or set UPOPMAIL_LIBRARY to the "
                  "library's path. Tried: " + "; ".join(tried))


lib = _load()

_H = ctypes.c_void_p
_S = ctypes.c_char_p
_BUF = ctypes.c_char_p
_SZ = ctypes.c_size_t
_I32 = ctypes.c_int32
_I64 = ctypes.c_int64
_INT = ctypes.c_int

_SIGNATURES = {
    "upop_create": (_INT, [ctypes.POINTER(_H)]),
    "upop_destroy": (None, [_H]),
    "upop_version": (_S, []),
    "upop_abi_version": (_INT, []),
    "upop_last_error": (_S, [_H]),
    "upop_strerror": (_S, [_INT]),
    "upop_set_security": (_INT, [_H, _S, _S]),
    "upop_get_security": (_INT, [_H, _I32, _S, _BUF, _SZ, _BUF, _SZ]),
    "upop_connect": (_INT, [_H, _INT, _S, _S, _S]),
    "upop_disconnect": (_INT, [_H, _INT]),
    "upop_set_to_list": (_INT, [_H, _S]),
    "upop_set_cc_list": (_INT, [_H, _S]),
    "upop_set_bcc_list": (_INT, [_H, _S]),
    "upop_set_reply_to": (_INT, [_H, _S]),
    "upop_set_from": (_INT, [_H, _S]),
    "upop_set_subject": (_INT, [_H, _S]),
    "upop_set_priority": (_INT, [_H, _I32]),
    "upop_set_message_id": (_INT, [_H, _S]),
    "upop_set_message": (_INT, [_H, _S, _S]),
    "upop_add_attachment_from_file": (_INT, [_H, _S, _S]),
    "upop_add_inline_from_file": (_INT, [_H, _S, _S]),
    "upop_send": (_INT, [_H, _S]),
    "upop_send_raw": (_INT, [_H, ctypes.c_char_p, _SZ, _S, _S]),
    "upop_send_raw_file": (_INT, [_H, _S, _S, _S]),
    "upop_set_envelope_from": (_INT, [_H, _S]),
    "upop_add_header": (_INT, [_H, _S, _S]),
    "upop_add_attachment_from_memory": (_INT, [_H, ctypes.c_char_p, _SZ, _S, _S]),
    "upop_send_mail": (_INT, [_H, _S, _S, _S, _S, _I64]),
    "upop_clear_mail": (_INT, [_H]),
    "upop_list_mail": (_INT, [_H, _BUF, _SZ]),
    "upop_list_mail_x": (_INT, [_H, _BUF, _SZ]),
    "upop_get_mail": (_INT, [_H, _I32, _S, _I64, _BUF, _SZ, _BUF, _SZ, _BUF, _SZ]),
    "upop_get_mail_x": (_INT, [_H, _BUF, _SZ, _BUF, _SZ, _BUF, _SZ]),
    "upop_get_raw_mail": (_INT, [_H, _I32, _I64, _BUF, _SZ]),
    "upop_get_raw_mail_x": (_INT, [_H, _BUF, _SZ]),
    "upop_delete_mail": (_INT, [_H, _I32]),
    "upop_retrieve": (_INT, [_H, ctypes.POINTER(_I32), _SZ, _INT, CHUNK_FN, ctypes.c_void_p]),
    "upop_get_smtp_response": (_INT, [_H, ctypes.POINTER(_I32), _BUF, _SZ]),
    "upop_get_recipient_details": (_INT, [_H, _BUF, _SZ, _BUF, _SZ, _BUF, _SZ]),
    "upop_set_option": (_INT, [_H, _S, _S]),
    "upop_set_trace": (_INT, [_H, TRACE_FN, ctypes.c_void_p]),
    "upop_set_progress": (_INT, [_H, PROGRESS_FN, ctypes.c_void_p]),
    "upop_cancel": (_INT, [_H]),
    "upop_registry_add_path": (_INT, [_S]),
    "upop_drivers_json": (ctypes.c_void_p, []),
    "upop_free": (None, [ctypes.c_void_p]),
}

for _name, (_res, _args) in _SIGNATURES.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args
