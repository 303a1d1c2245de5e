"""The verdict layer: one module per chapter, one function per claim.

Each function takes its chapter's analysis results (never raw files) and returns a
:class:`~augworth.verdicts.rules.Decision`: the verdict, the effect with its interval over
seeds, the rule, the checks it depends on (a failed check makes it inconclusive, with the
reason), the seeds used and, when undecided, the seeds a power calculation says would decide
it. Notebooks call a chapter's ``decide_all``, then :func:`publish` (the claim records the
scorecard reads) and :func:`show`; no notebook computes a verdict itself.
"""

from __future__ import annotations

import math

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from .rules import LABELS, Check, Decision, ToDecide, conclude, decide, decide_within, to_decide

__all__ = ["LABELS", "Check", "Decision", "conclude", "decide", "decide_within", "publish", "show", "describe",
           "seed_view", "SeedView", "to_decide", "ToDecide", "decision_costs", "longer_budget_table",
           "longer_pilot", "beside_longer_pilot", "Again", "registered_again", "publish_final", "show_again"]

#: The fewest confirmatory seeds a value must hold for its verdicts to be read on them alone.
MIN_CONFIRMATORY = 2


@dataclass(frozen=True)
class SeedView:
    """A runner's value as its profile's pre-registration divides it (:func:`seed_view`)."""

    page: dict                  # what the page's tables, figures and verdicts read
    exploratory: dict | None    # the exploratory seeds' models (confirmatory profiles), else None
    confirmatory: bool          # the page's verdicts are the pre-registered confirmatory ones
    seeds: tuple[int, ...]      # the seeds ``page`` holds
    exploratory_seeds: tuple[int, ...] = ()

    def describe(self) -> str:
        """The seeds in words, for the provenance box."""
        seeds = ", ".join(map(str, self.seeds))
        if not self.confirmatory:
            return seeds
        return (f"{seeds} (confirmatory: the page and its verdicts)"
                + (f"; {', '.join(map(str, self.exploratory_seeds))} (exploratory: the verdicts beside)"
                   if self.exploratory_seeds else ""))

    def decide(self, decide_all: Callable[[dict], Mapping[str, Decision]]
               ) -> tuple[dict[str, Decision], dict[str, Decision] | None]:
        """``(verdicts on the page's seeds, the same rules on the exploratory seeds)``; the second is
        None on an exploratory profile and {} on a confirmatory one whose value holds no exploratory
        seeds. Each decision lists only the seeds its value holds."""
        def on(value, seeds):
            return {k: replace(d, seeds=tuple(s for s in d.seeds if s in seeds)) if d.seeds else d
                    for k, d in decide_all(value).items()}

        page = on(self.page, set(self.seeds))
        if not self.confirmatory:
            return page, None
        return page, (on(self.exploratory, set(self.exploratory_seeds)) if self.exploratory is not None else {})


def seed_view(value: dict, chapter: str, profile: str) -> SeedView:
    """``value`` divided as the profile's pre-registration says (:mod:`augworth.prereg`). Where the
    profile registered confirmatory seeds and the value holds at least MIN_CONFIRMATORY of them,
    the page reads those seeds alone (plus the choice seeds a chapter chooses on and never tests
    on), and the exploratory seeds' models are kept apart for the verdicts shown beside. Elsewhere
    (no registration, or parameters that left the confirmatory seeds out) the page reads every
    seed and its verdicts are exploratory."""
    from .. import prereg
    from ..analysis.seeds import restrict, seeds_in

    reg = prereg.load(profile)
    held = seeds_in(value)
    conf = set(reg.confirmatory_seeds(chapter)) & held if reg else set()
    if len(conf) < MIN_CONFIRMATORY:
        return SeedView(value, None, False, tuple(sorted(held)))
    page = conf | (set(value.get("choice_seeds") or ()) & held)
    explore = set(reg.exploratory) & held
    return SeedView(restrict(value, page), restrict(value, explore) if len(explore) >= MIN_CONFIRMATORY else None,
                    True, tuple(sorted(page)), tuple(sorted(explore)))


