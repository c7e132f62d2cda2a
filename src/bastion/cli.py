"""Command line: ``bastion run | validate | scenarios``.

Bad input (a scenario file, an option) ends with one line naming the file, field and
reason, and exit code 2 — never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from bastion._version import __version__
from bastion.scenario.load import (
    ScenarioError,
    builtin_names,
    builtin_text,
    load_scenario,
    with_overrides,
)
from bastion.scenario.schema import Scenario

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="bastion — counter-drone site-defence analysis.")
scen_app = typer.Typer(help="List, show and describe scenarios.", invoke_without_command=True)
app.add_typer(scen_app, name="scenarios")
console = Console()
err = Console(stderr=True)

DEFAULT_RUNS = 100


def fail(msg: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {msg}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def parse_sets(sets: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in sets:
        if "=" not in s:
            fail(f"--set {s!r}: expected PATH=VALUE, e.g. doctrine.weapons_control=hold")
        k, v = s.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


def load(name: str, sets: list[str] | None = None) -> Scenario:
    try:
        sc = load_scenario(name)
        if sets:
            sc = with_overrides(sc, parse_sets(sets))
        return sc
    except ScenarioError as exc:
        fail(str(exc))


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def run_mc(sc: Scenario, runs: int, seed: int | None, workers: int, label: str) -> Any:
    from bastion.sim.montecarlo import monte_carlo

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=err, transient=False, disable=not sys.stderr.isatty()) as prog:
        task = prog.add_task(label, total=runs)
        return monte_carlo(sc, runs, seed=seed, workers=workers,
                           progress=lambda k: prog.advance(task, k))


def print_summary(mc: Any) -> None:
    from bastion.outcome.metrics import HEADLINE

    s = mc.summary()
    ref = mc.scenario.reference_outcome
    t = Table(title=f"{mc.scenario.name}: {mc.runs} replications, seed {mc.seed}")
    t.add_column("outcome")
    t.add_column("mean", justify="right")
    t.add_column("± s.e.", justify="right")
    t.add_column("5–95 %", justify="right")
    t.add_column("reported", justify="right")
    for name in HEADLINE:
        if name not in s:
            continue
        v = s[name]
        rep = ref.figures.get(name) if ref else None  # type: ignore[call-overload]
        t.add_row(name, f"{v['mean']:.2f}", f"{v['se']:.2f}",
                  f"{v['p05']:.0f}–{v['p95']:.0f}", f"{rep.value:g}" if rep else "")
    console.print(t)
    console.print(f"{mc.runs} replications in {mc.wall_s:.1f} s "
                  f"({mc.runs / mc.wall_s:.1f}/s on {mc.workers} workers), "
                  f"{mc.steps / mc.runs:.0f} steps per replication")


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="built-in name or YAML file")] = "khmeimim-2018",
    runs: Annotated[int, typer.Option(min=1, help="replications")] = DEFAULT_RUNS,
    seed: Annotated[int | None, typer.Option(min=0, help="overrides the scenario's seed")] = None,
    out: Annotated[Path, typer.Option(help="output directory")] = Path("out"),
    workers: Annotated[int, typer.Option(min=1, help="processes")] = default_workers(),
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override a field: PATH=VALUE (repeatable)")] = None,
) -> None:
    """Run Monte Carlo replications and write the report to OUT."""
    from bastion.outcome.report import report

    sc = load(scenario, set_)
    mc = run_mc(sc, runs, seed, workers, f"{sc.name}")
    path = report(mc, out)
    print_summary(mc)
    console.print(f"report: {path}\nsummary: {out / 'summary.json'}\n"
                  f"events: {out / 'events.parquet'}")


@app.command()
def validate(
    scenario: Annotated[str, typer.Argument(help="built-in name or YAML file")] = "khmeimim-2018",
    runs: Annotated[int, typer.Option(min=1, help="replications for the base case")] = 1000,
    sensitivity_runs: Annotated[int, typer.Option(
        min=0, help="replications per sensitivity variant (0: skip the table)")] = 100,
    seed: Annotated[int | None, typer.Option(min=0)] = None,
    workers: Annotated[int, typer.Option(min=1)] = default_workers(),
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Put the reported outcome against the simulated distribution (exit 0 if consistent)."""
    from bastion.outcome.validate import render_validation, validate_scenario

    sc = load(scenario)
    if sc.reference_outcome is None or not sc.reference_outcome.figures:
        fail(f"{scenario}: the scenario has no reference_outcome figures to validate against")
    res = validate_scenario(sc, runs=runs, sensitivity_runs=sensitivity_runs, seed=seed,
                            workers=workers, runner=run_mc)
    if as_json:
        console.print_json(json.dumps(res))
    else:
        render_validation(res, console)
    raise typer.Exit(0 if res["consistent"] else 1)


