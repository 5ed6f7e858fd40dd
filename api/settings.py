"""Every setting, from the environment (LINLI_*), with embedded defaults.

Each setting is declared once below (name, type, default, one-line meaning); load_settings reads the
environment for every field generically, and docs/settings.md is the table `python -m api.settings` prints.
"""

from __future__ import annotations

import os
import secrets
import sys
import typing
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

REPO_ROOT = Path(__file__).resolve().parents[1]
PREFIX = "LINLI_"
# What a boolean setting accepts as true; anything else is false.
TRUE = frozenset({"1", "true", "yes", "on"})


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The service's configuration; read once at start-up."""

    state_dir: Annotated[
        Path, Meta(description="Folder of the local PostgreSQL and Valkey, their logs, and the generated secret key")
    ] = REPO_ROOT / ".state"
    database_url: Annotated[
        str | None, Meta(description="PostgreSQL to use; unset, `linli up` starts one in the state folder")
    ] = None
    redis_url: Annotated[
        str | None,
        Meta(description="Redis (Valkey) for the job queue; unset, `linli up` starts one in the state folder"),
    ] = None
    secret_key: Annotated[
        str, Meta(description="Signs sessions and CSRF tokens; unset, generated once into the state folder and reused")
    ] = ""
    database_replica_urls: Annotated[
        str | None,
        Meta(
            description="Streaming replicas of the database (comma-separated URLs) that serve browsing, dashboards "
            "and exports while they are close enough behind; unset, every read goes to `LINLI_DATABASE_URL`"
        ),
    ] = None
    database_replica_max_lag_s: Annotated[
        float,
        Meta(
            gt=0,
            description="A replica further behind the primary than this many seconds is skipped for the primary; "
            "whoever wrote within this time (and 2 s more) reads from the primary",
        ),
    ] = 5.0
    database_retry_after_s: Annotated[
        int, Meta(description="While the database is down, answers are 503 with this Retry-After (seconds)")
    ] = 5
    database_connect_timeout_s: Annotated[
        float, Meta(description="Seconds the web app waits for a new database connection before answering 503")
    ] = 5.0
    host: Annotated[str, Meta(description="Address the web server listens on")] = "127.0.0.1"
    port: Annotated[int, Meta(description="Port the web server listens on")] = 8000
    https: Annotated[bool, Meta(description="Served over HTTPS: secure cookies and HSTS")] = False
    web_workers: Annotated[
        int, Meta(ge=0, description="Web server processes `linli serve` starts on the one port; 0: one per core")
    ] = 0
    database_connections: Annotated[
        int,
        Meta(
            ge=1,
            description="Database connections all web processes together may hold, shared equally (at least one "
            "each); keep it below PostgreSQL's `max_connections` minus each worker's 4 and a few for maintenance",
        ),
    ] = 20
    debug: Annotated[bool, Meta(description="Litestar's debug mode, and DEBUG logs")] = False
    session_idle_minutes: Annotated[int, Meta(description="A session ends after this many idle minutes")] = 30
    session_absolute_hours: Annotated[int, Meta(description="A session ends this many hours after login")] = 12
    token_days: Annotated[int, Meta(description="An API token expires this many days after it is issued")] = 30
    login_attempts_per_15min: Annotated[
        int,
        Meta(
            description="Failed logins per username before each further try waits (1 s, doubling, up to 15 min); an "
            "address failing four times as often in 15 minutes may no longer retry the accounts it failed at"
        ),
    ] = 5
    password_resets_per_address_per_hour: Annotated[
        int,
        Meta(
            ge=1,
            description="Password reset codes one address may ask for in an hour (whether or not an account answers); "
            "beyond it, 429 with Retry-After",
        ),
    ] = 10
    staff_invitation_retention_days: Annotated[
        int,
        Meta(
            ge=1,
            description="Days a staff invitation is kept after it was accepted, withdrawn or expired; the worker "
            "then deletes it (audited)",
        ),
    ] = 30
    household_retention_months: Annotated[
        int,
        Meta(
            ge=1,
            le=120,
            description="Months what is left of a household that left the service (respite history, confirmations, "
            "refusals, its street) is kept; the worker then erases it (audited)",
        ),
    ] = 12
    trusted_proxies: Annotated[
        str,
        Meta(
            description="Reverse proxies (comma-separated CIDRs) whose `X-Forwarded-For` gives the client's address; "
            "unset, the peer's address is the client's"
        ),
    ] = ""
    default_locale: Annotated[str, Meta(description="Language when neither the account nor the browser says")] = "zh_CN"
    solver_time_limit_s: Annotated[float, Meta(description="Seconds an optimiser run may search")] = 20.0
    job_timeout_s: Annotated[int, Meta(description="Seconds a worker job may take before it is ended")] = 60
    audit_seal_interval_s: Annotated[
        float, Meta(description="The worker seals new audit log entries into the hash chain this often (seconds)")
    ] = 1.0
    checkin_window_minutes: Annotated[
        int, Meta(description="A volunteer checks in from this many minutes before a shift's start until its end")
    ] = 60
    checkout_tolerance_minutes: Annotated[
        int, Meta(description="A check-out's minutes are capped at the shift's length plus this many")
    ] = 30
    timebank_cap_hours: Annotated[
        int,
        Meta(description="Most time coins an account holds; confirmed hours beyond are recorded as over the cap"),
    ] = 1500
    notify_sender: Annotated[
        str, Meta(description="Who delivers notifications: `log` (kind and id only), `email` or `sms`")
    ] = "log"
    notify_max_attempts: Annotated[
        int, Meta(description="A failed delivery is retried, with growing waits, up to this many times")
    ] = 5
    smtp_url: Annotated[
        str | None, Meta(description="SMTP server for `email`, e.g. `smtp://user:pass@host:587?starttls=1`")
    ] = None
    smtp_from: Annotated[str, Meta(description="Sender address of notification emails")] = "linli@localhost"
    sms_gateway_url: Annotated[
        str | None, Meta(description='SMS gateway for `sms`: a JSON POST of `{"to", "text"}`')
    ] = None
    sms_gateway_token: Annotated[str | None, Meta(description="Bearer token for the SMS gateway")] = None
    public_url: Annotated[
        str, Meta(description="Address people reach the site at, for the links in emails and SMS (confirm a place)")
    ] = "http://127.0.0.1:8000"
    respite_visits_by_care_level: Annotated[
        str, Meta(description="Respite visits a week by care level, `level:visits,…` (Shanghai's long-term-care rule)")
    ] = "2:3,3:3,4:5,5:7,6:7"
    metrics_token: Annotated[
        str | None, Meta(description="Bearer token Prometheus sends to `/metrics`; unset, `/metrics` answers 404")
    ] = None
    respite_certificate: Annotated[
        str, Meta(description="Certificate respite carers must hold; `skill:<code>` asks for a skill instead")
    ] = "elderly_carer"
    max_horizon_days: Annotated[
        int,
        Meta(
            ge=1,
            description="Needs, shifts, tender and call deadlines may be dated at most this many days ahead "
            "(and never before the year 2000)",
        ),
    ] = 730
    evidence_max_bytes: Annotated[
        int, Meta(description="Largest scan or photo a volunteer may upload as evidence for a claim, in bytes")
    ] = 5 * 1024 * 1024
    household_daily_cap: Annotated[
        int, Meta(description="Distinct households one volunteer may open the file of in a day (Shanghai)")
    ] = 5
    visit_note_days: Annotated[
        int,
        Meta(
            ge=1,
            le=60,
            description="A carer notes a home visit, or raises an incident on it, until this many days after it ends",
        ),
    ] = 7
    rating_link_days: Annotated[
        int,
        Meta(
            ge=1,
            le=60,
            description="The one-use link by which an elder or family rates a home visit (sent by SMS) "
            "works this many days",
        ),
    ] = 7
    certificate_issuer: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=100,
            description="Issuer (出具单位) named on service record certificates and their public verification page",
        ),
    ] = "邻里社区服务平台"
    import_max_bytes: Annotated[
        int, Meta(ge=1, description="Largest Excel register (XLSX) a committee may upload to import, in bytes")
    ] = 2 * 1024 * 1024
    import_max_rows: Annotated[
        int, Meta(ge=1, description="Most rows (households or volunteers) one imported register may hold")
    ] = 2000
    import_minutes: Annotated[
        int,
        Meta(ge=1, description="Minutes an uploaded register is kept for its preview before it must be uploaded again"),
    ] = 30
    star_level_hours: Annotated[
        str,
        Meta(
            description="Confirmed hours at which a volunteer reaches one to five stars (星级), comma-separated and "
            "rising; a certificate keeps the level it was issued with"
        ),
    ] = "100,300,600,1000,1500"
    map_tiles: Annotated[
        str,
        Meta(
            description="Street tiles under the maps: `amap` (高德, GCJ-02, no key), `tianditu` (天地图, needs "
            "`LINLI_MAP_TIANDITU_KEY`), `osm` or `none`; without tiles (or offline) the maps still draw the areas' "
            "outlines and the markers on a plain background"
        ),
    ] = "amap"
    map_tianditu_key: Annotated[
        str | None, Meta(description="天地图's browser key (tk) for `LINLI_MAP_TILES=tianditu`")
    ] = None
    visit_detour_factor: Annotated[
        float,
        Meta(ge=1, le=3, description="Home visits: street distance over straight-line distance between two homes"),
    ] = 1.3
    visit_speed_ebike_kmh: Annotated[
        float, Meta(gt=0, le=40, description="Home visits: a carer's speed on an e-bike, door to door, in km/h")
    ] = 15.0
    visit_speed_walk_kmh: Annotated[
        float, Meta(gt=0, le=8, description="Home visits: a carer's walking speed, in km/h")
    ] = 4.5
    visit_continuity_weight: Annotated[
        float,
        Meta(
            ge=0,
            le=600,
            description="Home visits: what a visit given by another carer than last time costs the plan, in minutes "
            "of the objective (like travel or lateness); 0 turns the preference off",
        ),
    ] = 30.0


