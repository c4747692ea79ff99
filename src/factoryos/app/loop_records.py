"""The live loop's proposals as stored documents and back, so that a restarted server still shows
(and a planner can still approve) what the loop proposed before.

A stored document is the proposal's API document (``Proposal.to_json``) with what that leaves
out and a restored proposal needs: when its dispatch lists went out, each trigger's time heard
and a rush order's rows. A proposal stored while its repair was under way (``running``) cannot
go on after a restart: it comes back ``interrupted``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from factoryos.app.loop_repair import Proposal, Trigger
from factoryos.app.plans import DownSpan

__all__ = ["proposal_doc", "proposal_of"]

INTERRUPTED = "the server stopped during this repair"


def proposal_doc(proposal: Proposal) -> dict[str, Any]:
    doc = proposal.to_json()
    doc["published_at"] = proposal.published_at
    doc["triggers"] = [
        t.to_json() | {"observed_at_s": t.observed_at, "rush_csv": t.rush_csv}
        for t in proposal.triggers
    ]
    return doc


def _trigger_of(site: str, doc: dict[str, Any]) -> Trigger:
    down = doc.get("down")
    scrap = doc.get("scrap")
    return Trigger(
        site,
        doc["kind"],
        doc["why"],
        float(doc["observed_at_s"]),
        down=None
        if down is None
        else DownSpan(
            down["equipment"],
            int(down["unit"]),
            dt.datetime.fromisoformat(down["start"]),
            dt.datetime.fromisoformat(down["end"]),
        ),
        scrap=None if scrap is None else (scrap["order_id"], scrap["step"]),
        rush_csv=doc.get("rush_csv"),
        id=doc["id"],
    )


def proposal_of(doc: dict[str, Any]) -> Proposal:
    """A stored proposal as it was; one stored while running, interrupted."""
    site = doc["site"]
    proposal = Proposal(
        site,
        tuple(_trigger_of(site, t) for t in doc["triggers"]),
        doc["parent"],
        dt.datetime.fromisoformat(doc["now"]),
        plan=doc["plan"],
        status=doc["status"],
        moves=tuple(doc.get("moves", ())),
        orders=tuple(doc.get("orders", ())),
        summary=doc["summary"],
        error=doc["error"],
        repair_s=float(doc["repair_s"]),
        check_s=float(doc["check_s"]),
        published_at=doc["published_at"],
        decided_by=doc["decided_by"],
        id=doc["id"],
    )
    if proposal.status == "running":
        proposal.status, proposal.error = "interrupted", INTERRUPTED
    return proposal
