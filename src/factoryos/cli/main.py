"""The ``factoryos`` command: one entry point for people and CI."""

from __future__ import annotations

import typer

from factoryos.cli import (
    assess,
    db,
    deadletters,
    events,
    fit,
    ingest,
    kpi,
    program,
    risk,
    robustness,
    schedule,
    serve,
    simulate,
    users,
    validate,
)

app = typer.Typer(
    name="factoryos",
    help="The software core of a smart factory: plant model, events, ISO 22400 KPIs, twin, plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("validate")(validate.validate)
app.command("import")(events.import_events)
app.command("kpi")(kpi.kpi)
app.command("bench-schedule")(schedule.bench_schedule)
app.command("schedule")(schedule.schedule)
app.command("repair")(schedule.repair)
app.command("simulate")(simulate.simulate)
app.command("compare")(simulate.compare)
app.command("demo")(simulate.demo)
app.add_typer(db.app, name="db")
app.command("assess")(assess.assess)
app.command("serve")(serve.serve)
app.add_typer(users.app, name="users")
app.command("fit")(fit.fit)
app.add_typer(ingest.app, name="ingest")
app.add_typer(deadletters.app, name="deadletters")
app.add_typer(program.app, name="program")
app.add_typer(risk.app, name="risk")
app.command("robustness")(robustness.robustness)


if __name__ == "__main__":
    app()
