# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Scorecard
#
# Every claim the book tests, the paper's number beside ours, and the verdict its chapter
# computed (supported / not supported / inconclusive: supported only when the whole interval lies
# on the claimed side of the paper's threshold, and only when every check the verdict depends on
# passed; a gated verdict shows why). Each verdict says how many training seeds it rests on and,
# when undecided, about how many a power calculation says would decide it. On the pre-registered
# book profile the verdict is the *confirmatory* one (seeds 100 and up, rules and budgets
# committed before they ran: `params/book/preregistration.yaml`); the *exploratory* column holds
# the same rule on the exploratory seeds (0-4, which chose the budgets and seed counts); the
# *convergence* column says whether the verdict's checks showed, over seeds with an interval, that
# twice the budget moves its numbers by less than the tolerance; *deviations* lists any change to
# a registered rule after confirmatory results existed. A claim registered again later (a new
# budget on fresh seeds, under the same rule: `params/book/registration-<n>.yaml`, committed
# before it ran) shows that registration's verdict, with registration 1's in the exploratory
# column's place and in its details. The replication column holds the verdicts
# of `make replicate` (the same chapters on a disjoint set of seeds) where it ran. Rows are read
# from the records the chapters write when they run; nothing here is typed by hand.

# %% tags=["parameters"]
profile = "book"  # the profile the chapters ran with (for the header only)
params = {}  # the scorecard has no parameters

# %% tags=["hide-input"]
from html import escape

import pandas as pd
from IPython.display import HTML, display
from myst_nb import glue

from augworth import claims, config, paths, verdicts
from augworth.verdicts import level_text
from augworth.experiments import plan

config.load_params("scorecard", profile, params)  # validates (there is nothing to set)
records = claims.load_records()
replication = claims.load_records(paths.replication_dir(profile) / "_records")  # make replicate
colour = verdicts.COLOURS  # the book's one set of verdict colours


def num(v: float) -> str:
    return "no number" if v != v else f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def no_interval(iv) -> bool:
    """No interval, or one not identified (NaN ends: no number to put one around)."""
    return iv is None or any(v != v for v in iv)


def verdict_cell(r) -> str:
    if r is None:
        return "-"
    seeds = "" if r.n_seeds is None else f"<br><small>{r.n_seeds} seeds" + (
        f"; needs ~{r.seeds_needed}" if r.verdict == "inconclusive" and r.seeds_needed else "") + "</small>"
    gated = "<br><small>gated</small>" if r.reasons else ""
    again = "" if r.registration == 1 else f"<br><small>registration {r.registration}</small>"
    return f"<b style='color:{colour[r.verdict]}'>{r.verdict}</b>{gated}{seeds}{again}"


def beside_cell(r) -> str:
    """The exploratory seeds' verdict recorded beside a confirmatory one."""
    e = None if r is None else (r.earlier if r.registration > 1 else r.exploratory)
    if e is None:
        return "-" if r is None or r.stage == "confirmatory" else "<small>(this is the exploratory verdict)</small>"
    ival = "" if no_interval(e["interval"]) else (f"<br><small>{level_text(e.get('level', 0.95))} CI {num(e['interval'][0])} "
                                             f"to {num(e['interval'][1])}</small>")
    return (("<small>registration 1:</small><br>" if r.registration > 1 else "")
            + f"<b style='color:{colour[e['verdict']]}'>{e['verdict']}</b><br><small>{num(e['measured'])}</small>{ival}"
            + (f"<br><small>{e['n_seeds']} seeds</small>" if e.get("n_seeds") else ""))


def convergence_cell(r) -> str:
    """The verdict's convergence checks (over seeds, with an interval): passed, failed, or none."""
    if r is None:
        return "-"
    conv = [c for c in r.checks if c.name == "converged"]
    if not conv:
        return "<small>no training seed</small>" if r.n_seeds is None else "<small>not checked</small>"
    failed = [c for c in conv if not c.passed]
    if not failed:
        return f"<b style='color:{colour['supported']}'>converged</b><br><small>{len(conv)} check(s)</small>"
    return (f"<b style='color:{colour['not supported']}'>not shown</b><br><small>{len(failed)} of {len(conv)} "
            f"failed</small>")


