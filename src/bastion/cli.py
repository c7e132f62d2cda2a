"""Command line: ``bastion run | validate | compare | sweep | scenarios | report | replay | feed |
serve | users | audit``.

Bad input (a scenario file, an option, an output folder) ends with one line naming the file,
field and reason, and exit code 2 — never a traceback. ``main`` is the entry point: it turns
usage errors into that one line too, Ctrl-C into exit 130 with nothing half-written, and an
unexpected failure (a bug) into one line pointing at a saved traceback.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
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
from bastion.outcome.output import OutputError, check_output_dir
from bastion.outcome.validate import MIN_RUNS
from bastion.scenario.load import (
    ScenarioError,
    builtin_names,
    builtin_text,
    load_scenario,
    parse_value,
    with_overrides,
)
from bastion.scenario.schema import Scenario

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="bastion — counter-drone site-defence analysis.")
scen_app = typer.Typer(help="List, show and describe scenarios.", invoke_without_command=True)
app.add_typer(scen_app, name="scenarios")
users_app = typer.Typer(help="Users of the live service (bastion serve).", no_args_is_help=True)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="The live service's audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
console = Console()
err = Console(stderr=True)

DEFAULT_RUNS = 100
MAX_SEED = 2**63 - 1  # as the scenario schema
MAX_RUNS = 100_000  # outcomes and event logs of every replication are held in memory
_MAX_SET_CHARS = 10_000
SESSIONS = Path("sessions")  # `bastion serve`'s session folders and, beside them, its database
DEFAULT_DB = SESSIONS / "bastion.db"


def fail(msg: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {msg}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def note(msg: str) -> None:
    err.print(f"[yellow]note:[/] {msg}", highlight=False, soft_wrap=True)


def parse_sets(sets: list[str], option: str = "--set") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in sets:
        k, eq, v = s.partition("=")
        if not eq or not k.strip():
            fail(f"{option} {s!r}: expected PATH=VALUE, e.g. doctrine.weapons_control=hold")
        if len(v) > _MAX_SET_CHARS:
            fail(f"{option} {k.strip()}: value is {len(v):,} characters (at most "
                 f"{_MAX_SET_CHARS:,}); put large changes in a scenario file")
        out[k.strip()] = parse_value(v)
    return out


def load(name: str, sets: list[str] | None = None, option: str = "--set") -> Scenario:
    try:
        sc = load_scenario(name)
        if sets:
            sc = with_overrides(sc, parse_sets(sets, option), label=option)
        return sc
    except ScenarioError as exc:
        fail(str(exc))


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def check_runs(runs: int) -> None:
    if runs > MAX_RUNS:
        fail(f"--runs {runs:,}: at most {MAX_RUNS:,} replications in one call (every "
             "replication's outcomes and events are kept in memory); split the work with "
             "different --seed values")


def effective_workers(workers: int, runs: int) -> int:
    """Never more processes than replications or CPUs: extra ones only cost start-up time
    and memory (results do not depend on the worker count)."""
    cpus = os.cpu_count() or 1
    use = max(1, min(workers, cpus, runs))
    if use < workers:
        why = "replications" if runs < min(workers, cpus) else "CPUs here"
        note(f"--workers {workers}: using {use} (there are only {min(runs, cpus)} {why})")
    return use


class _Plain:
    """Progress as plain lines when stderr is not a terminal (a log, CI, a pipe): a line at
    most every 10 s and at the end, so a long run is never silent."""

    def __init__(self, label: str, total: int, unit: str = "replications") -> None:
        self.label, self.total, self.done, self.unit = label, total, 0, unit
        self.t0 = self.last = time.monotonic()
        print(f"{label}: 0/{total} {unit}", file=sys.stderr, flush=True)

    def advance(self, k: int) -> None:
        self.done += k
        now = time.monotonic()
        if now - self.last >= 10.0 or self.done >= self.total:
            self.last = now
            rate = self.done / max(now - self.t0, 1e-9)
            left = (self.total - self.done) / rate if rate > 0 else math.inf
            eta = f", about {left:.0f} s left" if self.done < self.total else ""
            print(f"{self.label}: {self.done}/{self.total} {self.unit}, "
                  f"{now - self.t0:.0f} s{eta}", file=sys.stderr, flush=True)


Scheduler = Annotated[str | None, typer.Option(
    help="Dask scheduler to run on, tcp://HOST:PORT (default: local processes)")]


def make_executor(workers: int, runs: int, scheduler: str | None) -> Any:
    """Local processes (capped to CPUs and replications) or a Dask cluster."""
    from bastion.sim.executor import ClusterError, Executor

    if scheduler is None:
        return Executor(effective_workers(workers, runs))
    try:
        return Executor(scheduler=scheduler)
    except ClusterError as exc:
        fail(str(exc))


def progress_bar(label: str, total: int, work: Callable[[Callable[[int], None]], Any],
                 unit: str = "replications") -> Any:
    """Run ``work(advance)`` under a progress bar (plain lines when not on a terminal)."""
    if not sys.stderr.isatty():
        return work(_Plain(label, total, unit).advance)
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=err, transient=False) as prog:
        task = prog.add_task(label, total=total)
        return work(lambda k: prog.advance(task, k))


def run_mc(sc: Scenario, runs: int, seed: int | None, workers: int, label: str,
           executor: Any = None) -> Any:
    from bastion.sim.montecarlo import monte_carlo

    check_runs(runs)
    if executor is None:
        workers = effective_workers(workers, runs)
    return progress_bar(label, runs, lambda adv: monte_carlo(
        sc, runs, seed=seed, workers=workers, progress=adv, executor=executor))


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
    never = []
    for name in HEADLINE:
        if name not in s:
            continue
        v = s[name]
        rep = ref.figures.get(name) if ref else None  # type: ignore[call-overload]
        ub = v.get("p_nonzero_upper95")
        if ub is not None:
            never.append(name)
        t.add_row(name, f"{v['mean']:.2f}", "—" if ub is not None else f"{v['se']:.2f}",
                  f"{v['p05']:.0f}–{v['p95']:.0f}", f"{rep.value:g}" if rep else "")
    console.print(t)
    if never:
        ub = s[never[0]]["p_nonzero_upper95"]
        console.print(f"{', '.join(never)}: 0 in all {mc.runs} replications — not proof it "
                      f"cannot happen: at most {100 * ub:.2g} % of raids (one-sided 95 %)")
    console.print(f"{mc.runs} replications in {mc.wall_s:.1f} s "
                  f"({mc.runs / mc.wall_s:.1f}/s on {mc.workers} workers), "
                  f"{mc.steps / mc.runs:.0f} steps per replication")


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="built-in name or YAML file")] = "khmeimim-2018",
    runs: Annotated[int, typer.Option(min=1, help="replications")] = DEFAULT_RUNS,
    seed: Annotated[int | None, typer.Option(
        min=0, max=MAX_SEED, help="overrides the scenario's seed")] = None,
    out: Annotated[Path, typer.Option(help="output directory")] = Path("out"),
    workers: Annotated[int, typer.Option(min=1, help="processes")] = default_workers(),
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override a field: PATH=VALUE (repeatable)")] = None,
    scheduler: Scheduler = None,
) -> None:
    """Run Monte Carlo replications and write the report to OUT.

    OUT is written whole or not at all; results already there move to OUT.1 (OUT.2, …).
    """
    from bastion.outcome.report import write_report

    sc = load(scenario, set_)
    check_runs(runs)
    try:
        check_output_dir(out)  # before the simulation, not after it
    except OutputError as exc:
        fail(str(exc))
    with make_executor(workers, runs, scheduler) as ex:
        mc = run_mc(sc, runs, seed, workers, f"{sc.name}", ex)
    try:
        st = write_report(mc, out)
    except OutputError as exc:
        fail(str(exc))
    print_summary(mc)
    if st.backup is not None:
        note(f"the results that were in {out} are now in {st.backup}")
    console.print(f"report: {out / 'report.html'}\nsummary: {out / 'summary.json'}\n"
                  f"events: {out / 'events.parquet'}")


@app.command()
def validate(
    scenario: Annotated[str, typer.Argument(help="built-in name or YAML file")] = "khmeimim-2018",
    runs: Annotated[int, typer.Option(
        min=1, help=f"replications for the base case (at least {MIN_RUNS})")] = 1000,
    sensitivity_runs: Annotated[int, typer.Option(
        min=0, help="replications per sensitivity variant (0: skip the table)")] = 100,
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED)] = None,
    workers: Annotated[int, typer.Option(min=1)] = default_workers(),
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    scheduler: Scheduler = None,
) -> None:
    """Put the reported outcome against the simulated distribution (exit 0 if consistent)."""
    from bastion.outcome.validate import render_validation, validate_scenario

    sc = load(scenario)
    if sc.reference_outcome is None or not sc.reference_outcome.figures:
        fail(f"{scenario}: the scenario has no reference_outcome figures to validate against")
    if runs < MIN_RUNS:
        # a reported figure's percentile among a handful of runs swings from "consistent"
        # to "not" on noise: such a verdict would be presented as a finding
        fail(f"--runs {runs}: validate needs at least {MIN_RUNS} replications for a "
             "verdict (with fewer, where a reported figure falls among the runs is mostly "
             "noise); use `bastion run` to look at a few")
    check_runs(runs)
    with make_executor(workers, runs, scheduler) as ex:
        res = validate_scenario(
            sc, runs=runs, sensitivity_runs=sensitivity_runs, seed=seed, workers=workers,
            runner=lambda s, n, sd, w, label: run_mc(s, n, sd, w, label, ex))
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
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED)] = None,
    workers: Annotated[int, typer.Option(min=1)] = default_workers(),
    as_json: Annotated[bool, typer.Option("--json")] = False,
    scheduler: Scheduler = None,
) -> None:
    """Compare two variants on the same seeds: paired differences (B − A) with 95 % CIs.

    Example: bastion compare khmeimim-2018 --b doctrine.assignment=optimal
    """
    from bastion.outcome.compare import paired_differences, render_difference
    from bastion.outcome.metrics import HEADLINE

    if not b:
        fail("compare needs at least one --b PATH=VALUE to say how variant B differs")
    check_runs(runs)
    sa, sb = load(scenario, a, "--a"), load(scenario, b, "--b")
    with make_executor(workers, runs, scheduler) as ex:
        ma = run_mc(sa, runs, seed, workers, "A: " + (", ".join(a) if a else "as is"), ex)
        mb = run_mc(sb, runs, seed, workers, "B: " + ", ".join(b), ex)
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
                  f"{r['diff_mean']:+.3g}", render_difference(r))
    console.print(t)
    console.print("A: " + (", ".join(a) if a else "scenario as is") + "   B: " + ", ".join(b))


@app.command()
def coverage(
    scenario: Annotated[str, typer.Argument(help="built-in name or YAML file")] = "khmeimim-2018",
    altitude_m: Annotated[float | None, typer.Option(
        help="drone altitude, m (default: the lowest of the raids' airframes)")] = None,
    rcs_m2: Annotated[float | None, typer.Option(
        help="drone RCS, m² (default: the smallest of the raids' airframes)")] = None,
    resolution_m: Annotated[float | None, typer.Option(
        help="grid spacing, m (default: about 200 × 200 cells per site)")] = None,
    out: Annotated[Path, typer.Option(help="GeoJSON file to write")] = Path("coverage.geojson"),
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override a field: PATH=VALUE (repeatable)")] = None,
) -> None:
    """Coverage maps as GeoJSON: single-look Pd ≥ 0.5 / 0.9 (sensors independent), weapon
    envelopes, jamming footprints and radar blind sectors, per site."""
    from bastion.sim.coverage import coverage_maps

    sc = load(scenario, set_)
    if out.is_dir():
        fail(f"--out {out}: is a folder; give a file name, e.g. {out / 'coverage.geojson'}")
    try:
        cov = coverage_maps(sc, altitude_m=altitude_m, rcs_m2=rcs_m2, resolution_m=resolution_m)
    except ValueError as exc:
        fail(str(exc))
    tmp = out.with_name(f".{out.name}.tmp")
    backup = None
    try:
        tmp.write_text(json.dumps(cov.to_geojson()), encoding="utf-8")
        if out.exists():  # an earlier file is kept, never overwritten
            k = 1
            while out.with_name(f"{out.name}.{k}").exists():
                k += 1
            backup = out.with_name(f"{out.name}.{k}")
            os.replace(out, backup)
        os.replace(tmp, out)  # whole or not at all
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"--out {out}: cannot write: {exc.strerror}")
    console.print(f"{sc.name}: {cov.target.why}", highlight=False)
    for s in cov.sites:
        km2 = (s.resolution_m / 1000.0) ** 2  # one cell
        console.print(
            f"  {s.name}: combined Pd ≥ 0.9 over {(s.combined_pd >= 0.9).sum() * km2:,.0f} km², "
            f"≥ 0.5 over {(s.combined_pd >= 0.5).sum() * km2:,.0f} km², radar blind "
            f"{s.blind.sum() * km2:,.0f} km² "
            f"({', '.join(s.combined_names) or 'no searching sensor'})", highlight=False)
    if backup is not None:
        note(f"the earlier {out} is now {backup}")
    console.print(f"coverage: {out}")


@app.command()
def sweep(
    scenario: Annotated[str, typer.Argument(help="built-in name or YAML file")] = "khmeimim-2018",
    vary: Annotated[list[str] | None, typer.Option(
        "--vary", help="PATH=LOW:HIGH:N or PATH=A,B,C (repeatable: a grid over all)")] = None,
    runs: Annotated[int, typer.Option(min=2, help="replications per point")] = 100,
    goal: Annotated[str | None, typer.Option(
        help="e.g. 'any_asset_hit<=0.01': which points meet it, and the cheapest")] = None,
    minimise: Annotated[str, typer.Option(
        help="what 'cheapest' means: an outcome (mean) or a varied PATH")] = "cost_usd",
    design: Annotated[str, typer.Option(help="grid, or lhs (Latin hypercube)")] = "grid",
    samples: Annotated[int | None, typer.Option(min=1, help="points of an lhs design")] = None,
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED)] = None,
    out: Annotated[Path, typer.Option(help="output directory")] = Path("sweep"),
    workers: Annotated[int, typer.Option(min=1)] = default_workers(),
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="fixed override for every point: PATH=VALUE")] = None,
    scheduler: Scheduler = None,
) -> None:
    """Run the same replications at every point of a grid over scenario fields.

    Example: bastion sweep khmeimim-2018 --vary effectors.khm-pantsir-1-missile.magazine=2:10:5
    --vary effectors.khm-ew-spoofer.p_capture=0.2:0.8:4 --runs 200 --goal 'leaked<=0.5'
    """
    from bastion.outcome.sweep_report import write_sweep_report
    from bastion.sim import sweep as sw

    if not vary:
        fail("sweep needs at least one --vary PATH=LOW:HIGH:N")
    sc = load(scenario, set_)
    try:
        axes = [sw.parse_axis(v, sc) for v in vary]
        the_goal = sw.parse_goal(goal) if goal else None
        n_points = len(sw.design(axes, design, samples, sc.seed if seed is None else seed))
        check_output_dir(out)
    except (ScenarioError, OutputError) as exc:
        fail(str(exc))
    total = n_points * runs
    check_runs(total)
    with make_executor(workers, total, scheduler) as ex:
        res = progress_bar(f"{sc.name}: {n_points} points × {runs}", total, lambda adv: sw.sweep(
            sc, axes, runs, seed=seed, kind=design, samples=samples, executor=ex,
            progress=adv))
    try:
        best = res.best(the_goal, minimise) if the_goal else None
        st = write_sweep_report(res, out, best)
    except (ScenarioError, OutputError) as exc:
        fail(str(exc))
    console.print(f"{n_points} points × {runs} replications in {res.wall_s:.1f} s on "
                  f"{res.workers} workers")
    if best is not None:
        b = best["best"]
        if b is None:
            console.print(f"goal {best['goal']}: no point meets it")
        else:
            setting = ", ".join(f"{a.path}={b[a.path]}" for a in axes)
            s = b["outcomes"][best["outcome"]]
            console.print(f"goal {best['goal']}: {best['points_meeting']} of {n_points} points "
                          f"meet it on the mean, {best['points_meeting_95']} with 95 % "
                          f"confidence; least {minimise}: {setting} (mean {s['mean']:.3g})",
                          highlight=False)
    if st.backup is not None:
        note(f"the results that were in {out} are now in {st.backup}")
    console.print(f"report: {out / 'sweep.html'}\ntable: {out / 'sweep.parquet'}")


@app.command()
def query(
    folder: Annotated[Path, typer.Argument(help="a run or sweep output folder")],
    sql: Annotated[str, typer.Argument(help="SQL over the folder's tables: events, "
                                            "outcomes, sweep")],
    csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout instead of a table")] = False,
    limit: Annotated[int, typer.Option(min=1, help="rows shown in the table")] = 50,
) -> None:
    """Query an output folder's Parquet tables with DuckDB.

    Example: bastion query out "SELECT kind, count(*) FROM events GROUP BY kind"
    """
    import duckdb

    tables = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not tables:
        fail(f"{folder}: no Parquet tables here (expected a bastion run or sweep folder)")
    con = duckdb.connect()
    for p in tables:
        # DDL takes no parameters: quote the name and the path as SQL literals
        name, path = p.stem.replace('"', '""'), str(p).replace("'", "''")
        con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{path}')")
    try:
        rel = con.sql(sql)
        if rel is None:
            fail("query: only queries that return rows (SELECT ...) are allowed")
        cols = rel.columns
        rows = rel.fetchall()
    except duckdb.Error as exc:
        fail(f"query: {str(exc).splitlines()[0]} (tables: "
             f"{', '.join(p.stem for p in tables)})")
    if csv:
        import csv as csvmod

        w = csvmod.writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
        return
    t = Table(title=f"{len(rows):,} rows" + (f" (first {limit})" if len(rows) > limit else ""))
    for c in cols:
        t.add_column(str(c))
    for r in rows[:limit]:
        t.add_row(*[f"{v:.6g}" if isinstance(v, float) else str(v) for v in r])
    console.print(t)


@app.command()
def report(
    session: Annotated[Path, typer.Argument(help="a live session folder (bastion serve)")],
    out: Annotated[Path, typer.Option(help="output directory")] = Path("report"),
) -> None:
    """Write the analysis report of a live session to OUT, as `bastion run` does for a
    simulation (summary.json, events.parquet, outcomes.parquet, report.html)."""
    from bastion.outcome.report import write_report
    from bastion.sim.montecarlo import from_session

    try:
        check_output_dir(out)
        mc = from_session(session)
        write_report(mc, out)
    except (OutputError, ValueError) as exc:
        fail(str(exc))
    console.print(f"report: {out / 'report.html'}")


def _replay_source(log: str, scenario: str | None, replication: int | None,
                   seed: int | None, speed: float) -> Any:
    """A Replay of a live session folder, a `bastion run` folder's representative
    replication (re-simulated) or a scenario's replication (re-simulated)."""
    from bastion.live.replay import Replay
    from bastion.live.session import is_session
    from bastion.scenario.load import scenario_hash
    from bastion.sim.session import replication_tables

    p = Path(log)
    if p.is_dir() and is_session(p):
        return Replay.from_session(p, speed=speed)
    if p.is_dir():
        try:
            summ = json.loads((p / "summary.json").read_text(encoding="utf-8"))
            prov = summ["provenance"]
        except (OSError, ValueError, KeyError, TypeError):
            fail(f"{p}: neither a live session folder nor a `bastion run` output folder")
        name = str(prov.get("scenario", ""))
        if scenario is None and name not in builtin_names():
            fail(f"{p}: ran scenario {name!r}, which is not a built-in: pass its file with "
                 "--scenario FILE")
        sc = load(scenario or name)
        if scenario_hash(sc) != prov.get("scenario_sha256"):
            fail(f"{p}: ran a scenario other than {sc.name!r} as loaded here (overrides?): "
                 "pass it with --scenario FILE")
        rep = summ.get("representative_replication", 0) if replication is None else replication
        seed = int(prov.get("seed", sc.seed)) if seed is None else seed
    else:
        sc = load(log)
        rep = 0 if replication is None else replication
    events, tracks, _ = replication_tables(sc, int(rep), seed)
    return Replay(sc, events.filter(events.column("replication").to_numpy() == int(rep))
                  if events.num_rows else events, tracks, speed=speed,
                  source=f"{sc.name} replication {rep}")


