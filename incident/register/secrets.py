"""Keys and secrets: the roster encryption key and credentials such as the SMTP password.

The roster key (32 random bytes, AES-256-GCM) lives in the OS keyring (service ``incident``, one entry
per store, named after the store's absolute path) or, where no keyring exists (a headless server, CI),
in a key file named by ``INCIDENT_KEY_FILE`` or ``key_file`` in config.toml, created with mode 0600.
Passwords live in the keyring or, where there is none, in an environment variable; never in a file.
Nothing here ever falls back to storing a key or secret in plaintext beside the data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null

from incident.errors import InputError
from incident.i18n import N_, _

SERVICE = "incident"
"""The keyring service name under which every entry is stored."""

DB_SERVICE = "incident-db"
"""The keyring service of database passwords, one entry per ``user@host`` (a register on PostgreSQL)."""

KEY_FILE_ENV = "INCIDENT_KEY_FILE"
"""Environment variable naming the key file (takes precedence over ``key_file`` in config)."""

KEY_BYTES = 32
"""Length of a roster key: AES-256."""

#: marked for the catalogue, translated where it is raised (`_(NO_KEYRING_HINT)`)
NO_KEYRING_HINT = N_(
    "no OS keyring is available here; set INCIDENT_KEY_FILE=/path/to/keyfile (created with mode 0600) "
    "or key_file in config.toml"
)


def key_file_from_env_or_config(config_key_file: str | None) -> Path | None:
    """The key file to use: ``$INCIDENT_KEY_FILE`` if set, else config's ``key_file``, else None (keyring)."""
    from_env = os.environ.get(KEY_FILE_ENV, "").strip()
    chosen = from_env or (config_key_file or "").strip()
    if not chosen:
        return None
    return Path(chosen).expanduser()


def keyring_available() -> bool:
    """Whether a usable OS keyring backend is configured (not the fail or null backend)."""
    return _usable_backend() is not None


def load_or_create_key(store_dir: Path, *, key_file: Path | None, identity: str | None = None) -> bytes:
    """The roster key of the store at `store_dir`, created on first use.

    With `key_file`, the key is read from (or created in) that file; otherwise from the OS keyring,
    one entry per store, named after the store's `identity` (its store id, which stays when the store is
    moved) or, without one, its path; a key still named after the path is found and filed under the
    identity. Raises InputError when neither is usable, never falls back to plaintext.
    """
    if key_file is not None:
        return _key_from_file(key_file)
    return _key_from_keyring(store_dir, identity)


def stable_audit_key(store_dir: Path, *, key_file: Path | None, create: bool,
                     identity: str, legacy: str | None = None) -> tuple[bytes, bool] | None:
    """The audit key named after a store's stable `identity`; a key still named the old way (`legacy`: the
    store's path when None) is found and filed under the identity, so the store keeps its key when moved."""
    found = audit_key(store_dir, key_file=key_file, create=False, identity=identity)
    if found is None:
        old = audit_key(store_dir, key_file=key_file, create=False, identity=legacy)
        if old is not None:
            refile_audit_key(old[0], key_file=key_file, identity=identity)
            found = old[0], False
    if found is None and create:
        found = audit_key(store_dir, key_file=key_file, create=True, identity=identity)
    return found


def audit_key(store_dir: Path, *, key_file: Path | None, create: bool,
              identity: str | None = None) -> tuple[bytes, bool] | None:
    """The key that binds the store's audit chain: (key, created now), or None when it has none and
    `create` is false.

    One key per store, kept like the roster key: in the OS keyring (``audit-key:<store path>``) or, where
    a key file is configured, in ``audit-<store digest>.key`` beside it (mode 0600). A register kept in a
    database names its key after the database (`identity`), so every officer's copy finds the same key.
    """
    name = identity if identity is not None else str(store_dir.expanduser().resolve())
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    if key_file is not None:
        path = key_file.expanduser().parent / f"audit-{digest}.key"
        if path.exists():
            return _key_from_file(path), False
        if not create:
            return None
        return _create_key_file(path), True
    backend = _usable_backend()
    if backend is None:
        if not create:
            return None
        raise InputError(_(NO_KEYRING_HINT))
    return _keyring_key(backend, f"audit-key:{name}", create=create,
                        lost=_("the OS keyring did not keep the audit key; {no_keyring_hint}"))


