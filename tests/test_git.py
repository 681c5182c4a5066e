"""cmf_core.git against real repositories made with the git command in tmp_path."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmf_core.errors import GitError
from cmf_core.git import find_work_tree, read_git_snapshot, read_head_commit, strip_credentials


def run_git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def run_git_bytes(cwd: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True).stdout


@pytest.fixture(autouse=True)
def _git_without_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Commits work on a machine with no Git identity; no user config leaks in."""
    empty_config = tmp_path / "empty.gitconfig"
    empty_config.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty_config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "cmf tests")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tests@cmf.invalid")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A repository on branch main with one commit holding ``files``."""
    path.mkdir(parents=True)
    run_git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"train.py": "print('training')\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    run_git(path, "add", "-A")
    run_git(path, "commit", "-q", "-m", "first")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {"train.py": "print('training')\n", "data/x.csv": "1\n"})
    (root / "train.py").write_text("print('training v2')\n")
    run_git(root, "commit", "-q", "-am", "second")
    return root


def md5_of(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


# --- find_work_tree ---------------------------------------------------------------------


def test_the_work_tree_is_found_from_a_nested_folder_and_from_a_file(repo: Path) -> None:
    assert find_work_tree(repo / "data") == repo
    assert find_work_tree(repo / "data" / "x.csv") == repo
    assert find_work_tree(repo) == repo


def test_there_is_no_work_tree_outside_a_repository(tmp_path: Path) -> None:
    outside = tmp_path / "plain" / "folder"
    outside.mkdir(parents=True)
    assert find_work_tree(outside) is None


def test_a_linked_work_tree_is_found_by_its_git_file(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    run_git(repo, "worktree", "add", "-q", "-b", "feature", str(linked))
    (linked / "sub").mkdir()
    assert (linked / ".git").is_file()
    assert find_work_tree(linked / "sub") == linked


# --- read_head_commit: files only, checked against git rev-parse -------------------------


def test_head_commit_from_a_loose_ref_equals_git_rev_parse(repo: Path) -> None:
    assert (repo / ".git" / "refs" / "heads" / "main").is_file()
    assert read_head_commit(repo) == run_git(repo, "rev-parse", "HEAD")


def test_head_commit_from_packed_refs_equals_git_rev_parse(repo: Path) -> None:
    run_git(repo, "tag", "-a", "v1", "-m", "annotated, so packed-refs has a peeled line")
    run_git(repo, "branch", "other", "HEAD~1")
    run_git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert read_head_commit(repo) == run_git(repo, "rev-parse", "HEAD")
    run_git(repo, "switch", "-q", "other")
    assert read_head_commit(repo) == run_git(repo, "rev-parse", "HEAD")


def test_head_commit_of_a_detached_head_equals_git_rev_parse(repo: Path) -> None:
    run_git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert read_head_commit(repo) == run_git(repo, "rev-parse", "HEAD")


def test_head_commit_of_a_linked_work_tree_equals_git_rev_parse(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    run_git(repo, "worktree", "add", "-q", "-b", "feature", str(linked), "HEAD~1")
    (linked / "new.txt").write_text("only on feature\n")
    run_git(linked, "add", "new.txt")
    run_git(linked, "commit", "-q", "-m", "on feature")
    assert read_head_commit(linked) == run_git(linked, "rev-parse", "HEAD")
    assert read_head_commit(linked) != read_head_commit(repo)
    assert read_head_commit(repo) == run_git(repo, "rev-parse", "HEAD")


def test_head_commit_of_a_submodule_equals_git_rev_parse(repo: Path, tmp_path: Path) -> None:
    library = make_repo(tmp_path / "library", {"lib.py": "VALUE = 1\n"})
    run_git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library), "lib")
    submodule = repo / "lib"
    assert (submodule / ".git").is_file()
    assert read_head_commit(submodule) == run_git(submodule, "rev-parse", "HEAD")
    assert read_head_commit(submodule) == run_git(library, "rev-parse", "HEAD")


def test_head_commit_of_an_unborn_branch_is_none(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    run_git(root, "init", "-q", "-b", "main")
    assert read_head_commit(root) is None


def test_head_commit_of_a_repository_with_reftable_refs_equals_git_rev_parse(
    tmp_path: Path,
) -> None:
    root = tmp_path / "reftable"
    made = subprocess.run(
        ["git", "init", "-q", "--ref-format=reftable", str(root)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip("this git cannot make reftable repositories (needs Git 2.45+)")
    assert read_head_commit(root) is None
    (root / "a.txt").write_text("a\n")
    run_git(root, "add", "a.txt")
    run_git(root, "commit", "-q", "-m", "first")
    assert read_head_commit(root) == run_git(root, "rev-parse", "HEAD")


def test_head_commit_of_a_folder_that_is_no_work_tree_raises_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not the root of a readable Git work tree"):
        read_head_commit(tmp_path)


@pytest.mark.parametrize(
    ("head", "loose_main", "message"),
    [
        ("garbage\n", None, "neither a branch nor a commit"),
        ("ref: main\n", None, "outside refs/"),
        ("ref: refs/heads/main\n", "ref: refs/heads/main\n", "chain of more than"),
    ],
)
def test_a_garbled_head_raises_git_error(
    repo: Path, head: str, loose_main: str | None, message: str
) -> None:
    (repo / ".git" / "HEAD").write_text(head)
    if loose_main is not None:
        (repo / ".git" / "refs" / "heads" / "main").write_text(loose_main)
    with pytest.raises(GitError, match=message):
        read_head_commit(repo)


def test_a_git_file_without_gitdir_raises_git_error(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("not a pointer\n")
    with pytest.raises(GitError, match="neither a Git directory nor a `gitdir:` file"):
        read_head_commit(tmp_path)


def test_a_stray_git_folder_without_head_is_not_a_work_tree(repo: Path) -> None:
    (repo / "data" / ".git").mkdir()
    assert find_work_tree(repo / "data") == repo


# --- read_git_snapshot ------------------------------------------------------------------


def test_a_clean_repository_gives_branch_commit_and_no_digest(repo: Path) -> None:
    snapshot = read_git_snapshot(repo)
    assert snapshot.branch == "main"
    assert snapshot.commit == run_git(repo, "rev-parse", "HEAD")
    assert snapshot.is_dirty is False
    assert snapshot.diff_digest is None
    assert snapshot.remote_url is None


def test_a_modified_tracked_file_is_dirty_with_the_digest_of_git_diff_head(repo: Path) -> None:
    (repo / "train.py").write_text("print('training v3')\n")
    snapshot = read_git_snapshot(repo)
    assert snapshot.is_dirty is True
    patch = run_git_bytes(repo, "diff", "--binary", "--full-index", "HEAD")
    assert patch
    assert snapshot.diff_digest == md5_of(patch)


def test_a_staged_change_is_dirty(repo: Path) -> None:
    (repo / "train.py").write_text("print('staged')\n")
    (repo / "added.py").write_text("print('added')\n")
    run_git(repo, "add", "train.py", "added.py")
    snapshot = read_git_snapshot(repo)
    assert snapshot.is_dirty is True
    assert snapshot.diff_digest == md5_of(
        run_git_bytes(repo, "diff", "--binary", "--full-index", "HEAD")
    )


def test_a_staged_change_undone_in_the_work_tree_is_clean(repo: Path) -> None:
    original = (repo / "train.py").read_text()
    (repo / "train.py").write_text("print('staged')\n")
    run_git(repo, "add", "train.py")
    (repo / "train.py").write_text(original)
    assert read_git_snapshot(repo).is_dirty is False


def test_a_binary_change_is_part_of_the_digest(repo: Path) -> None:
    blob = repo / "weights.bin"
    blob.write_bytes(bytes(range(256)))
    run_git(repo, "add", "weights.bin")
    run_git(repo, "commit", "-q", "-m", "weights")
    blob.write_bytes(bytes(range(256)) + b"\x00\x01")
    first = read_git_snapshot(repo).diff_digest
    blob.write_bytes(bytes(range(256)) + b"\x00\x02")
    second = read_git_snapshot(repo).diff_digest
    assert first is not None and second is not None
    assert first != second


def test_a_file_touched_but_not_changed_is_clean(repo: Path) -> None:
    stat = (repo / "train.py").stat()
    os.utime(repo / "train.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert read_git_snapshot(repo).is_dirty is False


def test_the_same_change_in_two_clones_gives_the_same_digest(repo: Path, tmp_path: Path) -> None:
    clones = [tmp_path / "clone-a", tmp_path / "clone-b"]
    for clone in clones:
        run_git(tmp_path, "clone", "-q", str(repo), str(clone))
        (clone / "train.py").write_text("print('tuned')\n")
        (clone / "notes.txt").write_text("untracked, same in both\n")
    digests = [read_git_snapshot(clone).diff_digest for clone in clones]
    assert digests[0] is not None
    assert digests[0] == digests[1] == read_git_snapshot(clones[0]).diff_digest
    (clones[1] / "train.py").write_text("print('tuned differently')\n")
    assert read_git_snapshot(clones[1]).diff_digest != digests[0]


def test_the_digest_does_not_depend_on_the_users_diff_configuration(
    repo: Path, tmp_path: Path
) -> None:
    plain, configured = tmp_path / "plain", tmp_path / "configured"
    for clone in (plain, configured):
        run_git(tmp_path, "clone", "-q", str(repo), str(clone))
        (clone / "train.py").write_text("import os\n\n\ndef main():\n    print('tuned')\n")
        (clone / "data" / "x.csv").write_text("2\n")
        (clone / "données.txt").write_text("é\n")
        run_git(clone, "add", "données.txt")
    order_file = tmp_path / "order"
    order_file.write_text("train.py\n")
    for key, value in {
        "core.abbrev": "12",
        "core.quotePath": "false",
        "color.ui": "always",
        "diff.noprefix": "true",
        "diff.mnemonicPrefix": "true",
        "diff.algorithm": "histogram",
        "diff.context": "10",
        "diff.interHunkContext": "5",
        "diff.orderFile": str(order_file),
        "diff.renames": "copies",
        "diff.external": "false",
    }.items():
        run_git(configured, "config", key, value)
    # The configuration does change what `git diff` prints ...
    assert run_git_bytes(configured, "diff", "--no-ext-diff", "HEAD") != run_git_bytes(
        plain, "diff", "--no-ext-diff", "HEAD"
    )
    # ... but not the digest.
    assert read_git_snapshot(configured).diff_digest == read_git_snapshot(plain).diff_digest


def test_an_untracked_file_is_dirty_and_its_content_is_in_the_digest(repo: Path) -> None:
    (repo / "train_v2.py").write_text("print('new script')\n")
    first = read_git_snapshot(repo)
    assert first.is_dirty is True
    assert first.diff_digest is not None
    (repo / "train_v2.py").write_text("print('new script, edited')\n")
    assert read_git_snapshot(repo).diff_digest != first.diff_digest


def test_an_untracked_symlink_counts_by_its_target(repo: Path) -> None:
    link = repo / "latest"
    link.symlink_to("data/x.csv")
    first = read_git_snapshot(repo)
    link.unlink()
    link.symlink_to("train.py")
    second = read_git_snapshot(repo)
    assert first.is_dirty and second.is_dirty
    assert first.diff_digest != second.diff_digest


def test_an_untracked_nested_repository_makes_the_tree_dirty(repo: Path) -> None:
    make_repo(repo / "vendor" / "nested")
    snapshot = read_git_snapshot(repo)
    assert snapshot.is_dirty is True
    assert snapshot.diff_digest is not None


def test_an_untracked_file_larger_than_a_mebibyte_counts_by_size(repo: Path) -> None:
    big = repo / "big.dat"
    big.write_bytes(b"a" * (2 << 20))
    first = read_git_snapshot(repo).diff_digest
    big.write_bytes(b"b" * (2 << 20))
    assert read_git_snapshot(repo).diff_digest == first
    big.write_bytes(b"b" * ((2 << 20) + 1))
    assert read_git_snapshot(repo).diff_digest != first


def test_an_ignored_file_does_not_make_the_tree_dirty(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.log\n")
    run_git(repo, "add", ".gitignore")
    run_git(repo, "commit", "-q", "-m", "ignore logs")
    (repo / "run.log").write_text("noise\n")
    assert read_git_snapshot(repo).is_dirty is False


def test_a_detached_head_has_no_branch(repo: Path) -> None:
    run_git(repo, "checkout", "-q", "--detach", "HEAD~1")
    snapshot = read_git_snapshot(repo)
    assert snapshot.branch is None
    assert snapshot.commit == run_git(repo, "rev-parse", "HEAD")


def test_an_unborn_branch_has_a_branch_but_no_commit(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    run_git(root, "init", "-q", "-b", "main")
    clean = read_git_snapshot(root)
    assert (clean.branch, clean.commit, clean.is_dirty) == ("main", None, False)
    (root / "first.py").write_text("print('first')\n")
    run_git(root, "add", "first.py")
    staged = read_git_snapshot(root)
    assert staged.is_dirty is True
    assert staged.diff_digest == md5_of(
        run_git_bytes(root, "diff", "--binary", "--full-index", "--cached")
    )


def test_a_linked_work_tree_snapshot_names_its_own_branch(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    run_git(repo, "worktree", "add", "-q", "-b", "feature", str(linked))
    snapshot = read_git_snapshot(linked)
    assert snapshot.branch == "feature"
    assert snapshot.commit == read_head_commit(linked)


def test_the_remote_url_loses_its_credentials(repo: Path) -> None:
    run_git(repo, "remote", "add", "origin", "https://ana:s3cr3t-token@example.com/org/repo.git")
    snapshot = read_git_snapshot(repo)
    assert snapshot.remote_url == "https://example.com/org/repo.git"
    assert "s3cr3t" not in snapshot.model_dump_json()


def test_origin_is_preferred_over_other_remotes(repo: Path) -> None:
    run_git(repo, "remote", "add", "backup", "https://example.com/backup.git")
    run_git(repo, "remote", "add", "origin", "git@github.com:org/repo.git")
    assert read_git_snapshot(repo).remote_url == "git@github.com:org/repo.git"


def test_without_origin_the_first_remote_is_used(repo: Path) -> None:
    run_git(repo, "remote", "add", "upstream", "https://example.com/upstream.git")
    run_git(repo, "remote", "add", "fork", "https://example.com/fork.git")
    assert read_git_snapshot(repo).remote_url == "https://example.com/upstream.git"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:token@host.com/x.git", "https://host.com/x.git"),
        ("https://ghp_abc123@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("https://oauth2:glpat-xyz@gitlab.com:8443/g/r.git", "https://gitlab.com:8443/g/r.git"),
        ("https://host.com/x.git?access_token=abc#frag", "https://host.com/x.git"),
        ("http://u:p%40ss@10.0.0.1/x", "http://10.0.0.1/x"),
        ("https://host.com/org/repo.git", "https://host.com/org/repo.git"),
        ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
        ("ssh://git:hunter2@host.com:2222/repo.git", "ssh://git@host.com:2222/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
        ("file:///srv/git/repo.git", "file:///srv/git/repo.git"),
    ],
)
def test_strip_credentials_removes_secrets_and_keeps_the_address(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def test_reading_a_snapshot_changes_nothing_in_the_repository(repo: Path) -> None:
    run_git(repo, "remote", "add", "origin", "https://example.com/org/repo.git")
    (repo / "train.py").write_text("print('staged')\n")
    run_git(repo, "add", "train.py")
    (repo / "train.py").write_text("print('staged, then edited')\n")
    (repo / "untracked.txt").write_text("new\n")
    # A file touched but not changed: its stat info no longer matches the index, which
    # is what makes `git status` and `git diff` rewrite .git/index as a side effect.
    touched = repo / "data" / "x.csv"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    index = repo / ".git" / "index"
    os.utime(index, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))

    def observe() -> tuple[object, ...]:
        files = {
            path.relative_to(repo).as_posix(): path.read_bytes()
            for path in sorted(repo.rglob("*"))
            if path.is_file()
        }
        return (
            run_git(repo, "rev-parse", "HEAD"),
            run_git(repo, "branch", "--list"),
            run_git(repo, "stash", "list"),
            index.stat().st_mtime_ns,
            files,
        )

    before = observe()
    snapshot = read_git_snapshot(repo)
    read_head_commit(repo)
    assert snapshot.is_dirty is True
    assert observe() == before
    # The check above can fail: plain `git status` does rewrite this index.
    run_git(repo, "status", "--porcelain")
    assert index.stat().st_mtime_ns != before[3]


def test_a_corrupt_repository_raises_git_error_naming_the_path(repo: Path) -> None:
    (repo / ".git" / "HEAD").write_text("garbage\n")
    with pytest.raises(GitError, match=r"`git status` failed in .*repo") as raised:
        read_git_snapshot(repo)
    assert "not a git repository" in str(raised.value)


def test_a_folder_outside_any_repository_raises_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="`git status` failed"):
        read_git_snapshot(tmp_path)


def test_a_missing_folder_raises_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="no such folder"):
        read_git_snapshot(tmp_path / "missing")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("import os; os.environ['GIT_PYTHON_GIT_EXECUTABLE'] = MISSING", "was not found"),
        ("import git; git.Git.GIT_PYTHON_GIT_EXECUTABLE = MISSING", "check that Git is installed"),
    ],
    ids=["missing-when-gitpython-is-imported", "removed-after-gitpython-was-imported"],
)
def test_a_missing_git_executable_raises_git_error(repo: Path, setup: str, message: str) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from cmf_core.errors import GitError\n"
        "from cmf_core.git import read_git_snapshot\n"
        "MISSING = sys.argv[2]\n"
        f"{setup}\n"
        "try:\n"
        "    read_git_snapshot(Path(sys.argv[1]))\n"
        "except GitError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(repo), str(repo / "no-such-git")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert message in result.stdout


def test_importing_the_module_does_not_import_gitpython() -> None:
    code = "import sys, cmf_core.git; print('git' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