def publish(decisions: Mapping[str, Decision], *, result, profile: str, dataset: str,
            exploratory: Mapping[str, Decision] | None = None, again: "Again | None" = None,
            earlier: Mapping[str, Decision] | None = None) -> list:
    """Write each decision as its claim's record (with ``result``'s provenance); returns them.
    ``exploratory``: the same claims read on the exploratory seeds (:meth:`SeedView.decide`; None on
    an exploratory profile), recorded
    beside a confirmatory verdict with the deviations its pre-registration lists. ``again``: the
    decisions come from a later registration (:func:`registered_again`), whose number and
    deviations the records carry, with ``earlier`` (the first registration's verdicts) beside."""
    from .. import claims, prereg

    reg = again.registration if again is not None else (prereg.load(profile) if exploratory is not None else None)
    return [claims.record(d, result=result, profile=profile, dataset=dataset,
                          stage="confirmatory" if reg else "exploratory",
                          exploratory=summary_of((exploratory or {}).get(d.claim)),
                          deviations=tuple(reg.deviations_for(d.claim)) if reg else (),
                          registration=again.registration.number if again is not None else 1,
                          earlier=summary_of((earlier or {}).get(d.claim)) if again is not None else None)
            for d in decisions.values()]


@dataclass(frozen=True)
class Again:
    """A later registration of a chapter's claims (:func:`augworth.prereg.later`): its parameters,
    its stored result (None until it is computed: a page never computes it) and its verdicts on
    its own confirmatory seeds ({} while not stored)."""

    registration: object          # prereg.LaterRegistration
    params: object
    result: object | None
    decisions: dict

    @property
    def seeds_text(self) -> str:
        """Its confirmatory seeds in words (200-207, or a list)."""
        seeds = self.registration.seeds(next(iter(self.registration.chapters)))
        return f"{seeds[0]}-{seeds[-1]}" if seeds == tuple(range(seeds[0], seeds[-1] + 1)) else ", ".join(map(str, seeds))

    def describe(self) -> str:
        r = self.registration
        return (f"registration {r.number} ({r.file}, registered {r.registered}): {', '.join(r.claims)} on seeds "
                f"{self.seeds_text}" + ("" if self.result is not None else ": not computed yet (make confirm REG="
                             f"{r.number} computes it)"))


def with_longer_runs(chapter: str, reg, p, value: dict) -> dict:
    """The runner's ``value``, with the runs a registration trains beside its runner attached: a
    B4 gate on B4's own metric reads its policy's runs with twice the epochs (``b4_longer``,
    :func:`augworth.experiments.b4_longer.stored_runs`), which the class_level runner does not
    train."""
    from ..experiments import b4_longer

    if chapter == "class_level" and "B4" in reg.claims and b4_longer.gated(reg.gates):
        return {**value, "b4_longer": b4_longer.stored_runs(p, value)}
    return value