@app.command()
def replay(
    log: Annotated[str, typer.Argument(
        help="a live session folder, a `bastion run` output folder (its representative "
             "replication is re-simulated), or a scenario (built-in name or YAML)")],
    speed: Annotated[float, typer.Option(min=1.0, max=60.0, help="×1 to ×60")] = 1.0,
    print_: Annotated[bool, typer.Option(
        "--print", help="print one line per second of session time")] = False,
    scenario: Annotated[str | None, typer.Option(
        help="the scenario a run folder ran, when it is not the built-in it names")] = None,
    replication: Annotated[int | None, typer.Option(min=0, help="replication to replay")] = None,
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED,
                                             help="overrides the seed")] = None,
    host: Annotated[str, typer.Option(help="address to serve on (default: this machine "
                                           "only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP port (0: any free)")] = 8000,
    db: Annotated[Path, typer.Option(help="users and audit database")] = DEFAULT_DB,
) -> None:
    """Play a recorded session (or a simulated replication) at ×1–×60: in the browser
    through the service (read-only: login as for `bastion serve`), or as text (--print)."""
    if not print_:
        _serve_replay(log, scenario, replication, seed, speed, host, port, db)
        return
    rp = _replay_source(log, scenario, replication, seed, speed)
    t = 0.0
    while True:
        console.print(rp.summary_line(t), highlight=False, soft_wrap=True)
        if t >= rp.t_end_s:
            break
        t = min(t + 1.0, rp.t_end_s)
        time.sleep(1.0 / speed)