def deviations_cell(r) -> str:
    if r is None or r.stage != "confirmatory":
        return "-"
    if not r.deviations:
        return "<small>none</small>"
    return "<br>".join(f"<small>{escape(str(d.get('date', '?')))}: {escape(str(d.get('what', '?')))}</small>"
                       for d in r.deviations)


rows = []
for cid, c in claims.CLAIMS.items():
    r, rep = records.get(cid), replication.get(cid)
    if r is None:
        ours, details = "no record: the chapter has not run", ""
    else:
        ours = num(r.measured) + ("" if no_interval(r.interval) else
                                  f"<br><small>{level_text(r.level)} CI {num(r.interval[0])} to {num(r.interval[1])}</small>")
        reasons = "".join(f"<li>gated: {escape(x)}</li>" for x in r.reasons)
        beside = "" if not r.exploratory or not r.exploratory.get("reasons") else (
            f"<li>exploratory verdict gated: {escape('; '.join(r.exploratory['reasons']))}</li>")
        if r.earlier:
            e = r.earlier
            beside += (f"<li>registration 1's verdict: {e['verdict']} {num(e['measured'])}"
                       + ("" if no_interval(e["interval"]) else f" ({level_text(e.get('level', 0.95))} CI {num(e['interval'][0])} "
                                                            f"to {num(e['interval'][1])})")
                       + f", seeds {escape(', '.join(map(str, e['seeds'])))}"
                       + (f"; gated: {escape('; '.join(e['reasons']))}" if e.get("reasons") else "") + "</li>")
        devs = "".join(f"<li>deviation ({escape(str(d.get('date', '?')))}): {escape(str(d.get('what', '')))}; why: "
                       f"{escape(str(d.get('why', '')))}</li>" for d in r.deviations)
        details = (f"<details><summary><small>details: rule, numbers, checks, provenance</small></summary><small><ul>"
                   f"<li>rule: {escape(r.rule)}</li><li>{escape(r.summary)}</li>{reasons}{beside}{devs}"
                   f"<li>{r.profile} ({r.stage}), {r.dataset}, seeds {escape(r.seeds_text)}, {escape(r.device)}, "
                   f"{r.wall_s:.0f} s, {r.source}, commit {r.git_commit[:10]}</li></ul></small></details>")
    again = "-" if rep is None else verdict_cell(rep) + (
        "" if r is not None and rep.verdict == r.verdict else "<br><b style='color:#b00020'>disagrees</b>")
    rows.append(f"<tr><td><b>{cid}</b></td><td>{escape(c.statement)}<br><small><a href='{c.notebook}.html'>"
                f"{c.notebook}</a> &middot; {escape(c.paper)}</small></td><td><small>{escape(c.paper_number)}</small></td>"
                f"<td>{ours}</td><td>{verdict_cell(r)}</td><td>{beside_cell(r)}</td><td>{convergence_cell(r)}</td>"
                f"<td>{again}</td><td>{deviations_cell(r)}</td></tr>"
                f"<tr><td></td><td colspan='8' style='border-top:none;padding-top:0'>{details}</td></tr>")
stage = {r.stage for r in records.values()}
first = "verdict<br><small>(confirmatory)</small>" if stage == {"confirmatory"} else "verdict"
head = "".join(f"<th>{h}</th>" for h in ("", "claim", "paper", "ours", first,
                                         "exploratory<br><small>(seeds beside; convergence not checked; or registration 1)</small>",
                                         "convergence",
                                         "replication<br><small>(disjoint seeds)</small>", "deviations"))
HTML(f"<div style='overflow-x:auto'><table class='table' style='font-size:0.9em'><thead><tr>{head}</tr></thead>"
     f"<tbody>{''.join(rows)}</tbody></table></div>")

