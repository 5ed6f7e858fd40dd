"""Every setting, from the environment (LINLI_*), with embedded defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import msgspec

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The service's configuration; read once at start-up."""

    state_dir: Path
    database_url: str | None
    redis_url: str | None
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8000
    https: bool = False
    debug: bool = False
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    token_days: int = 30
    login_attempts_per_15min: int = 5
    default_locale: str = "zh_CN"
    solver_time_limit_s: float = 20.0
    job_timeout_s: int = 60
    checkin_window_minutes: int = 60
    checkout_tolerance_minutes: int = 30
    timebank_cap_hours: int = 1500
    # Notifications (api/services/notifications.py): which sender delivers them, and where email and SMS go.
    notify_sender: str = "log"
    notify_max_attempts: int = 5
    smtp_url: str | None = None
    smtp_from: str = "linli@localhost"
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    # Respite visits a week by care level ("level:visits,…"; Shanghai LTC insurance) and what carers must hold: a
    # certificate kind, or "skill:<code>" for a skill.
    respite_visits_by_care_level: str = "2:3,3:3,4:5,5:7,6:7"
    respite_certificate: str = "elderly_carer"


def _state_dir() -> Path:
    return Path(os.environ.get("LINLI_STATE_DIR", str(REPO_ROOT / ".state"))).resolve()


def _secret_key(state_dir: Path) -> str:
    """The LINLI_SECRET_KEY, or one generated once into the state folder and reused after."""
    given = os.environ.get("LINLI_SECRET_KEY")
    if given:
        return given
    path = state_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: if two processes race at first start, both end up reading the one key that won.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings() -> Settings:
    """Settings from LINLI_* environment variables over the defaults."""
    state_dir = _state_dir()
    env = os.environ.get
    return Settings(
        state_dir=state_dir,
        database_url=env("LINLI_DATABASE_URL") or None,
        redis_url=env("LINLI_REDIS_URL") or None,
        secret_key=_secret_key(state_dir),
        host=env("LINLI_HOST", "127.0.0.1"),
        port=int(env("LINLI_PORT", "8000")),
        https=_flag("LINLI_HTTPS", False),
        debug=_flag("LINLI_DEBUG", False),
        session_idle_minutes=int(env("LINLI_SESSION_IDLE_MINUTES", "30")),
        session_absolute_hours=int(env("LINLI_SESSION_ABSOLUTE_HOURS", "12")),
        token_days=int(env("LINLI_TOKEN_DAYS", "30")),
        login_attempts_per_15min=int(env("LINLI_LOGIN_ATTEMPTS_PER_15MIN", "5")),
        default_locale=env("LINLI_DEFAULT_LOCALE", "zh_CN"),
        solver_time_limit_s=float(env("LINLI_SOLVER_TIME_LIMIT_S", "20")),
        job_timeout_s=int(env("LINLI_JOB_TIMEOUT_S", "60")),
        checkin_window_minutes=int(env("LINLI_CHECKIN_WINDOW_MINUTES", "60")),
        checkout_tolerance_minutes=int(env("LINLI_CHECKOUT_TOLERANCE_MINUTES", "30")),
        timebank_cap_hours=int(env("LINLI_TIMEBANK_CAP_HOURS", "1500")),
        notify_sender=env("LINLI_NOTIFY_SENDER", "log"),
        notify_max_attempts=int(env("LINLI_NOTIFY_MAX_ATTEMPTS", "5")),
        smtp_url=env("LINLI_SMTP_URL") or None,
        smtp_from=env("LINLI_SMTP_FROM", "linli@localhost"),
        sms_gateway_url=env("LINLI_SMS_GATEWAY_URL") or None,
        sms_gateway_token=env("LINLI_SMS_GATEWAY_TOKEN") or None,
        respite_visits_by_care_level=env("LINLI_RESPITE_VISITS_BY_CARE_LEVEL", "2:3,3:3,4:5,5:7,6:7"),
        respite_certificate=env("LINLI_RESPITE_CERTIFICATE", "elderly_carer"),
    )