def registered_again(chapter: str, profile: str, params: Mapping | None,
                     decide_value: Callable[..., Mapping[str, Decision]], *,
                     confirmatory: bool = True) -> list[Again]:
    """The later registrations of ``chapter`` on ``profile``, each with its verdicts read by
    ``decide_value(value, params, gates=...)`` on its stored result (the claims it registers only;
    ``gates``: the registration's convergence gate per claim, :attr:`prereg.LaterRegistration.gates`). ``params``:
    the page's own, which a registration's overrides replace where they name the same field.
    ``confirmatory``: whether the page reads the first registration's confirmatory seeds
    (:attr:`SeedView.confirmatory`); a page that does not (a replication on disjoint seeds, other
    parameters) is not superseded by a later registration: none is returned."""
    from .. import config, prereg
    from ..analysis.seeds import seeds_in
    from ..experiments.registry import stored

    out = []
    for reg in prereg.later_for(profile, chapter) if confirmatory else ():
        p = config.load_params(chapter, profile, {**(params or {}), **reg.chapters[chapter]})
        result = stored(chapter, p)
        decisions = {}
        if result is not None:
            held = seeds_in(result.value)
            if not held <= set(reg.seeds(chapter)) | set(result.value.get("choice_seeds") or ()):
                raise ValueError(f"{reg.file}: the stored {chapter} result holds seeds {sorted(held)}, "
                                 f"not only the registered {list(reg.seeds(chapter))}")
            named = {"shown": reg.shown} if reg.shown else {}  # A2's and B1's decide_all take it (prereg.SHOWN_CLAIMS)
            if reg.readings:  # exchange_rate's decide_value takes it (prereg.READINGS)
                named["readings"] = reg.readings
            # the page reads the runs its gate read: attached once, to the result it keeps
            result = replace(result, value=with_longer_runs(chapter, reg, p, result.value))
            decisions = {k: d for k, d in decide_value(result.value, p, gates=reg.gates, **named).items()
                         if k in reg.claims}
        out.append(Again(reg, p, result, decisions))
    return out


def publish_final(decisions: Mapping[str, Decision], exploratory: Mapping[str, Decision] | None,
                  again: list[Again], *, result, profile: str, dataset: str) -> dict[str, Decision]:
    """Write each claim's record from its latest registration whose result is stored (a later
    one, with the first registration's verdict beside it), else from ``decisions``; returns the
    verdicts the page's result box shows (the same choice)."""
    latest = {k: a for a in again for k in a.decisions}  # by number: the last one wins
    publish({k: d for k, d in decisions.items() if k not in latest}, result=result, profile=profile,
            dataset=dataset, exploratory=exploratory)
    final = dict(decisions)
    for a in again:
        mine = {k: d for k, d in a.decisions.items() if latest[k] is a}
        if mine:
            publish(mine, result=a.result, profile=profile, dataset=dataset, exploratory={}, again=a, earlier=decisions)
            final.update(mine)
    return final


def show_again(again: list[Again], earlier: Mapping[str, Decision]) -> None:
    """Print each later registration's verdicts, with the first registration's beside them."""
    if not again:
        print("this profile registers no later run of this chapter")
    for a in again:
        print(a.describe())
        if a.decisions:
            print()
            show(a.decisions)
            for k in a.decisions:
                e = earlier.get(k)
                if e is not None:
                    print(f"\n  registration 1 ({k}): {e.verdict} {_num(e.measured)}{_ci(e.interval, level=e.level)}"
                          + (f"; gated: {'; '.join(e.reasons)}" if e.reasons else ""))


def summary_of(d: Decision | None) -> dict | None:
    """What a record keeps of the verdict shown beside it: verdict, number, interval, seeds, why."""
    if d is None:
        return None
    return {"verdict": d.verdict, "measured": d.measured, "interval": d.interval, "level": d.level,
            "n_seeds": d.n_seeds, "seeds": list(d.seeds), "reasons": d.reasons}


def _num(v: float) -> str:
    if not math.isfinite(v):
        return "no number"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def level_text(level: float) -> str:
    """An interval's coverage as a reader writes it: 95%, 98.9%, 99.69%."""
    for digits in range(4):
        if round(100 * level, digits) == round(100 * level, 6):
            return f"{100 * level:.{digits}f}%"
    return f"{100 * level:.2f}%"


def _ci(interval, label: str | None = None, level: float = 0.95) -> str:
    """' (95% CI lo to hi)' (the coverage ``level`` named unless a ``label`` is given), or ''
    without an interval (or one not identified: NaN ends)."""
    if interval is None or not all(math.isfinite(v) for v in interval):
        return ""
    label = f"{level_text(level)} CI " if label is None else label
    return f" ({label}{_num(interval[0])} to {_num(interval[1])})"


