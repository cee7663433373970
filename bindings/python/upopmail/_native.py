"""Finds and loads libupopmail.so and declares the C ABI of api/upopmail.h for ctypes.

The library is looked for in this order; the first one that loads wins:

1. ``UPOPMAIL_LIBRARY`` (the path of the library file), when set: nothing else is tried.
2. The copy bundled in a self-contained wheel (``upopmail/_bundled/lib/libupopmail.so.1``, its
   drivers in ``_bundled/lib/upopmail/drivers`` where the library finds them beside itself).
3. The library directory recorded when the package was built (``upopmail/_config.py``, written
   by the build backend from ``UPOPMAIL_PREFIX``, ``--config-settings prefix=`` or pkg-config).
4. What the dynamic loader finds: ``ctypes.util.find_library("upopmail")``, then the soname
   ``libupopmail.so.1`` and ``libupopmail.so`` (``LD_LIBRARY_PATH``, the ldconfig cache, the
   default directories).
5. The usual install directories, which need no ldconfig: /usr/local/lib (a ``cmake --install``),
   /usr/local/lib64, /usr/lib/<multiarch> (the Debian package), /usr/lib, /usr/lib64.
6. The build trees of a source checkout that holds this package (build*/core/libupopmail.so).

When none loads, the OSError says what to install or set and lists everything tried.
"""
import ctypes
import ctypes.util
import glob
import importlib
import os
import stat
import sysconfig
from typing import Iterator, List, Optional, Tuple

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

_HERE = os.path.dirname(os.path.abspath(__file__))
#: where a self-contained wheel keeps the library and, beside it, upopmail/drivers
BUNDLED_LIBDIR = os.path.join(_HERE, "_bundled", "lib")
SONAMES = ("libupopmail.so.1", "libupopmail.so")


def _recorded_libdir() -> Optional[str]:
    """The library directory the build backend recorded in _config.py, if any."""
    try:  # generated at build, never committed
        config = importlib.import_module(__name__.rpartition(".")[0] + "._config")
    except ImportError:
        return None
    libdir = getattr(config, "LIBDIR", None)
    return libdir if isinstance(libdir, str) and libdir else None


def _system_dirs() -> List[str]:
    dirs = ["/usr/local/lib", "/usr/local/lib64"]
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if isinstance(multiarch, str) and multiarch:
        dirs.append(os.path.join("/usr/lib", multiarch))
    return dirs + ["/usr/lib", "/usr/lib64"]


def _in_dir(directory: str, what: str) -> Iterator[Tuple[str, str]]:
    for soname in SONAMES:
        yield os.path.join(directory, soname), what


def _candidates() -> Iterator[Tuple[str, str]]:
    """(name or path for dlopen, where it comes from), in the order of the module docstring."""
    env = os.environ.get("UPOPMAIL_LIBRARY")
    if env:
        yield env, "UPOPMAIL_LIBRARY"
        return
    if os.path.isdir(BUNDLED_LIBDIR):
        yield from _in_dir(BUNDLED_LIBDIR, "bundled in the wheel")
    recorded = _recorded_libdir()
    if recorded:
        yield from _in_dir(recorded, "prefix recorded at install")
    found = ctypes.util.find_library("upopmail")
    if found:
        yield found, "ctypes.util.find_library"
    for soname in SONAMES:
        yield soname, "the dynamic loader's search"
    for d in _system_dirs():
        yield from _in_dir(d, "install directory")
    # a source checkout: <root>/bindings/python/upopmail/_native.py -> <root>/build*/core/
    root = os.path.abspath(os.path.join(_HERE, "..", "..", ".."))
    for path in sorted(glob.glob(os.path.join(root, "build*", "core", "libupopmail.so")),
                       key=lambda p: -os.path.getmtime(p)):
        yield path, "source checkout build tree"


def _protect_bundled() -> None:
    """The registry refuses a driver directory, manifest or library that group or others may
    write; pip extracts files with the installing user's umask. Clear those bits on what we own."""
    for dirpath, _dirs, files in os.walk(BUNDLED_LIBDIR):
        for path in [dirpath] + [os.path.join(dirpath, f) for f in files]:
            try:
                st = os.lstat(path)
                if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o022 and st.st_uid == os.geteuid():
                    os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o022)
            except OSError:
                pass


NOT_FOUND_HELP = (
    "libupopmail (the upopmail C library) was not found. Do one of these:\n"
    "  - install it from a build: cmake --install build --prefix /usr/local && sudo ldconfig\n"
    "  - install the Debian package: sudo apt-get install ./libupopmail1_*.deb\n"
    "  - point at the file: export UPOPMAIL_LIBRARY=/path/to/libupopmail.so.1\n"
    "  - for another prefix: export LD_LIBRARY_PATH=PREFIX/lib, or reinstall this package with\n"
    "    UPOPMAIL_PREFIX=PREFIX pip install ./bindings/python (the prefix is recorded)\n"
    "  - or install the self-contained wheel, which carries the library and its drivers:\n"
    "    pip wheel --config-settings bundle=true ./bindings/python\n"
    "Tried:\n  ")


def _load() -> Tuple[ctypes.CDLL, str]:
    tried = []
    for name, origin in _candidates():
        if os.sep in name and not os.path.exists(name):
            tried.append("%s (%s): no such file" % (name, origin))
            continue
        if name.startswith(BUNDLED_LIBDIR + os.sep):
            _protect_bundled()
        try:
            return ctypes.CDLL(name), origin
        except OSError as e:
            tried.append("%s (%s): %s" % (name, origin, e))
    raise OSError(NOT_FOUND_HELP + "\n  ".join(tried))


lib, LIBRARY_ORIGIN = _load()


def library_path() -> str:
    """The file the loaded library was mapped from (dladdr on one of its functions)."""
    class DlInfo(ctypes.Structure):
        _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                    ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]
    libdl = ctypes.CDLL(None)
    info = DlInfo()
    addr = ctypes.cast(lib.upop_version, ctypes.c_void_p)
    if not libdl.dladdr(addr, ctypes.byref(info)) or not info.dli_fname:
        return str(lib._name)
    return os.path.realpath(os.fsdecode(info.dli_fname))


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
    "upop_find_uidl": (_INT, [_H, _S, ctypes.POINTER(_I32)]),
    "upop_noop": (_INT, [_H, _INT]),
    "upop_reset": (_INT, [_H, _INT]),
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
