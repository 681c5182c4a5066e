"""cmf_core.environment: the environment document and its digest."""

import hashlib
import json
import platform
import socket
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from cmf_core.environment import capture_environment


def add_distribution(folder: Path, name: str, version: str) -> None:
    """Install a metadata-only distribution into ``folder`` as a wheel would."""
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nA long description.\n"
        "Version: 9.9.9 (in the body, not a header)\n"
    )


def test_the_digest_is_the_same_in_two_calls() -> None:
    assert capture_environment() == capture_environment()


def test_the_digest_is_the_same_in_another_process(tmp_path: Path) -> None:
    code = "from cmf_core.environment import capture_environment as c; print(c().digest)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == capture_environment().digest


def test_the_digest_is_the_md5_of_the_canonical_json() -> None:
    info = capture_environment()
    canonical = info.canonical_json()
    assert canonical == json.dumps(info.document, sort_keys=True, separators=(",", ":")).encode()
    assert info.digest == "md5:" + hashlib.md5(canonical).hexdigest()
    assert json.loads(canonical) == info.document


def test_the_document_names_the_running_python_and_platform() -> None:
    document = capture_environment().document
    assert document["python"] == {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
    }
    assert document["python"]["version"].startswith(
        f"{sys.version_info.major}.{sys.version_info.minor}."
    )
    assert document["platform"]["system"] == platform.system()
    assert document["platform"]["machine"] == platform.machine()


def test_installed_pydantic_is_listed_with_its_version() -> None:
    assert capture_environment().document["packages"]["pydantic"] == pydantic.VERSION


def test_packages_are_sorted_by_name() -> None:
    names = list(capture_environment().document["packages"])
    assert names == sorted(names)


def test_nothing_machine_specific_is_in_the_digested_document() -> None:
    canonical = capture_environment().canonical_json().decode()
    assert sys.executable not in canonical
    assert sys.prefix not in canonical
    assert platform.release() not in canonical
    assert f'"{socket.gethostname()}"' not in canonical


def test_package_names_are_normalised_and_the_first_install_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = capture_environment()
    add_distribution(tmp_path / "first", "Odd_Name.Pkg", "1.2.3")
    add_distribution(tmp_path / "first", "Pydantic", "0.0.1")
    add_distribution(tmp_path / "second", "odd-name-pkg", "7.0")
    monkeypatch.syspath_prepend(tmp_path / "second")
    monkeypatch.syspath_prepend(tmp_path / "first")

    after = capture_environment()

    assert after.document["packages"]["odd-name-pkg"] == "1.2.3"
    assert after.document["packages"]["pydantic"] == "0.0.1"
    assert "Odd_Name.Pkg" not in after.document["packages"]
    assert after.digest != before.digest


def test_an_egg_info_install_is_listed_and_one_without_metadata_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    egg = tmp_path / "legacy_pkg.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy_pkg\nVersion: 0.3\n")
    (tmp_path / "broken-1.0.dist-info").mkdir()
    monkeypatch.syspath_prepend(tmp_path)

    packages = capture_environment().document["packages"]

    assert packages["legacy-pkg"] == "0.3"
    assert "broken" not in packages
