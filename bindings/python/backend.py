"""A minimal in-tree PEP 517 build backend for the `upopmail` package.

It needs nothing but the standard library, so `pip install ./bindings/python` works on a machine
that reaches no package index. It builds a pure-Python wheel (and an sdist) of the package
directory `upopmail/` with zipfile; editable installs are not supported.
"""
import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "upopmail"
VERSION = "0.1.0"
SUMMARY = "Python bindings (ctypes) for the upopmail SMTP/POP3 component"
HERE = os.path.dirname(os.path.abspath(__file__))
DIST_INFO = "%s-%s.dist-info" % (NAME, VERSION)
WHEEL_NAME = "%s-%s-py3-none-any.whl" % (NAME, VERSION)

METADATA = (
    "Metadata-Version: 2.1\n"
    "Name: %s\n"
    "Version: %s\n"
    "Summary: %s\n"
    "Requires-Python: >=3.8\n" % (NAME, VERSION, SUMMARY)
)
WHEEL = (
    "Wheel-Version: 1.0\n"
    "Generator: upopmail-backend\n"
    "Root-Is-Purelib: true\n"
    "Tag: py3-none-any\n"
)


def _package_files():
    """(archive name, path) of every source file of the package, sorted."""
    out = []
    root = os.path.join(HERE, NAME)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(dirpath, f)
            out.append((os.path.relpath(path, HERE).replace(os.sep, "/"), path))
    return out


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d\n" % (name, digest, len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, DIST_INFO)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write(METADATA)
    with open(os.path.join(d, "WHEEL"), "w") as f:
        f.write(WHEEL)
    return DIST_INFO


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    path = os.path.join(wheel_directory, WHEEL_NAME)
    record = ""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, src in _package_files():
            with open(src, "rb") as f:
                data = f.read()
            z.writestr(arcname, data)
            record += _record_line(arcname, data)
        for name, text in (("METADATA", METADATA), ("WHEEL", WHEEL)):
            arcname = "%s/%s" % (DIST_INFO, name)
            data = text.encode()
            z.writestr(arcname, data)
            record += _record_line(arcname, data)
        record += "%s/RECORD,,\n" % DIST_INFO
        z.writestr("%s/RECORD" % DIST_INFO, record)
    return WHEEL_NAME


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, VERSION)
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        files = [("pyproject.toml", os.path.join(HERE, "pyproject.toml")),
                 ("backend.py", os.path.join(HERE, "backend.py"))] + _package_files()
        for arcname, src in files:
            t.add(src, arcname="%s/%s" % (base, arcname))
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        data = METADATA.encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return name
