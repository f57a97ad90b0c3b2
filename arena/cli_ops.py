"""The ``arena`` commands that act on running arenas: ``arena kill-switch`` (trip or
``--reset``), ``arena release RUN_ID CONTENDER`` and ``arena stop RUN_ID``.

They reach only runs registered on this machine (:mod:`arena.control`), named by run id or,
with ``--all`` and a confirmation, all of them; ``--address`` narrows them to one Ray cluster.
They register on :data:`arena.cli.app` (imported by :mod:`arena.cli`).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from arena.cli import _fail, app, out

__all__ = ["AddressOpt", "AllOpt", "RunOpt", "kill_switch", "release", "stop"]

RunOpt = Annotated[Optional[str], typer.Option("--run", "--run-id", help="the running arena (see `arena runs`)")]
AllOpt = Annotated[bool, typer.Option("--all", help="every running arena registered on this machine")]
AddressOpt = Annotated[
    Optional[str], typer.Option("--address", help="only arenas on the Ray cluster at this GCS address (host:port)")
]


@app.command("kill-switch")
def kill_switch(
    run_id: RunOpt = None,
    all_runs: AllOpt = False,
    reason: Annotated[str, typer.Option(help="why (recorded with the event)")] = "operator",
    reset: Annotated[bool, typer.Option("--reset", help="reset the switch: orders are vetted as usual again")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="no confirmation for --all")] = False,
    address: AddressOpt = None,
) -> None:
    """Trip the arena-wide kill switch of a running arena (--run RUN_ID) or of all (--all): its
    guardian denies every exposure-increasing order (reductions still pass) until --reset."""
    from arena import control

    if (run_id is None) == (not all_runs):
        _fail("name the arena: --run RUN_ID, or --all for every running arena on this machine")
    if all_runs:
        targets = control.running_arenas(address)
        if not targets:
            _fail("no running arena is registered on this machine" + (f" at {address}" if address else ""), code=1)
        verb = "reset the kill switch of" if reset else "trip the kill switch of"
        if not yes and not typer.confirm(f"{verb} {len(targets)} running arena(s): {', '.join(targets)}?"):
            _fail("nothing done", code=1)
    try:
        if reset:
            done = control.reset_kill_switch(run_id, all_runs=all_runs, address=address)
        else:
            done = control.trip_kill_switch(reason, run_id, all_runs=all_runs, address=address)
    except control.NoRunError as exc:
        _fail(str(exc), code=1)
    except (control.NoClusterError, ValueError) as exc:
        _fail(str(exc))
    if not done:
        _fail("the arena(s) ended before the switch reached them", code=1)
    out.print(f"kill switch {'reset' if reset else 'tripped'} for: {', '.join(done)}")


@app.command()
def release(
    run_id: Annotated[str, typer.Argument(help="the running arena")],
    contender: Annotated[str, typer.Argument(help="the contender whose latches are lifted")],
    address: AddressOpt = None,
) -> None:
    """Lift a contender's latches (drawdown halt, Sharpe-floor suspension) in a running arena:
    its orders are vetted as usual again. Recorded as a CONTENDER_RELEASED event."""
    from arena import control

    try:
        codes = control.release_contender(run_id, contender, address=address)
    except control.NoRunError as exc:
        _fail(str(exc), code=1)
    except (control.NoClusterError, ValueError) as exc:
        _fail(str(exc))
    out.print(f"released {contender} in {run_id}" + (f" (was latched: {', '.join(codes)})" if codes else
                                                     " (nothing was latched)"))


@app.command()
def stop(run_id: Annotated[str, typer.Argument(help="the running arena")]) -> None:
    """Stop a running arena on this machine, as SIGTERM to its driver would: it stops after the
    bars in flight, snapshots every contender and the guardian and is recorded as stopped,
    within seconds; `arena run CONFIG --resume RUN_ID` goes on with it."""
    from arena import control

    try:
        pid = control.stop_run(run_id)
    except control.NoRunError as exc:
        _fail(str(exc), code=1)
    except control.NoClusterError as exc:
        _fail(str(exc))
    out.print(f"stopping {run_id} (SIGTERM to its driver, pid {pid}); resume it with "
              f"`arena run CONFIG --resume {run_id}`")
