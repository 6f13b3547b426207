"""Where `pim login` keeps its credentials: one JSON file, readable by its owner only.

`$PIM_CONFIG_DIR`, else `$XDG_CONFIG_HOME/pim`, else `~/.config/pim`; the file is `credentials.json`
with the server, the token and when it expires. `pim logout` deletes it."""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Credentials:
    server: str
    token: str
    expires_at: str
    mfa_verified_at: str | None = None


def config_dir() -> Path:
    if os.environ.get("PIM_CONFIG_DIR"):
        return Path(os.environ["PIM_CONFIG_DIR"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "pim"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def credentials_load() -> Credentials | None:
    try:
        data = json.loads(credentials_path().read_text())
        return Credentials(**{k: data.get(k) for k in ("server", "token", "expires_at", "mfa_verified_at")})
    except (OSError, ValueError, TypeError):
        return None


def credentials_save(credentials: Credentials) -> Path:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(credentials), handle, indent=2)
    os.replace(temporary, path)  # never a half-written file, never readable by others
    return path


def credentials_delete() -> bool:
    try:
        credentials_path().unlink()
        return True
    except FileNotFoundError:
        return False
