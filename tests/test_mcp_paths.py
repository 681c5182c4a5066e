"""cmf_core.paths.check_readable: what a remote caller may have cmf read."""

from pathlib import Path

import pytest

from cmf_core.errors import InvalidInputError, NotFoundError
from cmf_core.paths import MAX_PATH_CHARS, check_readable


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """project/{data.csv, sub/, links to inside and outside}, and outside/secret."""
    root = tmp_path / "project"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "data.csv").write_text("1")
    (root / "sub" / "deeper" / "x.bin").write_bytes(b"x")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("s")
    (root / "inside-link").symlink_to(root / "sub")
    (root / "sub" / "sibling-link.csv").symlink_to(root / "data.csv")
    return root


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("data.csv", "data.csv"),
        ("./sub/../data.csv", "data.csv"),
        ("sub", "sub"),
        ("sub/", "sub"),
        ("inside-link", "inside-link"),
        (".", "."),
    ],
)
def test_paths_inside_the_project_are_returned_absolute_with_links_kept(
    tree: Path, given: str, expected: str
) -> None:
    assert check_readable(given, roots=[tree]) == (tree / expected if expected != "." else tree)


def test_an_absolute_path_inside_a_root_is_accepted(tree: Path) -> None:
    assert check_readable(str(tree / "data.csv"), roots=[tree]) == tree / "data.csv"


def test_relative_paths_start_at_the_first_root_whatever_the_working_folder(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path / "outside")
    assert check_readable("data.csv", roots=[tree]) == tree / "data.csv"
    with pytest.raises(NotFoundError):
        check_readable("secret", roots=[tree])


@pytest.mark.parametrize("given", ["..", "../outside/secret", "sub/../../outside/secret"])
def test_dot_dot_escapes_are_refused_before_anything_is_touched(tree: Path, given: str) -> None:
    with pytest.raises(InvalidInputError, match=r"is outside the project"):
        check_readable(given, roots=[tree])


def test_absolute_paths_outside_are_refused_without_repeating_them(tree: Path) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_readable(str(tree.parent / "outside" / "secret"), roots=[tree])
    assert str(refused.value).startswith("The path given is outside the project")
    assert str(tree.parent) not in str(refused.value)


def test_a_link_leading_out_is_refused_without_saying_where_it_leads(tree: Path) -> None:
    (tree / "escape").symlink_to(tree.parent / "outside" / "secret")
    with pytest.raises(InvalidInputError, match="symbolic link") as refused:
        check_readable("escape", roots=[tree])
    assert "outside/secret" not in str(refused.value)


def test_a_folder_holding_a_link_that_leads_out_is_refused(tree: Path) -> None:
    (tree / "sub" / "deeper" / "out").symlink_to(tree.parent / "outside")
    with pytest.raises(InvalidInputError, match=r"holds a symbolic link \('deeper/out'\)"):
        check_readable("sub", roots=[tree])
    assert check_readable("sub/deeper/x.bin", roots=[tree]) == tree / "sub/deeper/x.bin"


def test_a_second_root_admits_its_own_files(tree: Path) -> None:
    other = tree.parent / "outside"
    assert check_readable(str(other / "secret"), roots=[tree, other]) == other / "secret"
    with pytest.raises(InvalidInputError):
        check_readable(str(other / "secret"), roots=[tree])


@pytest.mark.parametrize(
    ("given", "error", "match"),
    [
        ("", InvalidInputError, "Give the path"),
        ("   ", InvalidInputError, "Give the path"),
        ("a\x00b", InvalidInputError, "NUL byte"),
        ("a" * (MAX_PATH_CHARS + 1), InvalidInputError, "not usable"),
        ("missing.csv", NotFoundError, "'missing.csv' does not exist"),
        ("x" * 300, InvalidInputError, "cannot be resolved|does not exist"),
    ],
)
def test_unusable_paths_get_a_message_that_says_what_to_do(
    tree: Path, given: str, error: type[Exception], match: str
) -> None:
    with pytest.raises((error, NotFoundError), match=match):
        check_readable(given, roots=[tree])


def test_without_a_root_nothing_is_readable() -> None:
    with pytest.raises(InvalidInputError, match="No folder is open"):
        check_readable("data.csv", roots=[])
