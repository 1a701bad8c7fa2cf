"""Vendor the web app's JavaScript from the npm registry: no CDN at run time.

Fetches each package's tarball at the pinned version, checks it against the registry's
SHA-512 integrity, and copies the files the app serves plus the licence into
``src/smartfactory/web/static/vendor/``; ``VENDOR.toml`` there records what came from where.

    python scripts/update_vendor.py                 # the pinned versions below
    python scripts/update_vendor.py echarts=6.1.0   # move one package to another version
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parents[1] / "src" / "smartfactory" / "web" / "static" / "vendor"

# package -> (version, {file in the tarball: name served under /static/vendor/})
PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    "htmx.org": ("2.0.8", {"package/dist/htmx.min.js": "htmx.min.js", "package/LICENSE": "htmx.LICENSE.txt"}),
    "echarts": (
        "6.1.0",
        {
            "package/dist/echarts.min.js": "echarts.min.js",
            "package/LICENSE": "echarts.LICENSE.txt",
            "package/NOTICE": "echarts.NOTICE.txt",
        },
    ),
    # the OpenAPI page at /docs, which FastAPI would otherwise load from a CDN
    "swagger-ui-dist": (
        "5.32.0",
        {
            "package/swagger-ui-bundle.js": "swagger-ui-bundle.js",
            "package/swagger-ui.css": "swagger-ui.css",
            "package/LICENSE": "swagger-ui.LICENSE.txt",
        },
    ),
}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        data: bytes = response.read()
        return data


def vendor(name: str, version: str, files: dict[str, str]) -> dict[str, str]:
    """Download one package at one version and copy its files; returns its VENDOR.toml entry."""
    meta = json.loads(_get(f"{REGISTRY}/{name}/{version}"))
    tarball = _get(meta["dist"]["tarball"])
    algorithm, _, expected = meta["dist"]["integrity"].partition("-")
    if algorithm != "sha512" or base64.b64encode(hashlib.sha512(tarball).digest()).decode() != expected:
        raise SystemExit(f"{name}@{version}: the tarball does not match the registry's integrity")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for inner, served in files.items():
            member = archive.extractfile(inner)
            if member is None:
                raise SystemExit(f"{name}@{version} has no {inner}")
            (VENDOR / served).write_bytes(member.read())
    return {
        "version": version,
        "tarball": meta["dist"]["tarball"],
        "integrity": meta["dist"]["integrity"],
        "license": str(meta.get("license", "")),
        "files": ", ".join(files.values()),
    }


def main(argv: list[str]) -> None:
    """Vendor every package, with versions overridden by ``name=version`` arguments."""
    chosen = dict(PACKAGES)
    for arg in argv:
        name, _, version = arg.partition("=")
        if name not in chosen or not version:
            raise SystemExit(f"usage: update_vendor.py [{'|'.join(PACKAGES)}=VERSION ...]")
        chosen[name] = (version, chosen[name][1])
    VENDOR.mkdir(parents=True, exist_ok=True)
    lines = [
        "# written by scripts/update_vendor.py; the files beside this one came from the npm registry",
        "",
    ]
    for name, (version, files) in chosen.items():
        entry = vendor(name, version, files)
        lines.append(f'["{name}"]')
        lines.extend(f'{key} = "{value}"' for key, value in entry.items())
        lines.append("")
        print(f"{name}@{version}: {entry['files']}")
    (VENDOR / "VENDOR.toml").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