class Declared(msgspec.Struct, frozen=True):
    """One setting as declared: its variable, type, default and meaning."""

    name: str
    variable: str
    kind: Any
    default: Any
    meaning: str


def web_processes(settings: Settings) -> int:
    """How many web server processes `linli serve` runs: LINLI_WEB_WORKERS, or one per core."""
    return settings.web_workers if settings.web_workers > 0 else os.cpu_count() or 1


def pool_size(settings: Settings) -> int:
    """Most database connections one web process holds: its equal share of LINLI_DATABASE_CONNECTIONS."""
    return max(1, settings.database_connections // web_processes(settings))


def replica_urls(settings: Settings) -> list[str]:
    """The replicas' URLs from LINLI_DATABASE_REPLICA_URLS (none when unset)."""
    return [url.strip() for url in (settings.database_replica_urls or "").split(",") if url.strip()]


def declared() -> list[Declared]:
    """Every setting, in declaration order."""
    hints = typing.get_type_hints(Settings, include_extras=True)
    found = []
    for field in msgspec.structs.fields(Settings):
        kind, meta = typing.get_args(hints[field.name])
        found.append(Declared(field.name, PREFIX + field.name.upper(), kind, field.default, meta.description))
    return found


def _parse(raw: str, kind: Any) -> Any:
    if kind is bool:
        return raw.strip().lower() in TRUE
    if kind is Path:
        return Path(raw)
    if type(None) in typing.get_args(kind):
        # An empty optional setting is the same as an unset one.
        return raw or None
    return msgspec.convert(raw, kind, strict=False)


def _secret_key(state_dir: Path) -> str:
    """A key generated once into the state folder and reused after."""
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


def load_settings() -> Settings:
    """Settings from LINLI_* environment variables over the defaults."""
    values: dict[str, Any] = {}
    for setting in declared():
        raw = os.environ.get(setting.variable)
        try:
            values[setting.name] = setting.default if raw is None else _parse(raw, setting.kind)
        except msgspec.ValidationError as error:
            raise ValueError(f"{setting.variable}={raw!r}: {error}") from None
    state_dir = values["state_dir"] = Path(values["state_dir"]).resolve()
    if not values.get("secret_key"):
        values["secret_key"] = _secret_key(state_dir)
    return Settings(**values)


def _shown(setting: Declared) -> str:
    if setting.default is None or setting.default == "":
        return "unset"
    if isinstance(setting.default, Path):
        return f"`{setting.default.relative_to(REPO_ROOT)}`"
    if isinstance(setting.default, bool):
        return f"`{str(setting.default).lower()}`"
    return f"`{setting.default}`"


def _type_name(kind: Any) -> str:
    names = [getattr(k, "__name__", str(k)) for k in typing.get_args(kind) if k is not type(None)]
    return f"{names[0]}, optional" if names else {"Path": "path"}.get(kind.__name__, kind.__name__)


def settings_table() -> str:
    """The Markdown table of every setting (docs/settings.md holds it, and a test keeps the two equal)."""
    lines = ["| variable | type | default | meaning |", "| --- | --- | --- | --- |"]
    for setting in declared():
        lines.append(f"| `{setting.variable}` | {_type_name(setting.kind)} | {_shown(setting)} | {setting.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(settings_table())
