"""A minimal in-tree PEP 517 build backend for the `upopmail` package.

It needs nothing but the standard library, so `pip install ./bindings/python` works on a machine
that reaches no package index. Editable installs are not supported.

Two kinds of wheel:

* The default, pure-Python wheel (py3-none-any) uses an installed libupopmail. When the install
  prefix is known at build time it is recorded in a generated module, `upopmail/_config.py`
  (written into the wheel only, never into the source tree), which the loader tries before the
  dynamic loader's search. The prefix comes from, in this order: `--config-settings prefix=DIR`,
  the `UPOPMAIL_PREFIX` environment variable, `pkg-config --variable=libdir upopmail`.

* The self-contained wheel (py3-none-<platform>, e.g. py3-none-linux_x86_64), asked for with
  `--config-settings bundle=true` or `UPOPMAIL_BUNDLE=1`: the backend builds the C library and
  the security drivers with CMake (-DUPOPMAIL_TESTS=OFF) from the source tree this package sits
  in (or `--config-settings source=DIR` / `UPOPMAIL_SOURCE_DIR`), installs the `lib` component
  into a staging directory and puts it in the package as the install layout has it:
  `upopmail/_bundled/lib/libupopmail.so.1` and, beside it, `upopmail/_bundled/lib/upopmail/
  drivers/` (the library's own "drivers beside the library" rule finds them). Needs cmake, a
  C/C++ compiler, ninja or make, and the build dependencies (libmbedtls-dev, nlohmann-json3-dev);
  the wheel needs the mbedTLS runtime (libmbedtls14 on Debian 12) where it is installed.
  Every file gets mode 0644 (0755 for shared objects): the driver registry refuses a manifest
  or driver that group or others may write. Other settings: `jobs=N` (default 2), `build-dir=DIR`
  (or UPOPMAIL_BUILD_DIR: a CMake build directory kept between builds, so that the next one is
  incremental; default a temporary directory).

    pip wheel --no-index --config-settings bundle=true -w dist ./bindings/python
"""
import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

NAME = "upopmail"
HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY = "Python bindings (ctypes) for the upopmail SMTP/POP3 component"


def _version():
    with open(os.path.join(HERE, "pyproject.toml")) as f:
        m = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.M)
    return m.group(1) if m else "0"


VERSION = _version()
DIST_INFO = "%s-%s.dist-info" % (NAME, VERSION)
METADATA = (
    "Metadata-Version: 2.1\n"
    "Name: %s\n"
    "Version: %s\n"
    "Summary: %s\n"
    "License: MIT\n"
    "Requires-Python: >=3.8\n" % (NAME, VERSION, SUMMARY)
)
TRUE = ("1", "true", "yes", "on")


def _setting(config_settings, key, env):
    value = (config_settings or {}).get(key)
    if value is None:
        value = os.environ.get(env)
    return value if value else None


def _bundle(config_settings):
    return (_setting(config_settings, "bundle", "UPOPMAIL_BUNDLE") or "").lower() in TRUE


def _tag(bundle):
    if not bundle:
        return "py3-none-any"
    return "py3-none-" + re.sub(r"[^A-Za-z0-9]", "_", sysconfig.get_platform())


def _wheel_text(bundle):
    return ("Wheel-Version: 1.0\n"
            "Generator: upopmail-backend\n"
            "Root-Is-Purelib: %s\n"
            "Tag: %s\n" % ("false" if bundle else "true", _tag(bundle)))


def _package_files():
    """(archive name, path) of every source file of the package, sorted."""
    out = []
    root = os.path.join(HERE, NAME)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", "_bundled"))
        for f in sorted(filenames):
            if f.endswith((".pyc", ".pyo")) or (dirpath == root and f == "_config.py"):
                continue
            path = os.path.join(dirpath, f)
            out.append((os.path.relpath(path, HERE).replace(os.sep, "/"), path))
    return out


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d\n" % (name, digest, len(data))


