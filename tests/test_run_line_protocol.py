"""`cmf run`'s line protocol (CMF_METRICS_FILE) and `cmf log`, from shell, C, Fortran and Python."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cmf_core import ExecutionDetail, Store

CMF = str(Path(sys.executable).parent / "cmf")


def cmf_run(project: Path, *command: str, stage: str = "s") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMF_")}
    env["PATH"] = f"{Path(CMF).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [CMF, "run", "--pipeline", "p", "--stage", stage, "--", *command],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def recorded(project: Path) -> ExecutionDetail:
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        [execution] = store.list_executions()
        return store.get_execution_detail(execution.id)


def series(project: Path, name: str) -> list[tuple[int | None, float]]:
    detail = recorded(project)
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        rows = store.get_metrics(detail.execution.id, name=name)
    return sorted((m.step, m.value) for m in rows)


def test_a_shell_script_records_params_metrics_and_artifacts(project: Path) -> None:
    (project / "train.sh").write_text(
        textwrap.dedent(
            """\
            set -e
            cmf log param lr=0.01 optimizer=sgd
            for epoch in 0 1 2; do
              echo "{\\"step\\": $epoch, \\"loss\\": 0.$((9 - epoch))}" >> "$CMF_METRICS_FILE"
            done
            cmf log metric acc=0.5 --step 0
            echo '{"param": {"layers": [8, 4]}}' >&"$CMF_METRICS_FD"
            mkdir -p models && echo weights > models/model.bin
            cmf log artifact models/model.bin --type model
            cmf log metric accuracy=0.93
            """
        )
    )
    result = cmf_run(project, "bash", "train.sh")
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    detail = recorded(project)
    assert detail.execution.params == {"lr": 0.01, "optimizer": "sgd", "layers": [8, 4]}
    assert series(project, "loss") == [(0, 0.9), (1, 0.8), (2, 0.7)]
    assert series(project, "acc") == [(0, 0.5)]
    assert [(m.name, m.value) for m in detail.metrics] == [("accuracy", 0.93)]
    assert [(e.path, e.artifact.type.value) for e in detail.outputs] == [
        ("models/model.bin", "model")
    ]
    assert "metrics_file" not in detail.execution.properties


BAD_LINES = [
    ("not json at all", "not JSON"),
    ("[1, 2]", "a JSON list, not an object"),
    ('{"loss": "low"}', "metric 'loss' is \"low\", not a number"),
    ('{"step": -1, "loss": 1}', "step must be a whole number"),
    ('{"step": 2}', "no metric values"),
    ('{"metric": {"a": 1}, "b": 2}', "unknown key(s) b beside 'metric'"),
    ('{"param": 3}', "'param' must hold a non-empty object"),
    ('{"output": "absent.bin"}', "absent.bin"),
    ('{"output": "data.txt", "type": "spreadsheet"}', "Unknown artifact type 'spreadsheet'"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES, ids=[r for _, r in BAD_LINES])
def test_a_malformed_line_is_counted_and_reported_never_fatal(
    project: Path, line: str, reason: str
) -> None:
    (project / "data.txt").write_text("x")
    lines = ['{"loss": 1.0}', "", line, '{"loss": 2.0}', '{"metric": {"done": 1}}']
    (project / "lines.txt").write_text("\n".join(lines) + "\n")
    result = cmf_run(project, "sh", "-c", 'cat lines.txt >> "$CMF_METRICS_FILE"; echo child-done')
    assert result.returncode == 0 and "child-done" in result.stdout
    assert "1 of 5 lines in CMF_METRICS_FILE was not recorded; the first, line 3: " in (
        result.stderr
    )
    assert reason in result.stderr and "Traceback" not in result.stderr
    detail = recorded(project)
    assert detail.execution.status.value == "completed"
    summary = detail.execution.properties["metrics_file"]
    assert (summary["rejected"], summary["first_rejected_line"]) == (1, 3)
    assert series(project, "loss") == [(0, 1.0), (1, 2.0)]  # the lines around it are kept
    assert [m.name for m in detail.metrics] == ["done"]


def test_many_bad_lines_report_the_count_and_the_first(project: Path) -> None:
    script = "import os; f = open(os.environ['CMF_METRICS_FILE'], 'a')\n"
    script += "for i in range(100): f.write('{\"x\": %d}\\n' % i if i % 10 else 'oops\\n')\n"
    script += "f.write('x' * (2 << 20) + '\\n'); f.write('{\"x\": 1000}')\n"  # too long; no newline
    result = cmf_run(project, sys.executable, "-c", script)
    assert result.returncode == 0, result.stderr
    assert "11 of 102 lines in CMF_METRICS_FILE were not recorded; the first, line 1" in (
        result.stderr
    )
    assert len(series(project, "x")) == 91  # the unterminated last line counts too


def test_a_killed_job_keeps_what_it_wrote_and_lines_are_recorded_as_they_arrive(
    project: Path,
) -> None:
    child = textwrap.dedent(
        f"""\
        import os, signal, time
        from cmf_core import MetricsFile, Store
        with MetricsFile.from_environment() as out:
            for step in range(5):
                out.log_metric("loss", 1 / (step + 1), step=step)
        execution = os.environ["CMF_EXECUTION_ID"]
        deadline = time.monotonic() + 60
        with Store("sqlite:///{project / ".cmf" / "metadata.db"}") as store:
            while len(store.get_metrics(execution, name="loss")) < 5:
                assert time.monotonic() < deadline, "not recorded while the job ran"
                time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = cmf_run(project, sys.executable, "-c", child)
    assert result.returncode == 128 + signal.SIGKILL, result.stderr
    detail = recorded(project)
    assert detail.execution.status.value == "failed"
    assert len(series(project, "loss")) == 5


