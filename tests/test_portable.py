"""The store runs where there is no fcntl (Windows): the lock comes from filelock, modes degrade."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from incident.fsutil import LockBusy, file_lock

REPO = Path(__file__).resolve().parents[1]


def _without_fcntl(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    prelude = "import sys\nsys.modules['fcntl'] = None  # `import fcntl` now raises ImportError\n"
    env = {**os.environ, "INCIDENT_HOME": str(tmp_path / "store"),
           "INCIDENT_KEY_FILE": str(tmp_path / "keys" / "k"), "INCIDENT_ACTOR": "tester"}
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)


def test_no_module_imports_fcntl_at_module_level(tmp_path: Path) -> None:
    result = _without_fcntl("""
        import importlib, pkgutil, incident
        names = [m.name for m in pkgutil.walk_packages(incident.__path__, "incident.")]
        for name in names:
            importlib.import_module(name)
        print(len(names))
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 50


def test_the_store_works_with_fcntl_unavailable(tmp_path: Path) -> None:
    result = _without_fcntl("""
        import json
        import filelock
        from incident.cli import cli
        def run(*args):
            try:
                cli.main(args=list(args), prog_name="incident", standalone_mode=False)
            except SystemExit as exc:
                assert not exc.code, (args, exc.code)
        run("init")
        run("new", "--title", "t", "--type", "misdirected-email", "--discovered-at", "2024-06-03", "--persons", "3")
        run("set", "2024-0001", "persons=4")
        run("log", "2024-0001", "called the recipient")
        run("audit", "verify")
        print(json.dumps({"lock": filelock.FileLock.__name__}))
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"lock": "SoftFileLock"}
    assert "persons = 4" in (tmp_path / "store" / "incidents" / "2024-0001.toml").read_text()


def test_a_held_lock_is_reported_busy_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / ".lock"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from incident.fsutil import file_lock
        with file_lock(Path({str(path)!r})):
            print("held", flush=True)
            sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        try:
            with file_lock(path, wait=False):
                raise AssertionError("the lock was not exclusive")
        except LockBusy:
            pass
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    with file_lock(path, wait=False):
        pass  # free again once the holder is gone


def test_a_mail_merge_runs_without_the_posix_only_open_flags(tmp_path: Path) -> None:
    """Windows has no O_NOFOLLOW, O_DIRECTORY, O_CLOEXEC, fchmod or dir_fd: the merge module imports and
    writes one private file per person by path there (checked here by removing them from `os`)."""
    result = _without_fcntl("""
        import os
        for name in ("O_NOFOLLOW", "O_DIRECTORY", "O_CLOEXEC", "fchmod"):
            if hasattr(os, name):
                delattr(os, name)
        os.supports_dir_fd = set()
        from pathlib import Path
        from datetime import datetime, UTC
        from incident.notices import mailmerge
        assert not mailmerge._DIR_FD
        out = Path("letters")
        out.mkdir(mode=0o700)
        with mailmerge._Sink(out, None, datetime.now(UTC)) as sink:
            sink.put("p000001.txt", "山田 太郎 様".encode())
            sink.put("p000002.txt", b"second")
            sink.put("p000001.txt", "山田 太郎 様 (again)".encode())
            sink.finish()
        print(sorted(p.name for p in out.iterdir()), (out / "p000001.txt").read_text(encoding="utf-8"))
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['p000001.txt', 'p000002.txt'] 山田 太郎 様 (again)"