def refile_audit_key(key: bytes, *, key_file: Path | None, identity: str) -> None:
    """Keep `key` as the audit key of `identity` too (a store or register given a stable identity keeps the
    key it had under its old name); nothing is overwritten."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    if key_file is not None:
        path = key_file.expanduser().parent / f"audit-{digest}.key"
        if not path.exists():
            _create_key_file(path, key)
        return
    backend = _usable_backend()
    if backend is None:
        raise InputError(_(NO_KEYRING_HINT))
    username = f"audit-key:{identity}"
    try:
        if backend.get_password(SERVICE, username) is None:
            backend.set_password(SERVICE, username, _encode_key(key))
    except Exception as exc:  # any keyring failure: say so and name the key-file alternative
        raise InputError(_("the OS keyring failed ({name}: {exc}); {no_keyring_hint}")
                         .format(name=type(exc).__name__, exc=exc, no_keyring_hint=_(NO_KEYRING_HINT))) from exc


def get_secret(name: str, *, env_var: str) -> str | None:
    """The secret `name` (e.g. ``smtp``): from the keyring first, else from `env_var`, else None."""
    backend = _usable_backend()
    if backend is not None:
        try:
            value = backend.get_password(SERVICE, _secret_username(name))
        except Exception:  # noqa: BLE001  any backend failure means "no keyring here": the environment is the alternative
            value = None
        if value:
            return value
    from_env = os.environ.get(env_var, "")
    return from_env or None


def set_secret(name: str, value: str, *, env_var: str | None = None) -> None:
    """Store the secret `name` in the OS keyring; InputError when there is no keyring (use `env_var`)."""
    alternative = _("; set {env_var} in the environment instead").format(env_var=env_var) if env_var else ""
    _keep_secret(SERVICE, _secret_username(name), name, value, alternative)


def db_password(user: str, host: str) -> str | None:
    """The password of database user `user` at `host` kept in the OS keyring (service ``incident-db``,
    entry ``user@host``), None when there is no keyring or no such entry."""
    backend = _usable_backend()
    if backend is None:
        return None
    try:
        return backend.get_password(DB_SERVICE, f"{user}@{host}") or None
    except Exception:  # noqa: BLE001  a failing keyring is no keyring: libpq's PGPASSFILE / PGPASSWORD remain
        return None


def set_db_password(user: str, host: str, value: str) -> None:
    """Keep the password of database user `user` at `host` in the OS keyring (InputError without one)."""
    _keep_secret(DB_SERVICE, f"{user}@{host}", f"{user}@{host}", value,
                 "; give it in PGPASSFILE (~/.pgpass) or PGPASSWORD instead")


def _keep_secret(service: str, username: str, name: str, value: str, alternative: str) -> None:
    if not value:
        raise InputError(_("the secret '{name}' is empty; give a non-empty value").format(name=name))
    backend = _usable_backend()
    if backend is None:
        raise InputError(_("no OS keyring is available here to store the secret '{name}'{alternative}")
                         .format(name=name, alternative=alternative))
    try:
        backend.set_password(service, username, value)
        stored = backend.get_password(service, username)
    except Exception as exc:  # keyring backends raise many types (dbus, OS, keyring.errors)
        raise InputError(_("the OS keyring failed to store the secret '{name}': {exc}{alternative}")
                         .format(name=name, exc=exc, alternative=alternative)) from exc
    if stored != value:
        raise InputError(_("the OS keyring did not keep the secret '{name}'{alternative}")
                         .format(name=name, alternative=alternative))


# -- the roster key in a file -------------------------------------------------------------------------


def _key_from_file(path: Path) -> bytes:
    path = path.expanduser()
    if not path.exists():
        return _create_key_file(path)
    if not path.is_file():
        raise InputError(_("the key file {path} is not a regular file").format(path=path), file=path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name != "nt" and mode & 0o077:
        raise InputError(
            _("the key file {path} is readable by group or others (mode {mode:04o}); run: chmod 600 {path}")
            .format(path=path, mode=mode),
            file=path,
        )
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(_("cannot read the key file {path}: {exc}").format(path=path, exc=exc), file=path) from exc
    return _decode_key(text, origin=f"the key file {path}", file=path)


def _create_key_file(path: Path, key: bytes | None = None) -> bytes:
    """A new key file (mode 0600) holding `key`, else a new random key; a concurrent run's file wins."""
    ensure_private_dir(path.parent)
    key = key if key is not None else os.urandom(KEY_BYTES)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        return _key_from_file(path)  # created by a concurrent run: use theirs
    except OSError as exc:
        raise InputError(_("cannot create the key file {path}: {exc}").format(path=path, exc=exc), file=path) from exc
    try:
        os.write(fd, _encode_key(key).encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def ensure_private_dir(directory: Path) -> None:
    """Create `directory` and any missing parents with mode 0700 (existing ones are left alone)."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise InputError(_("cannot create the directory {d}: {exc}").format(d=d, exc=exc), file=d) from exc


# -- the roster key in the keyring ----------------------------------------------------------------------


def _key_username(store_dir: Path) -> str:
    return f"roster-key:{store_dir.expanduser().resolve()}"


def _key_from_keyring(store_dir: Path, identity: str | None = None) -> bytes:
    backend = _usable_backend()
    if backend is None:
        raise InputError(_(NO_KEYRING_HINT))
    lost = _("the OS keyring did not keep the roster key; {no_keyring_hint}")
    if identity is not None:
        named = f"roster-key:{identity}"
        found = _keyring_key(backend, named, create=False, lost=lost)
        if found is None:
            old = _keyring_key(backend, _key_username(store_dir), create=False, lost=lost)
            if old is not None:  # filed under the path before the store had an id: filed anew, kept as it was
                try:
                    backend.set_password(SERVICE, named, _encode_key(old[0]))
                except Exception as exc:  # any keyring failure: say so and name the key-file alternative
                    raise InputError(_("the OS keyring failed ({name}: {exc}); {no_keyring_hint}")
                                     .format(name=type(exc).__name__, exc=exc, no_keyring_hint=_(NO_KEYRING_HINT))) from exc
                return old[0]
        found = _keyring_key(backend, named, create=True, lost=lost)
    else:
        found = _keyring_key(backend, _key_username(store_dir), create=True, lost=lost)
    assert found is not None  # created when missing
    return found[0]


def _keyring_key(backend: keyring.backend.KeyringBackend, username: str, *, create: bool,
                 lost: str) -> tuple[bytes, bool] | None:
    """The key kept in the OS keyring under `username`, and whether it was created now; None when it is
    missing and `create` is false. A keyring that fails, or does not keep what it was given (`lost`, the
    message), is an error that names the key-file alternative."""
    try:
        existing = backend.get_password(SERVICE, username)
        if existing is not None:
            return _decode_key(existing, origin=f"the keyring entry {SERVICE}/{username}"), False
        if not create:
            return None
        key = os.urandom(KEY_BYTES)
        backend.set_password(SERVICE, username, _encode_key(key))
        stored = backend.get_password(SERVICE, username)
    except InputError:
        raise
    except Exception as exc:  # any keyring failure: say so and name the key-file alternative
        raise InputError(_("the OS keyring failed ({name}: {exc}); {no_keyring_hint}")
                         .format(name=type(exc).__name__, exc=exc, no_keyring_hint=_(NO_KEYRING_HINT))) from exc
    if stored != _encode_key(key):
        raise InputError(lost.format(no_keyring_hint=_(NO_KEYRING_HINT)))
    return key, True


def _usable_backend() -> keyring.backend.KeyringBackend | None:
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001  a broken keyring configuration is the same as none
        return None
    if isinstance(backend, (keyring.backends.fail.Keyring, keyring.backends.null.Keyring)):
        return None
    if isinstance(backend, keyring.backends.chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


def _secret_username(name: str) -> str:
    if not name or ":" in name:
        raise InputError(_("invalid secret name {name!r}; use a plain word such as 'smtp'")
                         .format(name=name))
    return f"secret:{name}"


# -- encoding ---------------------------------------------------------------------------------------------


def _encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def _decode_key(text: str, *, origin: str, file: Path | None = None) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != KEY_BYTES:
        raise InputError(
            _("{origin} does not hold a valid roster key (expected {key_bytes} bytes in URL-safe base64)")
            .format(origin=origin, key_bytes=KEY_BYTES),
            file=file,
        )
    return key