@app.command()
def compare(
    scenario: Annotated[str, typer.Argument(help="built-in name or YAML file")] = "khmeimim-2018",
    a: Annotated[list[str] | None, typer.Option(
        "--a", help="variant A override PATH=VALUE (repeatable; none = scenario as is)")] = None,
    b: Annotated[list[str] | None, typer.Option(
        "--b", help="variant B override PATH=VALUE (repeatable)")] = None,
    runs: Annotated[int, typer.Option(min=2)] = 50,
    seed: Annotated[int | None, typer.Option(min=0)] = None,
    workers: Annotated[int, typer.Option(min=1)] = default_workers(),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Compare two variants on the same seeds: paired differences (B − A) with 95 % CIs.

    Example: bastion compare khmeimim-2018 --b doctrine.assignment=optimal
    """
    from bastion.outcome.compare import paired_differences
    from bastion.outcome.metrics import HEADLINE

    if not b:
        fail("compare needs at least one --b PATH=VALUE to say how variant B differs")
    sa, sb = load(scenario, a), load(scenario, b)
    ma = run_mc(sa, runs, seed, workers, "A: " + (", ".join(a) if a else "as is"))
    mb = run_mc(sb, runs, seed, workers, "B: " + ", ".join(b))
    rows = paired_differences(ma, mb, [*HEADLINE, "mean_kill_margin_s"])
    if as_json:
        console.print_json(json.dumps({"a": a or [], "b": b, "runs": runs, "seed": ma.seed,
                                       "paired": rows}))
        return
    t = Table(title=f"{sa.name}: B − A on {runs} paired replications (seed {ma.seed})")
    for c in ("outcome", "A mean", "B mean", "B − A", "95 % CI"):
        t.add_column(c, justify="left" if c == "outcome" else "right")
    for r in rows:
        t.add_row(str(r["outcome"]), f"{r['a_mean']:.3g}", f"{r['b_mean']:.3g}",
                  f"{r['diff_mean']:+.3g}", f"[{r['ci95_low']:+.3g}, {r['ci95_high']:+.3g}]")
    console.print(t)
    console.print("A: " + (", ".join(a) if a else "scenario as is") + "   B: " + ", ".join(b))


@scen_app.callback()
def scenarios(ctx: typer.Context) -> None:
    """List the built-in scenarios."""
    if ctx.invoked_subcommand is not None:
        return
    t = Table(title="built-in scenarios")
    t.add_column("name")
    t.add_column("description")
    for n in builtin_names():
        t.add_row(n, load_scenario(n).description)
    console.print(t)


@scen_app.command("show")
def scenarios_show(name: str) -> None:
    """Print a built-in scenario as YAML, ready to copy and edit."""
    try:
        sys.stdout.write(builtin_text(name))
    except ScenarioError as exc:
        fail(str(exc))


@scen_app.command("schema")
def scenarios_schema() -> None:
    """Print the scenario JSON Schema."""
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")


@scen_app.command("check")
def scenarios_check(path: str) -> None:
    """Validate a scenario file without running it."""
    sc = load(path)
    console.print(f"{path}: ok ({sc.name}: {sum(r.count for r in sc.raids)} drones, "
                  f"{len(sc.sensors)} sensors, {len(sc.effectors)} effectors)")


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


def main() -> None:  # pragma: no cover
    app()