def _serve_replay(log: str, scenario: str | None, replication: int | None,
                  seed: int | None, speed: float, host: str, port: int, db: Path) -> None:
    """`bastion replay` without --print: the Replay served as the live picture, through the
    same service as `bastion serve` (users, sessions, audit); decisions refused (409)."""
    import signal

    from bastion.live.db import Database, DbError
    from bastion.live.serve import ServeError, bind
    from bastion.live.serve import serve as run_service

    try:
        Database(db).close()
        sock = bind(host, port)
    except (DbError, ServeError) as exc:
        fail(str(exc))
    if host not in ("127.0.0.1", "::1", "localhost"):
        note(f"--host {host}: reachable from the network; serve it behind a TLS proxy")
    try:
        rp = _replay_source(log, scenario, replication, seed, speed)
    except BaseException:
        sock.close()
        raise
    err.print(f"replaying {rp.source or log} ({rp.t_end_s:,.0f} s of session time at "
              f"x{speed:g}), read-only", highlight=False, soft_wrap=True)
    signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        run_service(rp, db, sock=sock, close_driver=False,
                    start_detail={"replay": rp.source or log, "speed": speed},
                    say=lambda m: err.print(m, highlight=False, soft_wrap=True))
    except (KeyboardInterrupt, _Stopped):
        pass
    err.print("stopped", highlight=False)