# %% [markdown]
# ## Every effect against its threshold
#
# One row per claim, each on its own scale (draws, worth per sample, accuracy points, z): the
# measured effect and its interval over seeds (95%, or the wider level its row names), coloured by the verdict, and the threshold the
# claim is judged against with the side it needs shaded. An interval wholly inside the shade is
# *supported*, wholly outside *not supported*; one that straddles the line, or a gated verdict
# (listed in the table's details), is *inconclusive*.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from augworth.plotting import set_theme
from augworth.plotting.scorecard import claims_figure

set_theme()
if records:
    fig = claims_figure(records, list(claims.CLAIMS))
    plt.show()

# %% tags=["hide-input"]
counts = pd.Series([r.verdict for r in records.values()]).value_counts()
for label in claims.LABELS:
    glue(f"n_{label.replace(' ', '_')}", int(counts.get(label, 0)), display=False)
glue("n_claims", len(claims.CLAIMS), display=False)
glue("n_records", len(records), display=False)

# %% [markdown]
# Of {glue:text}`n_claims` registered claims, {glue:text}`n_records` have a record:
# {glue:text}`n_supported` supported, {glue:text}`n_not_supported` not supported,
# {glue:text}`n_inconclusive` inconclusive.
#
# ## What would decide the undecided claims
#
# For each inconclusive verdict, from its failed checks and its effect's interval: whether a
# check fails that neither seeds nor steps fix (the regime the claim needs, a held-out fit), a
# convergence check whose metric moved by its tolerance or more with twice the budget (a longer
# budget must come first), or the seeds that
# a power calculation (80%, at the observed change or effect) says would decide it at the
# registered budget -- and, for those, the minutes that many seeds of the chapter, each with its
# convergence run, take on two cores of the reference machine (`make plan`'s cost model; an
# upper bound for a claim that reads only some of a seed's models). *Effect alone* is the label
# the interval gives before the checks gate it.

# %% tags=["hide-input"]
costs, chapter_costs = verdicts.decision_costs(records, profile)
total = float(chapter_costs.minutes.sum()) if len(chapter_costs) else 0.0
plan_min = plan.profile_minutes(profile) if records else 0.0
glue("n_by_seeds", int((costs.kind == "seeds").sum()), display=False)
glue("n_by_budget", int((costs.kind == "budget").sum()), display=False)
glue("n_by_regime", int((costs.kind == "regime").sum()), display=False)
glue("min_by_seeds", f"{total:,.0f}", display=False)
glue("min_profile", f"{plan_min:,.0f}", display=False)
if len(costs):
    from augworth.plotting.scorecard import decision_cost_figure

    fig = decision_cost_figure(costs, plan_min)
    plt.show()
    table = costs.assign(seeds=[f"{s:.0f}" if s == s and s is not None else "-" for s in costs.seeds],
                         minutes=[f"{m:,.0f}" if m == m and m is not None else "-" for m in costs.minutes])
    display(HTML(table.drop(columns=["kind", "chapter"]).to_html(index=False, escape=True, classes="table",
                                                                 justify="left")))

# %% [markdown]
# Seeds alone, at the registered budgets, would decide {glue:text}`n_by_seeds` of them, at
# about {glue:text}`min_by_seeds` minutes on two reference cores in all (a chapter's claims share
# its models; the whole profile as registered counts {glue:text}`min_profile` minutes);
# {glue:text}`n_by_budget` need a longer budget first (a convergence check moved by its tolerance or
# more), and
# {glue:text}`n_by_regime` fail a check that neither seeds nor steps fix at this scale.
#
# ## Verdict
# The scorecard has no verdict of its own: each row's verdict is its chapter's.

# %%
missing = [c for c in claims.CLAIMS if c not in records]
print("Verdict: every registered claim has a record." if not missing else f"Verdict: claims without a record: {missing}")