def _log(text):
    print("upopmail backend: " + text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the recorded prefix
def _libdir_of(prefix):
    """The directory under PREFIX that holds libupopmail.so.1 (lib, lib64 or lib/<multiarch>)."""
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for sub in ("lib", "lib64", os.path.join("lib", multiarch)):
        d = os.path.join(prefix, sub)
        if os.path.exists(os.path.join(d, "libupopmail.so.1")):
            return d
    return None


def _recorded_libdir(config_settings):
    prefix = _setting(config_settings, "prefix", "UPOPMAIL_PREFIX")
    if prefix:
        libdir = _libdir_of(os.path.abspath(prefix))
        if not libdir:
            raise RuntimeError("UPOPMAIL_PREFIX / prefix=%s holds no lib*/libupopmail.so.1" % prefix)
        return libdir
    if shutil.which("pkg-config"):
        r = subprocess.run(["pkg-config", "--variable=libdir", "upopmail"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, universal_newlines=True)
        libdir = os.path.normpath(r.stdout.strip()) if r.stdout.strip() else ""
        if r.returncode == 0 and libdir and os.path.exists(os.path.join(libdir, "libupopmail.so.1")):
            return libdir
    return None


# ------------------------------------------------------------------ the bundled library
def _source_root(config_settings):
    root = _setting(config_settings, "source", "UPOPMAIL_SOURCE_DIR") or os.path.join(HERE, "..", "..")
    root = os.path.abspath(root)
    top = os.path.join(root, "CMakeLists.txt")
    if not (os.path.exists(top) and os.path.exists(os.path.join(root, "api", "upopmail.h"))):
        raise RuntimeError(
            "bundle=true needs the upopmail source tree (CMakeLists.txt and api/upopmail.h) at %s: "
            "build from bindings/python inside a checkout, or give --config-settings source=DIR "
            "(or UPOPMAIL_SOURCE_DIR)" % root)
    return root


def _build_library(config_settings, work):
    """Builds the library and drivers with CMake; returns [(archive name, data, mode)]."""
    cmake = shutil.which("cmake")
    if not cmake:
        raise RuntimeError("bundle=true needs cmake (apt-get install cmake build-essential ninja-build "
                           "libmbedtls-dev nlohmann-json3-dev pkg-config)")
    root = _source_root(config_settings)
    build = os.path.abspath(_setting(config_settings, "build-dir", "UPOPMAIL_BUILD_DIR") or
                            os.path.join(work, "build"))
    stage = os.path.join(work, "stage")
    args = [cmake, "-S", root, "-B", build, "-DUPOPMAIL_TESTS=OFF", "-DCMAKE_BUILD_TYPE=Release",
            "-DCMAKE_INSTALL_PREFIX=/usr/local", "-DCMAKE_INSTALL_LIBDIR=lib"]
    if shutil.which("ninja"):
        args += ["-G", "Ninja"]
    if shutil.which("ccache"):
        args += ["-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"]
    jobs = _setting(config_settings, "jobs", "UPOPMAIL_BUILD_JOBS") or "2"
    _log("building the library and drivers with CMake from %s" % root)
    for cmd in (args, [cmake, "--build", build, "-j", jobs],
                [cmake, "--install", build, "--prefix", stage, "--component", "lib"]):
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    lib = os.path.join(stage, "lib")
    files = []
    real = os.path.realpath(os.path.join(lib, "libupopmail.so.1"))  # the soname; no symlinks in a wheel
    files.append(("libupopmail.so.1", real, 0o755))
    drivers = os.path.join(lib, "upopmail", "drivers")
    for f in sorted(os.listdir(drivers)):
        path = os.path.join(drivers, f)
        if f.endswith(".so"):
            files.append(("upopmail/drivers/" + f, path, 0o755))
        elif f.endswith(".json"):
            files.append(("upopmail/drivers/" + f, path, 0o644))
    if not any(a.endswith(".json") for a, _, _ in files):
        raise RuntimeError("the CMake install put no driver manifests in %s" % drivers)
    out = []
    for arc, path, mode in files:
        with open(path, "rb") as fh:
            out.append(("%s/_bundled/lib/%s" % (NAME, arc), fh.read(), mode))
    return out


# ------------------------------------------------------------------ PEP 517 hooks
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
        f.write(_wheel_text(_bundle(config_settings)))
    return DIST_INFO


def _add(z, arcname, data, mode=0o644):
    info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16  # a regular file with exactly these permissions
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)
    return _record_line(arcname, data)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    bundle = _bundle(config_settings)
    name = "%s-%s-%s.whl" % (NAME, VERSION, _tag(bundle))
    extra = []
    if bundle:
        with tempfile.TemporaryDirectory(prefix="upopmail-wheel-") as work:
            extra = _build_library(config_settings, work)
        config = "BUNDLED = True\nLIBDIR = None\n"
    else:
        libdir = _recorded_libdir(config_settings)
        if libdir:
            _log("recording the library directory %s" % libdir)
        config = "BUNDLED = False\nLIBDIR = %r\n" % libdir
    config = '"""Generated by backend.py when the wheel was built."""\n' + config
    record = ""
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for arcname, src in _package_files():
            with open(src, "rb") as f:
                record += _add(z, arcname, f.read())
        record += _add(z, NAME + "/_config.py", config.encode())
        for arcname, data, mode in extra:
            record += _add(z, arcname, data, mode)
        for meta, text in (("METADATA", METADATA), ("WHEEL", _wheel_text(bundle))):
            record += _add(z, "%s/%s" % (DIST_INFO, meta), text.encode())
        record += "%s/RECORD,,\n" % DIST_INFO
        _add(z, "%s/RECORD" % DIST_INFO, record.encode())
    return name


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