def describe(d: Decision, width: int = 76) -> str:
    """The decision as a few lines of text: verdict, number and interval, rule, checks, seeds."""
    lines = [f"{d.claim}: {d.verdict.upper()}  measured {_num(d.measured)}{_ci(d.interval, level=d.level)}"]
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
            elif d.reasons:
                seeds += f"; to decide: {to_decide(d).text()}"
            else:
                seeds += "; seeds needed: not estimable (no spread, or the effect sits on the threshold)"
        lines += textwrap.wrap(seeds, width, subsequent_indent="    ")
    return "\n".join(lines)


def beside_text(e: Decision | None) -> str:
    """One line for the exploratory verdict shown beside a confirmatory one."""
    if e is None:
        return "exploratory seeds: no verdict (the value holds none of them)"
    seeds = f", seeds {', '.join(map(str, e.seeds))}" if e.seeds else ""
    return f"exploratory{seeds}: {e.verdict} {_num(e.measured)}{_ci(e.interval, level=e.level)}" + (
        f"; gated: {'; '.join(e.reasons)}" if e.reasons else "")


def show(decisions: Mapping[str, Decision], exploratory: Mapping[str, Decision] | None = None) -> None:
    """Print every decision (the chapter's verdict cell); on a confirmatory profile, each claim's
    exploratory verdict beside it."""
    out = []
    for k, d in decisions.items():
        text = describe(d)
        if exploratory is not None:
            text += "\n" + "\n".join(textwrap.wrap(beside_text(exploratory.get(k)), 76, initial_indent="  ",
                                                  subsequent_indent="    "))
        out.append(text)
    print("\n\n".join(out))


COLOURS = {"supported": "#029e73", "not supported": "#d55e00", "inconclusive": "#6b6b6b"}


def _why(reasons: list[str]) -> str:
    """A verdict's reasons in the result box: the first failed check in full, the others counted
    (each is in the Verdicts section), so a claim gated by several checks stays one short cell."""
    from html import escape

    if not reasons:
        return ""
    more = len(reasons) - 1
    return (f"<br><small>{escape(reasons[0])}</small>"
            + (f"<br><small>and {more} more failed check{'s' if more > 1 else ''} (Verdicts section)</small>"
               if more else ""))


