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
# when undecided, about how many a power calculation says would decide it. The replication column
# holds the verdicts of `make replicate` (the same chapters on a disjoint set of seeds) where it
# ran. Rows are read from the records the chapters write when they run; nothing here is typed by
# hand.

# %% tags=["parameters"]
profile = "quick"  # the profile the chapters ran with (for the header only)
params = {}  # the scorecard has no parameters

# %% tags=["hide-input"]
from html import escape

import pandas as pd
from IPython.display import HTML
from myst_nb import glue

from augworth import claims, config, paths

config.load_params("scorecard", profile, params)  # validates (there is nothing to set)
records = claims.load_records()
replication = claims.load_records(paths.replication_dir(profile) / "_records")  # make replicate
colour = {"supported": "#029e73", "not supported": "#d55e00", "inconclusive": "#949494"}


def num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


rows = []
for cid, c in claims.CLAIMS.items():
    r = records.get(cid)
    if r is None:
        ours, verdict, prov = "no record: the chapter has not run", "-", "-"
    else:
        ival = "" if r.interval is None else f" (95% CI {num(r.interval[0])} to {num(r.interval[1])})"
        ours = f"{num(r.measured)}{ival}: {r.summary}"
        why = "".join(f"<br><small>gated: {escape(x)}</small>" for x in r.reasons)
        seeds = "" if r.n_seeds is None else f"<br><small>seeds used: {r.n_seeds}" + (
            f"; needs ~{r.seeds_needed}" if r.verdict == "inconclusive" and r.seeds_needed else "") + "</small>"
        verdict = (f"<b style='color:{colour[r.verdict]}'>{r.verdict}</b><br><small>rule: {escape(r.threshold)}</small>"
                   f"{why}{seeds}")
        prov = f"{r.profile}, {r.dataset}, seeds {r.seeds}, {r.device}, {r.wall_s:.0f} s, {r.source}, {r.git_commit[:10]}"
    rep = replication.get(cid)
    if rep is None:
        again = "-"
    else:
        agree = r is not None and rep.verdict == r.verdict
        again = (f"<b style='color:{colour[rep.verdict]}'>{rep.verdict}</b><br><small>seeds {escape(rep.seeds)}; "
                 f"{num(rep.measured)}</small>" + ("" if agree else "<br><b style='color:#b00020'>disagrees</b>"))
    rows.append(f"<tr><td><b>{cid}</b></td><td>{escape(c.statement)}<br><small>{escape(c.paper)}</small></td>"
                f"<td>{escape(c.paper_number)}</td><td>{escape(ours)}</td><td>{verdict}</td><td>{again}</td>"
                f"<td><a href='{c.notebook}.html'>{c.notebook}</a><br><small>{escape(prov)}</small></td></tr>")
head = "".join(f"<th>{h}</th>" for h in ("claim", "statement", "paper", "ours", "verdict",
                                         "replication (disjoint seeds)", "chapter and provenance"))
HTML(f"<table class='table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")

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
# ## Verdict
# The scorecard has no verdict of its own: each row's verdict is its chapter's.

# %%
missing = [c for c in claims.CLAIMS if c not in records]
print("Verdict: every registered claim has a record." if not missing else f"Verdict: claims without a record: {missing}")
