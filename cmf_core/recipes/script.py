"""The shell script that follows a :class:`~cmf_core.recipes.recipe.Recipe` (see that module).

It never touches the user's work tree: it checks the commit out into a new
directory, puts each input in place and checks its digest, runs the recorded
command and checks every output's digest. Every recorded value is quoted.
"""

import re
import shlex
from pathlib import Path, PurePosixPath

from cmf_core.cmflib.files import ARTIFACTS_FOLDER
from cmf_core.recipes.recipe import Recipe

_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+$")
_HEX_COMMIT = re.compile(r"[0-9a-fA-F]{4,64}")


def reproduce_script(recipe: Recipe, *, source_root: str | Path | None = None) -> str:
    """A bash script (``set -euo pipefail``) that reproduces ``recipe`` in a new directory.

    ``source_root`` is the project folder (where inputs may be copied from and whose
    repository may hold the commit); the script's user can override it with
    ``CMF_SOURCE_ROOT``. The first argument of the script names the new directory.
    """
    q = shlex.quote
    root = str(source_root) if source_root is not None else "."
    short = re.sub(r"[^0-9A-Za-z-]", "", recipe.execution_id)[:13] or "run"
    started = f"{recipe.started_at:%Y-%m-%d %H:%M:%S} UTC"
    lines = [
        "#!/usr/bin/env bash",
        _comment(
            f"Reproduce execution {recipe.execution_id}: pipeline {recipe.pipeline}, stage "
            f"{recipe.stage} ({recipe.status.value}, started {started})."
        ),
        _comment(f"Written by `cmf reproduce {recipe.execution_id} --script`."),
        "# Usage: bash SCRIPT [NEW_DIR]. It works in NEW_DIR (default ./cmf-reproduce-ID)",
        "# and never touches your own work tree.",
        *(_comment(f"WARNING: {w}") for w in recipe.warnings),
        "set -euo pipefail",
        "",
        f"source_root=${{CMF_SOURCE_ROOT:-{q(root)}}}",
        f"workdir=${{1:-cmf-reproduce-{short}}}",
        "python=${CMF_PYTHON:-python3}",
        'workdir=$(cd -- "$(dirname -- "$workdir")" && pwd)/$(basename -- "$workdir")',
        *(f"echo {q('cmf: warning: ' + w)} >&2" for w in recipe.warnings),
        "",
        *_checkout(recipe),
        "",
        *_fetch_inputs(recipe),
        "",
        *_environment_lines(recipe),
        "",
        "# 4. The command, as recorded, from the project root.",
        _comment(f"   Params: {_params(recipe)}"),
        *_notebook_warning(recipe),
        _command(recipe, root),
        "",
        *_check_outputs(recipe),
    ]
    return "\n".join(lines) + "\n"


DIGEST_OF = r"""digest_of() {  # the digest cmf records for a file or a directory
  if [ ! -e "$1" ]; then echo missing; return; fi
  if "$python" -c 'import cmf_core.hashing' 2>/dev/null; then
    "$python" -c 'import sys
from cmf_core.hashing import hash_path
print(hash_path(sys.argv[1]).digest)' "$1"
  elif [ -f "$1" ]; then
    if command -v md5sum >/dev/null 2>&1; then sum=$(md5sum < "$1"); else sum=$(md5 -q < "$1"); fi
    echo "md5:${sum%% *}"
  else
    echo "unknown (a directory's digest needs cmf: set CMF_PYTHON to a Python that has it)"
  fi
}"""


def _checkout(recipe: Recipe) -> list[str]:
    q = shlex.quote
    if recipe.commit is None:
        message = (
            "cmf: no Git commit was recorded for this run; put the code it ran in $workdir "
            "and run this script again."
        )
        return [
            "# 1. The code: no commit was recorded, so NEW_DIR must already hold it.",
            'if [ ! -d "$workdir" ]; then',
            f'  echo "{message}" >&2',
            "  exit 1",
            "fi",
            'cd "$workdir"',
        ]
    if not _HEX_COMMIT.fullmatch(recipe.commit):
        return [
            "# 1. The code: the recorded commit is not a hexadecimal object name, so it is",
            "#    not checked out (it could be read as an option or a revision expression).",
            'echo "cmf: the recorded commit is not a hexadecimal Git object name; check the'
            ' code out into $workdir by hand." >&2',
            "exit 1",
        ]
    remote = q(recipe.remote) if recipe.remote else "''"
    branch = f" (branch {recipe.branch})" if recipe.branch else ""
    return [
        _comment(f"1. The code at commit {recipe.commit}{branch}: a new worktree of the"),
        "#    project's repository if it has the commit, else a fresh clone of the remote.",
        f"commit={q(recipe.commit)}",
        f"remote={remote}",
        'if [ -e "$workdir" ]; then',
        '  echo "cmf: $workdir already exists; name a new directory as the first argument." >&2',
        "  exit 1",
        "fi",
        'if git -C "$source_root" cat-file -e "$commit^{commit}" 2>/dev/null; then',
        '  git -C "$source_root" worktree add --quiet --detach -- "$workdir" "$commit"',
        '  prefix=$(git -C "$source_root" rev-parse --show-prefix)',
        'elif [ -n "$remote" ]; then',
        '  git clone --quiet --no-checkout -- "$remote" "$workdir"',
        '  git -C "$workdir" checkout --quiet --detach "$commit"',
        '  prefix=$(git -C "$source_root" rev-parse --show-prefix 2>/dev/null || true)',
        "else",
        '  echo "cmf: $source_root does not have commit $commit and no remote was recorded;'
        ' set CMF_SOURCE_ROOT to a clone that has it." >&2',
        "  exit 1",
        "fi",
        'cd "$workdir/$prefix"',
    ]