def result_box(decisions: Mapping[str, Decision], *, profile: str, dataset: str,
               exploratory: Mapping[str, Decision] | None = None, again: list | None = None,
               earlier: Mapping[str, Decision] | None = None):
    """The box that opens a chapter: each claim's verdict, the number with its interval, the
    paper's number and the regime (an IPython HTML object; the notebook glues it to the top of
    its page, so the page opens with results computed by this run). ``exploratory``: on a
    pre-registered profile, the same rules on the exploratory seeds (:meth:`SeedView.decide`),
    shown beside the confirmatory verdicts; None labels the page's verdicts exploratory. ``again``:
    the page's later registrations (:func:`registered_again`); a claim one of them decided says so
    under its verdict (``decisions`` holds that registration's verdict: :func:`publish_final`) and
    shows the first registration's verdict (``earlier``) beside it instead of the exploratory one."""
    from html import escape

    from IPython.display import HTML

    from .. import claims

    rows = []
    decided_later = {}  # registration number -> (file, claims) for the claims a later registration decided
    for d in decisions.values():
        c = claims.CLAIMS[d.claim]
        ival = f" <small>{_ci(d.interval, level=d.level).strip()}</small>" if d.interval is not None else ""
        why = _why(d.reasons)
        later = [a for a in again or () if a.decisions.get(d.claim) is d]
        if later:
            a = later[-1]
            why = (f"<br><small>registration {a.registration.number} ({escape(a.registration.file)}), "
                   f"seeds {escape(a.seeds_text)}</small>") + why
            decided_later.setdefault(a.registration.number, (a.registration.file, []))[1].append(d.claim)
        beside = ""
        if exploratory is not None:
            e = (earlier or {}).get(d.claim) if later else exploratory.get(d.claim)
            beside = ("<td style='padding:2px 8px'><small>-</small></td>" if e is None else
                      "<td style='padding:2px 8px'><small>" + ("registration 1: " if later else "")
                      + f"<b style='color:{COLOURS[e.verdict]}'>{e.verdict}</b> {_num(e.measured)}"
                      f"{_ci(e.interval, label='')}" + (f", {e.n_seeds} seeds" if e.n_seeds else "") + "</small></td>")
        rows.append(f"<tr><td style='padding:2px 8px 2px 0'><b>{d.claim}</b></td>"
                    f"<td style='padding:2px 8px'><b style='color:{COLOURS[d.verdict]}'>{d.verdict}</b>{why}</td>"
                    f"<td style='padding:2px 8px'>{_num(d.measured)}{ival}<br><small>{escape(d.rule)}</small></td>"
                    f"{beside}<td style='padding:2px 8px'><small>paper: {escape(c.paper_number)}</small></td></tr>")
    counts = sorted({d.n_seeds for d in decisions.values() if d.n_seeds is not None})
    seeds = ("" if not counts else f", {counts[0]} seeds" if len(counts) == 1 else
             f", {counts[0]}-{counts[-1]} seeds per verdict")  # later registrations may train more
    if exploratory is None:
        kind = "; <b>exploratory</b>: short budgets, convergence not checked over seeds, nothing pre-registered"
        header = ""
    else:
        regs = "".join(f"; {', '.join(cs)}: registration {n} ({escape(f)})" for n, (f, cs) in sorted(decided_later.items()))
        kind = ("; <b>confirmatory</b>: pre-registered seeds, rules and budgets "
                "(params/" + escape(profile) + "/preregistration.yaml" + regs + ")")
        if sum(len(cs) for _, cs in decided_later.values()) == len(decisions):
            beside_head = "registration 1's confirmatory verdict, beside"
        elif decided_later:
            beside_head = ("beside: the exploratory seeds' verdict (no convergence runs: not checked), or registration "
                           "1's where a later registration decides")
        else:
            beside_head = "exploratory seeds, beside (they have no convergence runs: not checked)"
        header = ("<tr><th></th><th style='padding:2px 8px'>confirmatory</th><th></th>"
                  f"<th style='padding:2px 8px'><small>{beside_head}</small></th><th></th></tr>")
    head = (f"<b>Results at our scale</b> <small>({escape(profile)} profile, {escape(dataset)}{seeds}{kind}; "
            "the numbers, checks and seeds needed are in the Verdicts section)</small>")
    return HTML("<div style='border-left:4px solid #029e73;background:#f3fbf7;padding:8px 12px;margin:8px 0;"
                f"font-size:0.9em;overflow-x:auto'>{head}<table style='margin-top:4px'>{header}{''.join(rows)}"
                "</table></div>")


def decision_costs(records: Mapping[str, Decision], profile: str):
    """What would decide each undecided claim and what it would cost: one row per inconclusive
    claim (chapter, :class:`ToDecide`'s kind and text, seeds, the effect alone's label) with,
    where seeds alone would decide it, the minutes that many seeds of its chapter (each with its
    convergence run) take on two cores of the reference machine
    (:func:`augworth.experiments.plan.seed_minutes`). Returns (rows, per-chapter totals): a
    chapter's claims share its models, so a chapter costs the most seeds any of its claims needs."""
    import pandas as pd

    from .. import claims, prereg
    from ..experiments.plan import seed_minutes

    later = {r.number: r for r in prereg.later(profile)}
    per_seed: dict[str, float] = {}
    rows = []
    for cid, d in records.items():
        td = to_decide(d)
        if td is None:
            continue
        chapter = claims.CLAIMS[cid].notebook
        number = getattr(d, "registration", 1)  # a later registration's seeds cost its budget
        if number in later:
            chapter += f" (registration {number})"
        minutes = None
        if td.kind == "seeds":
            if chapter not in per_seed:
                name = claims.CLAIMS[cid].notebook
                per_seed[chapter] = seed_minutes(name, profile, overrides=later[number].chapters.get(name)
                                                 if number in later else None)
            minutes = td.seeds * per_seed[chapter]
        rows.append({"claim": cid, "chapter": chapter, "kind": td.kind, "to decide": td.text(), "seeds": td.seeds,
                     "minutes": minutes, "effect alone": d.ungated})
    table = pd.DataFrame(rows, columns=["claim", "chapter", "kind", "to decide", "seeds", "minutes", "effect alone"])
    by_seeds = table[table.kind == "seeds"]
    chapters = (by_seeds.groupby("chapter", sort=False).agg(claims=("claim", ", ".join), seeds=("seeds", "max"))
                .reset_index())
    chapters["minutes"] = [s * per_seed[c] for c, s in zip(chapters.chapter, chapters.seeds)]
    return table, chapters


