"""The pages' front-end packages: installed exactly as the lockfile pins them, or not at all."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from wallet_api.http.web_packages import LOCKFILE, PackageError, install, tarball_url


def tarball(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            link = tarfile.TarInfo(name)
            link.type = tarfile.SYMTYPE
            link.linkname = target
            archive.addfile(link)
    return buffer.getvalue()


def files_below(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if not path.is_dir()}


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def registry() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A registry on this machine serving whatever tarballs the test puts in it."""
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = served.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", served
    server.shutdown()
    server.server_close()


def lockfile(path: Path, packages: dict[str, dict[str, str]]) -> Path:
    body = {"lockfileVersion": 3, "packages": {"": {}, **packages}}
    path.write_text(json.dumps(body))
    return path


def test_the_repository_pins_every_package_with_its_hash() -> None:
    packages = json.loads(LOCKFILE.read_text())["packages"]
    pinned = {key: entry for key, entry in packages.items() if key}
    assert pinned, "the pages load packages from the registry"
    for key, entry in pinned.items():
        assert entry["integrity"].startswith("sha512-"), key
        assert entry["version"][0].isdigit(), key


def test_a_package_is_unpacked_once_and_only_when_its_hash_matches(
    registry: tuple[str, dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, served = registry
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", url)
    good = tarball(
        {
            "package/dist/tool.js": b"export const tool = 1;",
            "package/../../escape.js": b"outside",
            "package/dist/../../../escape.js": b"outside",
            "/absolute.js": b"outside",
        },
        links={"package/dist/secrets": "/etc/passwd", "package/up": "../../.."},
    )
    served["/@scope/tool/-/tool-1.2.3.tgz"] = good
    lock = lockfile(
        tmp_path / "package-lock.json",
        {"node_modules/@scope/tool": {"version": "1.2.3", "integrity": integrity(good)}},
    )
    modules = tmp_path / "node_modules"
    assert install(lock, modules) == ["@scope/tool@1.2.3"]
    assert (modules / "@scope/tool/dist/tool.js").read_bytes() == b"export const tool = 1;"
    # Only the package's own regular file: no escape, no link, nothing else anywhere.
    assert files_below(tmp_path) == {
        "package-lock.json",
        "node_modules/.lockfile-sha256",
        "node_modules/@scope/tool/dist/tool.js",
    }
    assert install(lock, modules) == []  # the same lockfile: nothing fetched again

    served["/@scope/tool/-/tool-1.2.3.tgz"] = tarball({"package/dist/tool.js": b"tampered"})
    lock.write_text(lock.read_text() + "\n")  # a changed lockfile is installed anew
    with pytest.raises(PackageError, match="integrity"):
        install(lock, modules)
    # The refused download left the installed package as it was.
    assert (modules / "@scope/tool/dist/tool.js").read_bytes() == b"export const tool = 1;"


def test_a_lockfile_cannot_name_a_folder_outside_node_modules(tmp_path: Path) -> None:
    for key in ("node_modules/../../home", "node_modules/a/../../b", "node_modules/UPPER"):
        lock = lockfile(
            tmp_path / "package-lock.json",
            {key: {"version": "1.0.0", "integrity": "sha512-x"}},
        )
        with pytest.raises(PackageError, match="not a package"):
            install(lock, tmp_path / "node_modules")
    assert files_below(tmp_path) == {"package-lock.json"}


def test_a_tarball_address_names_the_package_without_its_scope() -> None:
    assert tarball_url("https://r.test/", "@a/b", "1.0.0") == "https://r.test/@a/b/-/b-1.0.0.tgz"
    assert tarball_url("https://r.test", "jsqr", "1.4.0") == "https://r.test/jsqr/-/jsqr-1.4.0.tgz"
