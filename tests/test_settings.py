import stat

from thorbis import settings as project_settings


def test_missing_secret_key_is_generated_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.setattr(project_settings, "VAR_DIR", tmp_path / "var")
    first = project_settings._machine_secret_key()
    again = project_settings._machine_secret_key()
    key_file = tmp_path / "var" / "secret_key"
    assert first == again and len(first) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_two_machines_get_different_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(project_settings, "VAR_DIR", tmp_path / "a")
    a = project_settings._machine_secret_key()
    monkeypatch.setattr(project_settings, "VAR_DIR", tmp_path / "b")
    assert project_settings._machine_secret_key() != a  # never a hard-coded default