def longer_budget_table(decisions: Mapping[str, Decision], longer: Mapping[str, Decision], budget: str,
                        longer_budget: str):
    """The page's verdicts beside the same rules on the longer-budget pilot (its own seeds, a
    longer budget, its own convergence runs): per claim, each side's effect with its interval,
    the label the effect alone gives, and the verdict with its failed checks' subjects."""
    import pandas as pd

    from .rules import _what

    def side(d: Decision | None) -> dict:
        if d is None:
            return {"effect": "-", "alone": "-", "verdict": "-"}
        failed = [_what(c) for c in d.checks if not c.passed]
        return {"effect": f"{_num(d.measured)}{_ci(d.interval, label='')}", "alone": d.ungated or d.verdict,
                "verdict": d.verdict + (f" (failed: {'; '.join(failed)})" if failed else "")}

    rows = []
    for cid, d in decisions.items():
        a, b = side(d), side(longer.get(cid))
        rows.append({"claim": cid, f"{budget}: effect": a["effect"], f"{budget}: effect alone": a["alone"],
                     f"{longer_budget}: effect": b["effect"], f"{longer_budget}: effect alone": b["alone"],
                     f"{longer_budget}: verdict": b["verdict"]})
    return pd.DataFrame(rows)


def longer_pilot(chapter: str, profile: str, params: Mapping | None = None):
    """The profile's registered longer-budget pilot of ``chapter`` (``longer_budgets`` in its
    pre-registration): (its parameters, its stored result or None -- a page never computes it);
    (None, None) when the profile registers none for the chapter. ``params``: the page's own
    parameters, which the pilot's overrides replace where they name the same field."""
    from .. import config, prereg
    from ..experiments.registry import stored

    reg = prereg.load(profile)
    over = reg.longer_budget(chapter) if reg else None
    if not over:
        return None, None
    p = config.load_params(chapter, profile, {**(params or {}), **over})
    return p, stored(chapter, p)


def beside_longer_pilot(decisions: Mapping[str, Decision], chapter: str, profile: str, params: Mapping | None,
                        p, decide_value: Callable, budget: str):
    """A page's cell "does the answer hold with longer training?": its verdicts beside the same
    rules (``decide_value(value, params)``) on its registered longer-budget pilot
    (:func:`longer_pilot`), as an HTML table of whole sentences (a line when the profile registers
    no pilot or it is not stored). ``budget``: the parameter that names the budget (steps, epochs)."""
    import pandas as pd
    from IPython.display import HTML

    pilot_p, pilot = longer_pilot(chapter, profile, params)
    if pilot is None:
        return HTML("<p>" + ("this profile registers no longer-budget pilot" if pilot_p is None else
                             "no longer-budget pilot stored for these parameters") + "</p>")
    seeds = sorted({int(s) for s in (getattr(pilot_p, "seeds", None) or getattr(pilot_p, "verdict_seeds", ()))})
    table = longer_budget_table(decisions, decide_value(pilot.value, pilot_p), f"{getattr(p, budget)} {budget}",
                                f"{getattr(pilot_p, budget)} {budget}, seeds {seeds[0]}-{seeds[-1]}")
    with pd.option_context("display.max_colwidth", None):  # whole sentences, not cut
        return HTML(table.to_html(index=False, justify="left", classes="table"))