def test_a_background_process_holding_the_pipe_does_not_keep_cmf_waiting(project: Path) -> None:
    script = (
        "sleep 120 >/dev/null 2>&1 & echo $! > bg.pid; echo '{\"loss\": 1}' >> $CMF_METRICS_FILE"
    )
    try:
        result = cmf_run(project, "sh", "-c", script)
    finally:
        os.kill(int((project / "bg.pid").read_text()), signal.SIGTERM)
    assert result.returncode == 0, result.stderr
    assert series(project, "loss") == [(0, 1.0)]


def test_a_background_process_that_keeps_writing_does_not_keep_cmf_reading(
    project: Path,
) -> None:
    script = '(while true; do echo \'{"x": 1}\'; done >> "$CMF_METRICS_FILE" 2>/dev/null &)'
    result = cmf_run(project, "sh", "-c", script)
    assert result.returncode == 0, result.stderr
    assert recorded(project).execution.status.value == "completed"


C_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    FILE *out = fopen(getenv("CMF_METRICS_FILE"), "a");
    if (!out) return 2;
    fprintf(out, "{\"param\": {\"solver\": \"cg\", \"n\": 1000}}\n");
    for (int step = 0; step < 1000; step++)
        fprintf(out, "{\"step\": %d, \"residual\": %.6f, \"energy\": %d}\n", step,
                1.0 / (step + 1), step * 2);
    fprintf(out, "this is not json\n");
    FILE *result = fopen("field.dat", "w");
    fputs("0 1 2 3\n", result);
    fclose(result);
    fprintf(out, "{\"output\": \"field.dat\", \"type\": \"dataset\"}\n");
    fprintf(out, "{\"metric\": {\"iterations\": 1000}}\n");
    fclose(out);
    return 0;
}
"""


def test_a_c_program_records_through_the_protocol(project: Path, tmp_path: Path) -> None:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed, so the C program cannot be compiled")
    (tmp_path / "solve.c").write_text(C_PROGRAM)
    binary = tmp_path / "solve"
    subprocess.run([gcc, "-O1", "-o", str(binary), str(tmp_path / "solve.c")], check=True)
    result = cmf_run(project, str(binary), stage="solve")
    assert result.returncode == 0, result.stderr
    assert "1 of 1004 lines in CMF_METRICS_FILE was not recorded; the first, line 1002" in (
        result.stderr
    )
    detail = recorded(project)
    assert detail.execution.params == {"solver": "cg", "n": 1000}
    assert detail.step_metrics == {"energy": 1000, "residual": 1000}
    assert series(project, "residual")[999] == (999, 0.001)
    assert [(m.name, m.value) for m in detail.metrics] == [("iterations", 1000.0)]
    assert [e.path for e in detail.outputs] == ["field.dat"]


FORTRAN_PROGRAM = """\
program heat
  implicit none
  character(len=4096) :: path
  integer :: unit, step
  call get_environment_variable("CMF_METRICS_FILE", path)
  open(newunit=unit, file=trim(path), action="write", status="old")
  write(unit, '(a)') '{"param": {"grid": 64}}'
  do step = 0, 99
    write(unit, '(a,i0,a,es12.5,a)') '{"step": ', step, ', "temperature": ', &
      100.0d0 / (step + 1), '}'
  end do
  write(unit, '(a)') '{"metric": {"final_temperature": 1.0}}'
  close(unit)