def _fetch_inputs(recipe: Recipe) -> list[str]:
    q = shlex.quote
    lines = [
        "# 2. The inputs, checked by digest. `cmf artifact pull` is not implemented yet: an input",
        "#    missing here is copied from the project folder if the copy there has the recorded",
        "#    digest; otherwise fetch it as its comment says and run the script again.",
        DIGEST_OF,
        "#    An input recorded outside the project (an absolute path, or one with `..`) is only",
        "#    checked, never written: the script writes nothing outside the new directory.",
        "top=$(pwd -P)",
        "fetch() {  # PATH DIGEST WHERE-FROM",
        '  if [ "$(digest_of "$1")" = "$2" ]; then return 0; fi',
        '  case "/$1/" in',
        "    //* | */../* | //)",
        '      echo "cmf: input $1 is outside the project and differs; it must have digest'
        ' $2: $3" >&2',
        "      missing=$((missing + 1))",
        "      return 0",
        "      ;;",
        "  esac",
        '  if [ "$(digest_of "$source_root/$1")" = "$2" ]; then',
        '    mkdir -p -- "$(dirname -- "$1")"',
        '    case "$(cd -P -- "$(dirname -- "$1")" && pwd)/" in',
        '      "$top"/*) ;;',
        "      *)",
        '        echo "cmf: input $1 would be written outside $top (a symbolic link);'
        ' not copied." >&2',
        "        missing=$((missing + 1))",
        "        return 0",
        "        ;;",
        "    esac",
        '    rm -rf -- "$1" && cp -R -- "$source_root/$1" "$1"',
        '    echo "cmf: copied $1 from $source_root" >&2',
        "    return 0",
        "  fi",
        '  echo "cmf: input $1 must have digest $2: $3" >&2',
        "  missing=$((missing + 1))",
        "}",
        "missing=0",
    ]
    for item in recipe.inputs:
        if item.producer:
            where = (
                f"rebuild it with `cmf reproduce {item.producer}` ({item.producer_stage}), or "
                f"fetch it (e.g. `dvc pull {item.path}` if DVC tracks it)"
            )
            origin = f"written by {item.producer_stage} run {item.producer}"
        else:
            where = "fetch it from its source (e.g. `dvc pull PATH` if DVC tracks it)"
            where = where.replace("PATH", item.path)
            origin = "a source: no recorded execution wrote it"
        lines.append(_comment(f"{item.path}: {item.type} {item.digest}, {origin}"))
        if _outside(item.path):
            warning = (
                f"cmf: warning: input {item.path} was recorded outside the project; it is "
                "checked where it is and never copied or replaced."
            )
            lines.append(_comment(warning.removeprefix("cmf: ")))
            lines.append(f"echo {q(warning)} >&2")
        lines.append(f"fetch {q(item.path)} {q(item.digest)} {q(where)}")
    lines += [
        'if [ "$missing" -gt 0 ]; then',
        '  echo "cmf: $missing input(s) missing or different (see above); nothing was run." >&2',
        "  exit 1",
        "fi",
    ]
    return lines


def _outside(path: str) -> bool:
    """Whether writing ``path`` from the checkout could land outside it."""
    parts = PurePosixPath(path).parts
    return not parts or PurePosixPath(path).is_absolute() or ".." in parts


