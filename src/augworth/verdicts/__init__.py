"""The verdict layer: one module per chapter, one function per claim.

Each function takes its chapter's analysis results (never raw files) and returns a
:class:`~augworth.verdicts.rules.Decision`: the verdict, the effect with its interval over
seeds, the rule, the checks it depends on (a failed check makes it inconclusive, with the
reason), the seeds used and, when undecided, the seeds a power calculation says would decide
it. Notebooks call a chapter's ``decide_all``, then :func:`publish` (the claim records the
scorecard reads) and :func:`show`; no notebook computes a verdict itself.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from .rules import LABELS, Check, Decision, conclude, decide, decide_within

__all__ = ["LABELS", "Check", "Decision", "conclude", "decide", "decide_within", "publish", "show", "describe"]


def publish(decisions: Mapping[str, Decision], *, result, profile: str, dataset: str) -> list:
    """Write each decision as its claim's record (with ``result``'s provenance); returns them."""
    from .. import claims

    return [claims.record(d, result=result, profile=profile, dataset=dataset) for d in decisions.values()]


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def describe(d: Decision, width: int = 76) -> str:
    """The decision as a few lines of text: verdict, number and interval, rule, checks, seeds."""
    ival = "" if d.interval is None else f" (95% CI {_num(d.interval[0])} to {_num(d.interval[1])})"
    lines = [f"{d.claim}: {d.verdict.upper()}  measured {_num(d.measured)}{ival}"]
    lines += textwrap.wrap(f"rule: {d.rule}", width, initial_indent="  ", subsequent_indent="    ")
    lines += textwrap.wrap(d.summary, width, initial_indent="  ", subsequent_indent="    ")
    for c in d.checks:
        lines += textwrap.wrap(f"[{'pass' if c.passed else 'FAIL'}] {c.name}: {c.detail}", width,
                               initial_indent="  ", subsequent_indent="         ")
    if d.n_seeds is not None:
        seeds = f"  seeds used: {d.n_seeds}"
        if d.verdict == "inconclusive":
            if d.seeds_needed:
                seeds += f"; needs ~{d.seeds_needed} seeds to decide (80% power)"
            elif any(not c.passed and c.name != "seeds" for c in d.checks):
                seeds += "; more seeds would not decide it: a check failed"
            else:
                seeds += "; seeds needed: not estimable (no spread, or the effect sits on the threshold)"
        lines += textwrap.wrap(seeds, width, subsequent_indent="    ")
    return "\n".join(lines)


def show(decisions: Mapping[str, Decision]) -> None:
    """Print every decision (the chapter's verdict cell)."""
    print("\n\n".join(describe(d) for d in decisions.values()))


#: Profiles whose verdicts are confirmatory (pre-registered, converged); the others' are labelled
#: exploratory on their pages.
CONFIRMATORY_PROFILES = ("book",)

COLOURS = {"supported": "#029e73", "not supported": "#d55e00", "inconclusive": "#6b6b6b"}


def result_box(decisions: Mapping[str, Decision], *, profile: str, dataset: str):
    """The box that opens a chapter: each claim's verdict, the number with its interval, the
    paper's number and the regime (an IPython HTML object; the notebook glues it to the top of
    its page, so the page opens with results computed by this run)."""
    from html import escape

    from IPython.display import HTML

    from .. import claims

    rows = []
    for d in decisions.values():
        c = claims.CLAIMS[d.claim]
        ival = "" if d.interval is None else f" <small>(95% CI {_num(d.interval[0])} to {_num(d.interval[1])})</small>"
        why = "".join(f"<br><small>{escape(r)}</small>" for r in d.reasons)
        rows.append(f"<tr><td style='padding:2px 8px 2px 0'><b>{d.claim}</b></td>"
                    f"<td style='padding:2px 8px'><b style='color:{COLOURS[d.verdict]}'>{d.verdict}</b>{why}</td>"
                    f"<td style='padding:2px 8px'>{_num(d.measured)}{ival}<br><small>{escape(d.rule)}</small></td>"
                    f"<td style='padding:2px 8px'><small>paper: {escape(c.paper_number)}</small></td></tr>")
    n = max((d.n_seeds for d in decisions.values() if d.n_seeds is not None), default=None)
    seeds = "" if n is None else f", {n} seeds"
    kind = "" if profile in CONFIRMATORY_PROFILES else (
        "; <b>exploratory</b>: short budgets, convergence not checked over seeds, nothing pre-registered")
    head = (f"<b>Results at our scale</b> <small>({escape(profile)} profile, {escape(dataset)}{seeds}{kind}; "
            "the numbers, checks and seeds needed are in the Verdicts section)</small>")
    return HTML("<div style='border-left:4px solid #029e73;background:#f3fbf7;padding:8px 12px;margin:8px 0;"
                f"font-size:0.9em;overflow-x:auto'>{head}<table style='margin-top:4px'>{''.join(rows)}</table></div>")