end program heat
"""


def test_a_fortran_program_records_through_the_protocol(project: Path, tmp_path: Path) -> None:
    gfortran = shutil.which("gfortran")
    if gfortran is None:
        pytest.skip("gfortran is not installed, so the Fortran program cannot be compiled")
    (tmp_path / "heat.f90").write_text(FORTRAN_PROGRAM)
    binary = tmp_path / "heat"
    subprocess.run([gfortran, "-o", str(binary), str(tmp_path / "heat.f90")], check=True)
    result = cmf_run(project, str(binary), stage="heat")
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    detail = recorded(project)
    assert detail.execution.params == {"grid": 64}
    assert detail.step_metrics == {"temperature": 100}
    assert series(project, "temperature")[0] == (0, 100.0)
    assert [(m.name, m.value) for m in detail.metrics] == [("final_temperature", 1.0)]


def test_cmf_log_outside_cmf_run_is_one_clean_error(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMF_")}
    result = subprocess.run(
        [CMF, "log", "metric", "loss=1"], cwd=project, capture_output=True, text=True, env=env
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: CMF_METRICS_FILE is not set")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("cmf log artifact absent.bin", "Error: absent.bin does not exist"),
        ("cmf log metric loss=low --step 1", "Error: Metric 'loss' must be a number"),
        ("cmf log metric step=1 --step 1", "Error: A step series cannot be called 'step'"),
        ("cmf log param lr", "is not NAME=VALUE"),
    ],
)
def test_cmf_log_refuses_bad_values_at_once(project: Path, command: str, message: str) -> None:
    result = cmf_run(project, "sh", "-c", f"{command} 2> err.txt; echo $? > code.txt")
    assert result.returncode == 0, result.stderr
    err = (project / "err.txt").read_text()
    assert message in err and "Traceback" not in err
    assert (project / "code.txt").read_text().strip() in ("1", "2")
    assert json.dumps(recorded(project).execution.properties) == "{}"


def test_metrics_file_writes_checked_lines_to_any_path(tmp_path: Path) -> None:
    from cmf_core import InvalidInputError, MetricsFile

    target = tmp_path / "lines.jsonl"
    (tmp_path / "m.bin").write_text("m")
    with MetricsFile.from_environment({"CMF_METRICS_FILE": str(target)}) as out:
        out.log_metric("loss", 0.5)
        out.log_metrics({"loss": 0.4, "acc": 1}, step=2)
        out.log_metrics({"accuracy": 0.9})
        out.log_params({"lr": 0.1})
        out.log_artifact(tmp_path / "m.bin", type="model", event="input")
        with pytest.raises(InvalidInputError, match="cannot be called 'output'"):
            out.log_metric("output", 1)
        with pytest.raises(InvalidInputError, match="non-empty mapping"):
            out.log_metrics({})
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines == [
        {"loss": 0.5},
        {"step": 2, "loss": 0.4, "acc": 1.0},
        {"metric": {"accuracy": 0.9}},
        {"param": {"lr": 0.1}},
        {"input": str(tmp_path / "m.bin"), "type": "model"},
    ]
    with pytest.raises(InvalidInputError, match="Cannot open the metrics file"):
        MetricsFile(tmp_path / "no" / "such" / "dir")
    with pytest.raises(InvalidInputError, match="CMF_METRICS_FILE is not set"):
        MetricsFile.from_environment({})