@app.command()
def feed(
    scenario: Annotated[str, typer.Argument(help="built-in name or YAML file")] = "khmeimim-2018",
    to: Annotated[str, typer.Option("--to", help="SAPIENT server HOST:PORT")] = "127.0.0.1:7000",
    speed: Annotated[float, typer.Option(
        min=0.01, max=10_000.0, help="simulated seconds per wall-clock second")] = 1.0,
    seed: Annotated[int | None, typer.Option(
        min=0, max=MAX_SEED, help="overrides the scenario's seed")] = None,
    replication: Annotated[int, typer.Option(min=0, max=MAX_RUNS,
                                             help="which replication to play")] = 0,
    asterix: Annotated[str | None, typer.Option(
        "--asterix", help="send radar plots as ASTERIX CAT048 to this UDP HOST:PORT")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override a field: PATH=VALUE (repeatable)")] = None,
    skip_quiet: Annotated[bool, typer.Option(
        "--skip-quiet/--no-skip-quiet",
        help="jump over gaps of more than 5 simulated seconds with no report (report "
             "times are kept, so the service decides the same)")] = True,
) -> None:
    """Play one simulated replication's sensors as SAPIENT nodes into a live C2 (`bastion
    serve`): one TCP connection per sensor and effector, reports at wall-clock pace x SPEED.
    """
    import asyncio

    from bastion.sim.feed import QUIET_S, FeedError, parse_address, plan, play

    sc = load(scenario, set_)
    try:
        host, port = parse_address(to, "--to")
        ax_to = parse_address(asterix, "--asterix") if asterix else None
    except ValueError as exc:
        fail(str(exc))
    err.print(f"simulating {sc.name} replication {replication} ...", highlight=False)
    p = plan(sc, replication, seed)
    err.print(f"{p.detections.m:,} reports over {p.t_end_s:,.0f} s simulated; playing at "
              f"x{speed:g} (about {p.t_end_s / speed:,.0f} s) to {host}:{port}"
              + (f", radar plots as ASTERIX to {ax_to[0]}:{ax_to[1]}" if ax_to else ""),
              highlight=False)

    def work(advance: Callable[[int], None]) -> Any:
        return asyncio.run(play(p, host, port, speed=speed, asterix_to=ax_to,
                                skip_quiet_s=QUIET_S if skip_quiet else None,
                                progress=advance))

    try:
        st = progress_bar("feed", p.detections.m, work, "reports")
    except FeedError as exc:
        fail(str(exc))
    console.print(f"sent {st.reports:,} SAPIENT reports, {st.asterix_plots:,} ASTERIX plots, "
                  f"{st.status_reports:,} status reports from {st.registrations} nodes in "
                  f"{st.wall_s:,.1f} s; {st.tasks_acked} tasks acknowledged; "
                  f"{st.errors} error replies"
                  + (f"; {st.skipped_s:,.0f} s of quiet time skipped" if st.skips else ""))
    for t in st.error_texts:
        note(f"error reply: {t}")


@app.command()
def warmup() -> None:
    """Compile (or load) the numerical kernels now, so the next run starts at once.

    A fresh install compiles them on first use (about 30-40 s on 2 cores), then keeps
    them in the user's cache; run this once after installing, or on each new machine.
    """
    from bastion.sim.warmup import warmup as warm

    console.print(f"kernels ready ({warm():.1f} s)")


class _Stopped(Exception):
    """SIGTERM after the service shut down cleanly (see `serve`)."""


def _raise_stopped(signum: int, frame: object) -> None:
    raise _Stopped


@app.command()
def serve(
    scenario: Annotated[str, typer.Argument(
        help="built-in name or YAML file: site, sensors, effectors, zones, doctrine (raids "
             "are ignored)")],
    host: Annotated[str, typer.Option(help="address to serve on (default: this machine "
                                           "only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP port (0: any free)")] = 8000,
    db: Annotated[Path | None, typer.Option(
        help="users and audit database (default: bastion.db beside --session-dir)")] = None,
    sapient_port: Annotated[int, typer.Option(
        min=0, max=65535, help="SAPIENT TCP port (0: off)")] = 7000,
    asterix_port: Annotated[int, typer.Option(
        min=0, max=65535, help="ASTERIX UDP port (0: off)")] = 0,
    session_dir: Annotated[Path | None, typer.Option(
        help="folder for this session's event log (default: sessions/<UTC start>)")] = None,
    weapons_control: Annotated[str, typer.Option(
        help="hold (no proposals), tight (a person approves each) or free")] = "tight",
    cot: Annotated[str | None, typer.Option(
        "--cot", help="send confirmed tracks as Cursor-on-Target to a TAK server "
                      "(tcp://HOST:PORT) or client (udp://HOST:PORT); default off")] = None,
) -> None:
    """Run the live C2 service: feeds in, air picture in the browser, a person approving
    every engagement. Stop with Ctrl-C or SIGTERM (the session folder is then written)."""
    import signal
    from datetime import UTC, datetime

    from bastion.live.db import Database, DbError
    from bastion.live.serve import ServeError, bind
    from bastion.live.serve import serve as run_service

    if weapons_control not in ("hold", "tight", "free"):
        fail(f"--weapons-control {weapons_control!r}: one of hold, tight, free")
    if cot is not None:
        _check_cot(cot)
    planned = load(scenario)
    # live: the raid is whatever the feeds show; the planned raids still set the
    # identification priors and profiles (the threat mix the site expects)
    sc = planned.model_copy(update={"raids": []})
    if session_dir is None:
        session_dir = SESSIONS / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if session_dir.exists() and (not session_dir.is_dir() or any(session_dir.iterdir())):
        fail(f"--session-dir {session_dir}: already exists and is not an empty folder "
             "(a session is never written over); give a new folder")
    db_path = db if db is not None else session_dir.parent / "bastion.db"
    try:
        Database(db_path).close()  # creates it, or says now that it is no database
        sock = bind(host, port)
    except (DbError, ServeError) as exc:
        fail(str(exc))
    if host not in ("127.0.0.1", "::1", "localhost"):
        note(f"--host {host}: reachable from the network; serve it behind a TLS proxy "
             "(passwords and session cookies travel in the clear over plain HTTP)")
    try:
        from bastion.live.driver import LiveDriver
    except ModuleNotFoundError as exc:
        if exc.name != "bastion.live.driver":
            raise
        sock.close()
        fail("the live driver (bastion.live.driver) is not in this build")
    from bastion.assess.identify import IdentModel

    driver = LiveDriver(sc, session_dir=session_dir, ident=IdentModel.from_scenario(planned),
                        weapons_control=weapons_control)  # type: ignore[arg-type]
    # uvicorn turns SIGTERM into a graceful shutdown, then raises it again: this handler
    # (restored by uvicorn) makes that a clean exit instead of death by signal
    signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        run_service(driver, db_path, sock=sock, sapient_port=sapient_port or None,
                    asterix_port=asterix_port or None, cot_url=cot,
                    start_detail={"scenario": sc.name, "session_dir": str(session_dir),
                                  "weapons_control": weapons_control, "cot": cot},
                    say=lambda m: err.print(m, highlight=False, soft_wrap=True))
    except (KeyboardInterrupt, _Stopped):
        pass
    err.print(f"stopped; session: {session_dir}", highlight=False, soft_wrap=True)


def _check_cot(url: str) -> None:
    """--cot: one line naming what is wrong with the address, before anything starts."""
    from pydantic import ValidationError

    from bastion.live.cot import CotOptions

    try:
        CotOptions(url=url)
    except ValidationError as exc:
        why = exc.errors()[0].get("msg", "not a CoT address").removeprefix("Value error, ")
        fail(f"--cot {url}: {why}")


def _read_password(name: str) -> str:
    """From the terminal (asked twice, not echoed) or the first line of piped stdin — never
    from the command line, where other users and shell history see it."""
    import getpass

    if sys.stdin.isatty():
        pw = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != pw:
            fail("the two passwords differ")
        return pw
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Option(help="viewer, operator (approves) or commander "
                                           "(also weapons control)")],
    db: Annotated[Path, typer.Option(help="the service's database")] = DEFAULT_DB,
    replace: Annotated[bool, typer.Option(
        "--replace", help="change an existing user's password and role")] = False,
) -> None:
    """Add a user to the live service; the password is read from stdin."""
    from bastion.live.audit import AuditLog
    from bastion.live.auth import ROLES, UserError, Users, password_problem
    from bastion.live.db import Database, DbError

    if role not in ROLES:
        fail(f"--role {role!r}: one of {', '.join(ROLES)}")
    pw = _read_password(name)
    why = password_problem(name, pw)
    if why:
        fail(f"password refused: {why}")
    try:
        store = Database(db)
    except DbError as exc:
        fail(str(exc))
    try:
        users = Users(store)
        existed = bool(store.read("SELECT 1 FROM users WHERE name = ?", (name,)))
        users.add(name, role, pw, replace=replace)
        AuditLog(store).append("cli", "user_update" if existed else "user_add", name,
                               {"role": role})
    except UserError as exc:
        fail(str(exc))
    finally:
        store.close()
    console.print(f"{'updated' if existed else 'added'} {name} ({role}) in {db}",
                  highlight=False)