def _environment_lines(recipe: Recipe) -> list[str]:
    env = recipe.environment
    if env is None:
        return ["# 3. The environment: none was recorded."]
    requirements = [r for r in env.requirements if _REQUIREMENT.match(r)]
    described = " ".join(x for x in (env.implementation, env.python) if x) or "Python"
    minor = ".".join((env.python or "3").split(".")[:2])
    lines = [
        _comment(f"3. The environment ({env.digest}): {described} on {env.platform or 'unknown'},"),
        f"#    {len(requirements)} packages, written to NEW_DIR.requirements.txt. To recreate it:",
        _comment(
            f"     python{minor} -m venv .venv && .venv/bin/pip install -r NEW_DIR.requirements.txt"
        ),
        "cat > \"$workdir.requirements.txt\" <<'CMF_REQUIREMENTS'",
        *requirements,
        "CMF_REQUIREMENTS",
    ]
    if env.python:
        version = shlex.quote(env.python)
        lines += [
            "have=$(\"$python\" -c 'import platform; print(platform.python_version())' "
            "2>/dev/null || echo none)",
            f'if [ "$have" != {version} ]; then',
            f'  echo "cmf: warning: $python is Python $have; the run used "{version} >&2',
            "fi",
        ]
    return lines


def _params(recipe: Recipe) -> str:
    import json

    text = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in recipe.params.items())
    return (text if len(text) <= 300 else text[:297] + "…") or "none recorded"


def _comment(text: str) -> str:
    """A comment line: control characters (a newline in a path) cannot end it early."""
    return "# " + re.sub(r"[\x00-\x1f\x7f]", " ", text)


def _command(recipe: Recipe, root: str) -> str:
    if not recipe.command:
        return 'echo "cmf: no command was recorded; run the stage by hand here." >&2; exit 1'
    try:
        words = shlex.split(recipe.command)
    except ValueError:
        return f"bash -c {shlex.quote(recipe.command)}"
    if not words:
        return 'echo "cmf: the recorded command is empty." >&2; exit 1'
    words = [_in_checkout(word, root) for word in words]  # the checkout's copies, not originals
    if words[0].endswith(".py"):  # a script run by the Python API records sys.argv, no interpreter
        return '"$python" ' + shlex.join(words)
    return shlex.join(words)


def _in_checkout(word: str, root: str) -> str:
    """``word`` (or the value of ``--opt=word``) relative to the project root when it is an
    absolute path below it, so the command uses the checkout's files, not the originals."""
    base = root.rstrip("/") + "/"
    if base == "/" or not root.startswith("/"):
        return word
    if word.startswith("/"):
        prefix, path = "", word
    elif "=" in word:
        name, _, path = word.partition("=")
        prefix = name + "="
    else:
        return word
    if path.startswith(base) and len(path) > len(base):
        return f"{prefix}./{path[len(base) :]}"
    return word


def _is_notebook(command: str | None) -> bool:
    return "ipykernel" in (command or "")


def _notebook_warning(recipe: Recipe) -> list[str]:
    if not _is_notebook(recipe.command):
        return []
    warning = (
        "cmf: warning: the run was made from a Jupyter kernel (ipykernel); the recorded "
        "command starts a kernel, not the notebook: run the notebook's cells by hand instead."
    )
    return [_comment(warning.removeprefix("cmf: ")), f"echo {shlex.quote(warning)} >&2"]


def _check_outputs(recipe: Recipe) -> list[str]:
    q = shlex.quote
    lines = [
        "# 5. The outputs, checked against the digests the run recorded.",
        "differ=0",
        "check() {  # PATH DIGEST",
        '  got=$(digest_of "$1")',
        '  if [ "$got" = "$2" ]; then echo "cmf: $1 matches $2" >&2; return 0; fi',
        '  echo "cmf: $1 is $got; the run wrote $2" >&2',
        "  differ=$((differ + 1))",
        "}",
    ]
    own = f"{ARTIFACTS_FOLDER}/{recipe.execution_id}/"
    if any(o.path.startswith(own) for o in recipe.outputs):
        lines += [
            "# Files the cmflib methods (commit_metrics, log_execution_metrics, dataslices) wrote",
            _comment(f"under {own} are written by the new run under its own execution"),
            "# id: the newest such file is checked.",
            "check_run_file() {  # PATH-UNDER-THE-RUN'S-FOLDER DIGEST",
            '  newest=""',
            f'  for candidate in {ARTIFACTS_FOLDER}/*/"$1"; do',
            '    [ -e "$candidate" ] || continue',
            '    if [ -z "$newest" ] || [ "$candidate" -nt "$newest" ]; then newest=$candidate; fi',
            "  done",
            f'  check "${{newest:-{ARTIFACTS_FOLDER}/NEW-RUN/$1}}" "$2"',
            "}",
        ]
    lines += [
        f"check_run_file {q(o.path.removeprefix(own))} {q(o.digest)}"
        if o.path.startswith(own)
        else f"check {q(o.path)} {q(o.digest)}"
        for o in recipe.outputs
    ]
    lines += [
        'if [ "$differ" -gt 0 ]; then',
        '  echo "cmf: $differ output(s) differ from the recorded run." >&2',
        "  exit 1",
        "fi",
        f'echo "cmf: reproduced execution "{q(recipe.execution_id)}" in $PWD" >&2',
    ]
    return lines


__all__ = ["reproduce_script"]
