"""Which server and token a client uses: flags, then CMF_SERVER_*, then untracked config."""

from pathlib import Path

import pytest

from cmf_core.errors import ConfigError, InvalidInputError, SyncError
from cmf_core.sync.client import server_identity
from cmf_core.sync.servers import add_server, list_servers, remove_server, resolve_server


def test_flags_beat_the_environment_which_beats_the_config(bare_project: Path) -> None:
    add_server(bare_project, "team", "https://cmf.example.org/", token="cmf_fromfile")
    env = {"CMF_SERVER_URL": "http://10.0.0.7:8080", "CMF_SERVER_TOKEN": "cmf_fromenv"}
    assert resolve_server(bare_project, environ={}).url == "https://cmf.example.org"
    assert resolve_server(bare_project, environ={}).token == "cmf_fromfile"
    from_env = resolve_server(bare_project, environ=env)
    assert (from_env.url, from_env.token) == ("http://10.0.0.7:8080", "cmf_fromenv")
    flagged = resolve_server(bare_project, "team", "cmf_flag", environ=env)
    assert (flagged.url, flagged.token, flagged.name) == (
        "https://cmf.example.org",
        "cmf_flag",
        "team",
    )
    by_url = resolve_server(bare_project, "https://CMF.example.org", environ={})
    assert by_url.token == "cmf_fromfile"  # a configured server's token goes with its URL


def test_tokens_live_only_in_the_untracked_file(bare_project: Path) -> None:
    written = add_server(bare_project, "team", "https://cmf.example.org", token="cmf_secret")
    assert written == ".cmf/config.local.toml"
    ignored = (bare_project / ".cmf" / ".gitignore").read_text()
    assert "config.local.toml" in ignored
    assert [e.has_token for e in list_servers(bare_project)] == [True]
    (bare_project / ".cmf" / "config.toml").write_text(
        '[server.shared]\nurl = "https://x.example"\ntoken = "cmf_leaked"\n'
    )
    with pytest.raises(ConfigError, match="a file Git may track"):
        resolve_server(bare_project, environ={})


def test_several_servers_need_a_default_or_a_name(bare_project: Path) -> None:
    with pytest.raises(SyncError, match="No team server is given"):
        resolve_server(bare_project, environ={})
    add_server(bare_project, "a", "https://a.example")
    add_server(bare_project, "b", "https://b.example")
    assert resolve_server(bare_project, environ={}).name == "a"  # the first became default
    remove_server(bare_project, "a")
    assert [e.name for e in list_servers(bare_project)] == ["b"]
    assert resolve_server(bare_project, environ={}).name == "b"
    with pytest.raises(SyncError, match="No server named 'zzz'"):
        resolve_server(bare_project, "zzz", environ={})
    with pytest.raises(ConfigError, match="No server named 'a'"):
        remove_server(bare_project, "a")


def test_server_urls_are_checked_and_normalised() -> None:
    assert (
        server_identity("HTTPS://Cmf.Example.org:8443/base/") == "https://cmf.example.org:8443/base"
    )
    for bad in ("cmf.example.org", "ftp://x", "http://"):
        with pytest.raises(InvalidInputError):
            server_identity(bad)
