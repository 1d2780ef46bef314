"""`jikimi estimate --incidents --org SLUG [--by act-type|determination] [--lists K,K]
[--method …] [--level 0.95] [--seed N] [--json]`: the estimate of the estimates page and API
on incident lists (issue #14 point 7), from the command line.

A capture history per person from the organisation's return acts: each source kind with
information on them is a list (`--lists case_file,ngo_list` chooses; default every kind the
organisation's return acts have), stratified by act type or by the current return
determination. The work is `inapp.run_estimate`'s, unchanged: the same lists, the same
linkage of people, the same minimum per stratum, the same cache and audit (`estimate.run`,
no actor: the command is the operator's). It reads the database, so it needs Django; the
file estimates of `jikimi.estimates.command` do not and stay without it (that module only
hands `--incidents` over to this one).

The command acts as the organisation's analyst would (pseudonymous data only: person ids
and counts, never a name). Exit codes as for a file (DESIGN §8): 2 bad input (unknown
organisation, list or option), 3 no finite estimate for the total (saying why), 1 else.
"""

from __future__ import annotations

import json
from typing import Any

from jikimi.estimates.command import EstimateFailed, format_table

BY = {"act-type": "act_type", "act_type": "act_type", "determination": "determination"}


def _setup() -> None:
    """Django, when the console script's fast path brought us here without it."""
    from django.apps import apps

    if not apps.ready:
        import django

        django.setup()


def _operator(slug: str):
    """An unsaved analyst of the organisation: what the in-app estimate's access rules
    need (a role that runs estimates, one organisation), with no account behind it."""
    from jikimi.accounts.models import Organisation, Role, User

    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise EstimateFailed(
            f"no organisation {slug!r}: create it with `jikimi init --org {slug}`", 2
        )
    return User(username=f"jikimi-estimate@{slug}", organisation=organisation, role=Role.ANALYST)


def run(options: dict[str, Any]) -> str:
    """The text the command prints; EstimateFailed with the exit code when it fails."""
    if options.get("path"):
        raise EstimateFailed("give either PATH or --incidents, not both", 2)
    if options.get("records"):
        raise EstimateFailed("--records reads a file; it does not go with --incidents", 2)
    if not options.get("org"):
        raise EstimateFailed("--incidents needs --org SLUG (the organisation's acts)", 2)
    by = options.get("by")
    if by and by not in BY:
        raise EstimateFailed(f"--by: choose act-type or determination, not {by!r}", 2)
    if options.get("bootstrap", 0) < 0:
        raise EstimateFailed("--bootstrap must be zero or positive", 2)
    _setup()
    from django.utils import translation

    with translation.override("en"):
        return _run(options, BY.get(by or ""))


def _run(options: dict[str, Any], stratify_by: str | None) -> str:
    from jikimi.estimates import inapp

    user = _operator(options["org"])
    if options.get("lists"):
        kinds = [k.strip() for k in options["lists"].split(",") if k.strip()]
    else:
        kinds = [
            name[len(inapp.INCIDENT_LIST_PREFIX) :]
            for name, _n in inapp.available_lists(user)
            if name.startswith(inapp.INCIDENT_LIST_PREFIX)
        ]
    lists = [inapp.INCIDENT_LIST_PREFIX + k.removeprefix(inapp.INCIDENT_LIST_PREFIX) for k in kinds]
    opts = {
        name: options[name]
        for name in ("delta", "samples", "burnin", "thin")
        if options.get(name) is not None
    }
    if options.get("bootstrap"):
        opts["bootstrap"] = options["bootstrap"]
    try:
        result = inapp.run_estimate(
            user,
            lists=lists,
            method=options["method"],
            level=options["level"],
            stratify_by=stratify_by,
            seed=options["seed"],
            **opts,
        )
    except inapp.EstimateRequestError as exc:
        problems = "; ".join(f"{k}: {v}" for k, v in exc.messages().items())
        raise EstimateFailed(f"incidents of {options['org']}: {problems}", 2) from exc
    if result.total.estimate is None:
        raise EstimateFailed(f"incidents of {options['org']}: {result.total.reason}", 3)
    if options["json"]:
        return json.dumps(result.to_json_dict(), ensure_ascii=False)
    return _text(result, options["org"])


def _interval(stratum) -> str:
    estimate = stratum.estimate
    if estimate is None:
        return f"no estimate: {stratum.reason}"
    lo, hi = estimate.interval
    return (
        f"{estimate.estimate:,.1f} [{lo:,.1f}, {hi:,.1f}] "
        f"(observed {stratum.observed:,}, {estimate.level:.0%})"
    )


def _text(result, org: str) -> str:
    histories = result.histories
    lines = [f"Incidents of {org}: {histories.individuals:,} individuals on the lists"]
    lines += [str(w) for w in histories.warnings]
    lines.append(format_table(result.total.estimate))
    if histories.stratify_by:
        label = histories.stratify_by.replace("_", " ")
        lines.append(f"By {label}:")
        lines.extend(f"  {s.stratum}: {_interval(s)}" for s in result.strata)
    return "\n".join(lines)
