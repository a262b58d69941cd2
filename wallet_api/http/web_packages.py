"""The pages' front-end packages: fetched from the npm registry at install time, exactly as the
lockfile pins them, and never kept in the repository.

`package-lock.json` beside the pages names each package's version and its integrity hash; this
installer downloads each tarball, refuses it unless its SHA-512 matches, and unpacks it into
`node_modules` the way `npm ci` would (none of these packages has an install script), so no
Node.js is needed to run the service. `make run` calls it; a second call with the same lockfile
does nothing."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path, PurePosixPath

PAGES = Path(__file__).parent / "pages"
NODE_MODULES = PAGES / "node_modules"
LOCKFILE = PAGES / "package-lock.json"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
_STAMP = ".lockfile-sha256"
# npm's package names: lower case, an optional @scope, no path tricks.
_NPM_NAME = re.compile(r"(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*")


class PackageError(Exception):
    pass


def tarball_url(registry: str, name: str, version: str) -> str:
    # A scoped package's tarball is named without its scope: @scope/name -> name-1.0.0.tgz.
    return f"{registry.rstrip('/')}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def check_integrity(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise PackageError(f"unsupported integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise PackageError("the tarball does not match the lockfile's integrity hash")


def package_name(key: str) -> str:
    """The package a lockfile entry installs, refused unless it is an npm name (so that it
    cannot name a folder outside `node_modules`)."""
    name = key.removeprefix("node_modules/")
    if not _NPM_NAME.fullmatch(name):
        raise PackageError(f"{key!r} is not a package of node_modules")
    return name


def unpack(data: bytes, destination: Path) -> None:
    """Unpack an npm tarball's `package/` folder as `destination`: regular files and folders
    only, never a path outside it; unpacked beside it first, so that a failure leaves the
    package as it was."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".unpacking-") as work:
        unpacked = Path(work) / "package"
        unpacked.mkdir()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive.getmembers():
                parts = PurePosixPath(member.name).parts
                if not member.isfile() or len(parts) < 2 or ".." in parts or parts[0] == "/":
                    continue
                target = unpacked.joinpath(*parts[1:])
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
        if destination.exists():
            shutil.rmtree(destination)
        unpacked.rename(destination)


def install(lockfile: Path = LOCKFILE, node_modules: Path = NODE_MODULES) -> list[str]:
    """Install what the lockfile pins; returns the packages fetched (none when up to date)."""
    lock_bytes = lockfile.read_bytes()
    digest = hashlib.sha256(lock_bytes).hexdigest()
    stamp = node_modules / _STAMP
    if stamp.exists() and stamp.read_text() == digest:
        return []
    registry = os.environ.get("NPM_CONFIG_REGISTRY", DEFAULT_REGISTRY)
    fetched = []
    for key, entry in json.loads(lock_bytes)["packages"].items():
        if not key.startswith("node_modules/"):
            continue
        name = package_name(key)
        url = entry.get("resolved") or tarball_url(registry, name, entry["version"])
        if not url.startswith(("https://", "http://")):
            raise PackageError(f"{name}: {url!r} is not a registry address")
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - checked above
            data = response.read()
        check_integrity(data, entry["integrity"])
        unpack(data, node_modules / name)
        fetched.append(f"{name}@{entry['version']}")
    stamp.write_text(digest)
    return fetched


def main() -> None:
    try:
        fetched = install()
    except (PackageError, OSError, KeyError, ValueError) as error:
        sys.exit(f"front-end packages: {error}")
    if fetched:
        print("front-end packages:", ", ".join(fetched))


if __name__ == "__main__":
    main()