@audit_app.command("verify")
def audit_verify(
    db: Annotated[Path, typer.Argument(help="the service's database")],
) -> None:
    """Walk the audit log's hash chain: OK and the record count (exit 0), or the first
    broken link (exit 1)."""
    from bastion.live.audit import verify
    from bastion.live.db import DbError

    try:
        v = verify(db)
    except DbError as exc:
        fail(str(exc))
    if not v.triggers:
        note(f"{db}: the append-only triggers are missing (someone removed them)")
    if v.ok:
        console.print(f"OK: {v.records} records, chain intact; last hash {v.last_hash}",
                      highlight=False)
        return
    console.print(f"BROKEN at seq {v.broken_seq}: {v.why} ({v.records} records before it "
                  "are intact)", highlight=False)
    raise typer.Exit(1)


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
def scenarios_check(
    path: str,
    runs: Annotated[int, typer.Option(min=1, help="replications, for the estimate")] = 100,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override a field: PATH=VALUE (repeatable)")] = None,
) -> None:
    """Validate a scenario file without running it, and estimate what a run costs."""
    from bastion.sim.estimate import estimate

    sc = load(path, set_)
    n = sc.object_counts()
    console.print(f"{path}: ok ({sc.name}: {n['drones']:,} drones, {len(sc.sensors)} sensors, "
                  f"{len(sc.effectors)} effectors)")
    e = estimate(sc, runs)
    console.print(
        f"  per replication: {e.objects:,} objects "
        f"({', '.join(f'{v:,} {k}' for k, v in n.items() if v) or 'none'}); at most "
        f"{e.steps_max:,} steps of {e.tick_s:g} s over {sc.duration_s:,.0f} s (empty time "
        "is skipped)\n"
        f"  memory: about {e.memory_mib_per_worker:,.0f} MiB per worker process "
        f"({e.block} replications in lock-step), {e.result_mib:,.0f} MiB of results for "
        f"{runs:,} replications", highlight=False)
    for w in e.warnings:
        note(w)
    from bastion.assess.identify import threshold_warnings

    for w in threshold_warnings(sc):
        note(w)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


