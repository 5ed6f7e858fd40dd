"""Settings come from LINLI_* variables, and every one of them is documented in the README."""

from __future__ import annotations

from pathlib import Path

import msgspec

from api.settings import Settings, load_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented():
    text = README.read_text(encoding="utf-8")
    missing = [f.name for f in msgspec.structs.fields(Settings) if f"LINLI_{f.name.upper()}" not in text]
    assert missing == []


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("LINLI_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LINLI_PORT", "8123")
    monkeypatch.setenv("LINLI_HTTPS", "true")
    monkeypatch.delenv("LINLI_SECRET_KEY", raising=False)
    settings = load_settings()
    assert settings.port == 8123
    assert settings.https is True
    assert settings.state_dir == tmp_path


def test_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("LINLI_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("LINLI_SECRET_KEY", raising=False)
    first = load_settings().secret_key
    assert len(first) >= 40
    assert load_settings().secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
