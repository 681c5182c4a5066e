"""Run the get-started pipeline end to end and print what cmf recorded.

It ends by tracing the final model: which executions, code and data made it.

    python examples/get_started/run.py [WORKDIR]

WORKDIR (default: examples/get_started/workdir) is made afresh as a cmf
project in its own Git repository (so every execution records the commit of the
code it ran); each stage runs there as its own process, as in a real pipeline:
prepare (Python API) → featurize (`cmf run`) → train (cmflib names) → evaluate.
"""

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PIPELINE = "fraud-detection"


def main() -> None:
    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "workdir"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    for script in ("prepare.py", "featurize.py", "train.py", "evaluate.py", "common.py"):
        shutil.copy(HERE / script, workdir / script)
    cmf = str(Path(sys.executable).parent / "cmf")
    python = sys.executable

    def step(*command: str) -> None:
        print(f"$ {' '.join(command)}", flush=True)
        subprocess.run(command, cwd=workdir, check=True)

    git = ["git", "-c", "user.name=cmf example", "-c", "user.email=example@cmf.invalid"]
    step(*git, "init", "-q")
    step(cmf, "init")
    (workdir / ".gitignore").write_text("data/\nmodels/\n")
    step(*git, "add", ".")
    step(*git, "commit", "-q", "-m", "get-started pipeline")
    step(python, "prepare.py", PIPELINE)
    step(
        cmf, "run", "--pipeline", PIPELINE, "--stage", "featurize",
        "-i", "data/prepared", "-o", "data/features", "-p", "scale=standard",
        "--", python, "featurize.py",
    )  # fmt: skip
    step(python, "train.py", PIPELINE)
    step(python, "evaluate.py", PIPELINE)
    step(cmf, "ls", "executions", "--pipeline", PIPELINE)
    step(cmf, "trace", "models/model.json")


if __name__ == "__main__":
    main()