def main(argv: list[str] | None = None) -> None:
    """The ``bastion`` command: every way out is one line and an exit code."""
    cmd = typer.main.get_command(app)
    try:
        code = cmd.main(args=argv, prog_name="bastion", standalone_mode=False)
    except typer.TyperException as exc:  # typer's (vendored) click usage errors
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `bastion`: show the help
            console.print(ctx.get_help() if ctx else "bastion --help")
            code = 0
        else:
            where = ctx.command_path if ctx else "bastion"
            err.print(f"[bold red]error:[/] {where}: {exc.format_message()} "
                      f"(see {where} --help)", highlight=False, soft_wrap=True)
            code = exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    except MemoryError:
        err.print("[bold red]error:[/] out of memory: try fewer --workers, fewer --runs or a "
                  "smaller raid (`bastion scenarios check` estimates the memory)",
                  highlight=False, soft_wrap=True)
        code = 1
    except Exception as exc:  # a bug: one line here, the traceback in a file to report
        with tempfile.NamedTemporaryFile("w", prefix="bastion-crash-", suffix=".txt",
                                         delete=False) as f:
            traceback.print_exc(file=f)
        first = (str(exc).splitlines() or [""])[0][:200]
        err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {first} — this is a "
                  f"bug in bastion; the traceback is in {f.name}", highlight=False,
                  soft_wrap=True)
        code = 1
    if code == 130:  # Ctrl-C (typer turns it into exit code 130 itself)
        err.print("interrupted (an output folder is only swapped in when complete: nothing "
                  "is half-written)", highlight=False, soft_wrap=True)
    sys.exit(code if isinstance(code, int) else 0)
