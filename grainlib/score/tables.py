"""The paper's Tables 3 and 4 from the sweep's per-patch scores, Table 1's timings from its
runs, and the verdict on the paper's four claims: pure table code, the chapter-06 step.
Reading the runs' folders is the sweep's (:mod:`grainlib.run.sweep`).

Every score in a table is computed the same way from the per-patch tables the runs
store (:func:`grainlib.run.sweep.scores`): the mean over the test patches for each seed,
then the mean and the sample standard deviation (ddof = 1) of those per-seed means over
the seeds, with their number. One seed gives no standard deviation (empty in the CSV).

The paper's numbers (:data:`PAPER_TABLE3`, :data:`PAPER_TABLE4`) are those of B. Ma et
al., npj Comput. Mater. 6, 125 (2020), Tables 3 and 4, on the authors' 36 real test
images; they are shown beside ours, never mixed with them.

>>> scores = sweep.scores(config.load("demo"), seeds=[0, 1, 2])     # doctest: +SKIP
>>> verdicts(table3(scores), table4(scores))                         # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from grainlib.learn import segment

COLUMNS = ["fraction", "method", "map_mean", "map_sd", "ari_mean", "ari_sd", "n_seeds",
           "paper_map", "paper_ari", "abs_dG_mean", "abs_dG_sd", "intercept_error_mean",
           "intercept_error_sd"]
"""Columns of :func:`table3` and :func:`table4` (and of their CSV files). The grain size
columns come last: |Delta G|, the ASTM E112 grain size number of the prediction minus
the label's, and the relative error of the mean lineal intercept, each averaged over the
test patches of a seed (patches with no grain size left out), then mean and sd over
seeds (:func:`grainlib.score.grainsize.compare`)."""

PAPER_TABLE3 = {  # Ma et al. 2020, Table 3: (MAP, ARI)
    "OTSU": (0.198, 0.204),
    "Canny": (0.464, 0.276),
    "Watershed": (0.263, 0.646),
    "K-Means": (0.198, 0.204),
    "U-Net Real_100%": (0.585, 0.866),
    "U-Net Simulated_100%": (0.112, 0.078),
    "U-Net Mixed(Real_100% + Simulated_100%)": (0.504, 0.752),
}

PAPER_TABLE4 = {  # Ma et al. 2020, Table 4: (MAP, ARI) by real fraction X %
    "Real_X%": {5: (0.481, 0.735), 10: (0.506, 0.774), 15: (0.531, 0.800),
                20: (0.542, 0.830), 25: (0.534, 0.832), 30: (0.548, 0.837),
                35: (0.559, 0.836),
                100: (0.585, 0.866)},  # X = 100: the paper's Table 3, U-Net Real_100%
    "Mixed(Real_X% + Synthetic^X_100%)": {5: (0.560, 0.837), 10: (0.572, 0.851),
                                          15: (0.574, 0.853), 20: (0.582, 0.858),
                                          25: (0.579, 0.870), 30: (0.586, 0.863),
                                          35: (0.586, 0.875)},
}

BASELINES = ("OTSU", "Canny", "Watershed", "K-Means")
TABLE3_UNETS = {"real": "U-Net Real_100%", "simulated": "U-Net Simulated_100%",
                "real+simulated": "U-Net Mixed(Real_100% + Simulated_100%)"}
"""Table 3's U-Nets: training set -> the row's name (all at real fraction 100)."""
TABLE4_SETS = {"real": "Real_X%", "real+flips": "Real_X% + flips",
               "real+synthetic": "Mixed(Real_X% + Synthetic^X_100%)",
               "synthetic": "Synthetic^X_100%"}
"""Table 4's training sets -> the rows' names (X is the row's ``fraction``)."""

# --------------------------------------------------------------------------- scores


def _summary(per_seed: pd.DataFrame) -> dict:
    """Mean, sd and count over seeds of per-seed means (``MAP``, ``ARI``, ``abs_dG``,
    ``intercept_error``)."""
    out = {"n_seeds": len(per_seed)}
    for column, name in (("MAP", "map"), ("ARI", "ari"), ("abs_dG", "abs_dG"),
                         ("intercept_error", "intercept_error")):
        values = per_seed[column] if column in per_seed else pd.Series(dtype=float)
        out[f"{name}_mean"], out[f"{name}_sd"] = values.mean(), values.std()
    return out


def _row(rows: pd.DataFrame, fraction, method: str, paper) -> dict:
    if "dG" in rows:
        rows = rows.assign(abs_dG=rows["dG"].abs())
    columns = [c for c in ("MAP", "ARI", "abs_dG", "intercept_error") if c in rows]
    per_seed = rows.groupby("seed")[columns].mean()
    paper_map, paper_ari = paper if paper is not None else (np.nan, np.nan)
    return {"fraction": fraction, "method": method, **_summary(per_seed),
            "paper_map": paper_map, "paper_ari": paper_ari}


def _frame(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["fraction"] = table["fraction"].astype("Int64")
    table["n_seeds"] = table["n_seeds"].astype(int)
    return table


def table3(scores: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 3: the four baselines, and the U-Nets trained on Real_100%,
    Simulated_100% and Mixed(Real_100% + Simulated_100%).

    Parameters
    ----------
    scores : per-patch scores (:func:`grainlib.run.sweep.scores`).

    Returns
    -------
    DataFrame with :data:`COLUMNS`, one row per method in the paper's order; ``fraction``
    is empty for the baselines (a baseline's rows from every run of a seed are averaged
    together: they are the same) and 100 for the U-Nets.
    """
    rows = [_row(scores[scores["method"] == name], pd.NA, name, PAPER_TABLE3[name])
            for name in BASELINES]
    unet = scores[(scores["method"] == "U-Net") & (scores["fraction"] == 100)]
    rows += [_row(unet[unet["training_set"] == training_set], 100, name, PAPER_TABLE3[name])
             for training_set, name in TABLE3_UNETS.items()]
    return _frame(rows)


def table4(scores: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 4, with two more training sets: for every real fraction X swept,
    Real_X%, Real_X% with flips and rotations, Mixed(Real_X% + Synthetic^X_100%) and
    Synthetic^X_100% alone.

    Returns
    -------
    DataFrame with :data:`COLUMNS`, one row per (fraction, training set), fractions in
    increasing order; the paper's numbers where it has them (:data:`PAPER_TABLE4`).
    """
    unet = scores[(scores["method"] == "U-Net") & scores["training_set"].isin(TABLE4_SETS)]
    rows = []
    for fraction in sorted(unet["fraction"].unique()):
        for training_set, name in TABLE4_SETS.items():
            chosen = unet[(unet["fraction"] == fraction) & (unet["training_set"] == training_set)]
            rows.append(_row(chosen, int(fraction), name,
                             PAPER_TABLE4.get(name, {}).get(int(fraction))))
    return _frame(rows)


def paper_numbers(method: str, training_set: str, fraction: int) -> tuple | None:
    """The paper's (MAP, ARI) for a method, or a U-Net's training set at real fraction X,
    where its Table 3 or 4 gives them; None where it does not."""
    if method != "U-Net":
        return PAPER_TABLE3.get(method)
    name = segment.paper_name(training_set, fraction)
    generic = TABLE4_SETS.get(training_set)
    return PAPER_TABLE3.get(f"U-Net {name}") or PAPER_TABLE4.get(generic, {}).get(int(fraction))


def beside_paper(scores: pd.DataFrame) -> pd.DataFrame:
    """One run's scores (one real fraction and seed) by the paper's names, the paper's
    numbers beside them.

    Parameters
    ----------
    scores : per-patch scores of :func:`grainlib.score.evaluate.score`.

    Returns
    -------
    DataFrame indexed by the paper's name ("OTSU", "U-Net Real_5%", "U-Net Mixed(Real_5% +
    Synthetic^5_100%)", ...), in the table's order: ``MAP``, ``MAP sd``, ``ARI``,
    ``ARI sd`` (mean and sd over test patches), ``patches``, ``paper MAP``, ``paper ARI``
    (NaN where the paper has no such row).
    """
    rows = {}
    for (method, training_set), group in scores.groupby(["method", "training_set"],
                                                         sort=False):
        fraction = int(group["fraction"].iloc[0])
        name = (f"U-Net {segment.paper_name(training_set, fraction)}" if method == "U-Net"
                else method)
        paper = paper_numbers(method, training_set, fraction) or (np.nan, np.nan)
        rows[name] = {"MAP": group["MAP"].mean(), "MAP sd": group["MAP"].std(),
                      "ARI": group["ARI"].mean(), "ARI sd": group["ARI"].std(),
                      "patches": len(group), "paper MAP": paper[0], "paper ARI": paper[1]}
    return pd.DataFrame.from_dict(rows, orient="index")


def table1(timings: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 1 (seconds per image) over the runs of a sweep.

    Parameters
    ----------
    timings : every run's chapter-03 timings, one row per (run, procedure), with the
        columns ``procedure``, ``ours_s``, ``paper_s``, ``ours_image_px``
        (:func:`grainlib.run.sweep.timings`).

    Returns
    -------
    DataFrame indexed by procedure: ``ours_mean_s``, ``ours_sd_s``, ``n_runs`` (over the
    runs), ``paper_s``, ``ours_image_px``; NaN where no run measured it.
    """
    if timings.empty:
        return pd.DataFrame(columns=["ours_mean_s", "ours_sd_s", "n_runs", "paper_s",
                                     "ours_image_px"]).rename_axis("procedure")
    grouped = timings.groupby("procedure", sort=False)
    return pd.DataFrame({"ours_mean_s": grouped["ours_s"].mean(),
                         "ours_sd_s": grouped["ours_s"].std(),
                         "n_runs": grouped["ours_s"].count(),
                         "paper_s": grouped["paper_s"].first(),
                         "ours_image_px": grouped["ours_image_px"].first()})


def tag(scores: pd.DataFrame) -> str:
    """``"1seed"``, ``"3seeds"``, ...: names a sweep's output files after its seeds, so
    that tables of sweeps with different numbers of seeds sit side by side."""
    n = scores["seed"].nunique()
    return f"{n}seed{'s' * (n != 1)}"


# --------------------------------------------------------------------------- display


def _plus_minus(mean, sd) -> str:
    if pd.isna(mean):
        return ""
    return f"{mean:.3f}" if pd.isna(sd) else f"{mean:.3f} ± {sd:.3f}"


def render(table: pd.DataFrame) -> pd.DataFrame:
    """A table of :data:`COLUMNS` as text: ``MAP`` and ``ARI`` as "mean ± sd" (3
    decimals), the paper's beside, then the grain size error |ΔG|; indexed by fraction
    (Table 4) and method."""
    shown = pd.DataFrame({
        "fraction": table["fraction"].map(lambda f: "" if pd.isna(f) else f"{f} %"),
        "method": table["method"],
        "MAP": [_plus_minus(m, s) for m, s in zip(table["map_mean"], table["map_sd"])],
        "ARI": [_plus_minus(m, s) for m, s in zip(table["ari_mean"], table["ari_sd"])],
        "seeds": table["n_seeds"],
        "paper MAP": table["paper_map"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}"),
        "paper ARI": table["paper_ari"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}"),
        "|ΔG|": [_plus_minus(m, s) for m, s in zip(table["abs_dG_mean"], table["abs_dG_sd"])]})
    if table["fraction"].isna().all() or table["fraction"].nunique() <= 1:
        shown = shown.drop(columns="fraction")
    return shown.set_index([c for c in ("fraction", "method") if c in shown])


def _markdown(shown: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(shown.columns) + " |",
             "| " + " | ".join("---" for _ in shown.columns) + " |"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(False)]
    return "\n".join(lines) + "\n"


def markdown(table: pd.DataFrame) -> str:
    """:func:`render`'s table as a Markdown (GitHub) table."""
    return _markdown(render(table).reset_index())


def wide(table: pd.DataFrame, metric: str = "map") -> pd.DataFrame:
    """Table 4 at a glance: one row per real fraction, one column per training set, each
    cell one metric as "mean ± sd", the paper's value after it in brackets where it has
    one.

    Parameters
    ----------
    table : :func:`table4`'s table.
    metric : "map" or "ari".

    Returns
    -------
    DataFrame of str, indexed by "X %", columns the training sets in :func:`table4`'s order.
    """
    if metric not in ("map", "ari"):
        raise ValueError(f"metric must be 'map' or 'ari', got {metric!r}")
    cells = [_plus_minus(mean, sd) + ("" if pd.isna(paper) else f" [{paper:.3f}]")
             for mean, sd, paper in zip(table[f"{metric}_mean"], table[f"{metric}_sd"],
                                        table[f"paper_{metric}"])]
    shown = pd.DataFrame({"X": table["fraction"].astype(int), "method": table["method"],
                          "cell": cells}).pivot(index="X", columns="method", values="cell")
    shown.index = [f"{x} %" for x in shown.index]  # pivot sorts the fractions as numbers
    return shown[list(dict.fromkeys(table["method"]))].rename_axis(
        index=f"{metric.upper()}: real X", columns=None)


def wide_markdown(table: pd.DataFrame, metric: str = "map") -> str:
    """:func:`wide` as a Markdown (GitHub) table."""
    return _markdown(wide(table, metric).reset_index())


# --------------------------------------------------------------------------- verdicts


CLAIMS = {
    "C1": "Simulated data alone fail on real images: Simulated_100% scores below "
          "Real_100% and below the best classical baseline.",
    "C2": "Naive mixing hurts: Mixed(Real_100% + Simulated_100%) scores below Real_100%.",
    "C3": "Synthetic data help most when real data are scarce: at the smallest fraction "
          "Mixed(Real_X% + Synthetic^X_100%) beats Real_X%, and by more than at the largest "
          "other fraction (the largest below 100 % when two were swept).",
    "C4": "35 % real data plus synthetic data match all the real data: "
          "Mixed(Real_35% + Synthetic^35_100%) scores at least as well as Real_100%.",
}
"""The paper's four claims, as :func:`verdicts` tests them, on MAP and on ARI."""

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
NOT_TESTED = "not tested"
SYNTHETIC_CLAIMS = ("C3", "C4")
"""The claims about what synthetic images do: tested only by realistic ones."""

AUC_MARGIN = 0.1
"""How far above the real-real floor the synthetic images' two-sample AUC may lie."""
TEXTURE_BAND = (0.67, 1.5)
"""The range of synthetic / real ratios of the texture measures counted as real."""


def premise(realism: pd.DataFrame) -> pd.DataFrame:
    """Whether the synthetic images of each real fraction look real, from chapter 03's
    realism tables (:func:`grainlib.run.sweep.realism`).

    The synthetic images pass when, averaged over seeds, their two-sample AUC against the
    real test images is at most :data:`AUC_MARGIN` above the real-real floor's (two
    halves of the real test images; chance, 0.5, where there are too few test images to
    split), and their high-frequency power share and grey SD in
    grain cores are each within :data:`TEXTURE_BAND` times the real images'.

    Parameters
    ----------
    realism : one row per (run, set), with the columns ``set`` ("real test",
        "synthetic", "floor", ...), ``fraction``, ``seed``, ``auc_vs_reference``,
        ``high_frequency_share`` and ``core_sd``
        (:data:`grainlib.score.realism.COLUMNS`).

    Returns
    -------
    DataFrame indexed by fraction: ``n_seeds``, ``auc`` and ``floor_auc`` (means over
    seeds), ``high_frequency_ratio`` and ``core_sd_ratio`` (synthetic / real test),
    ``realistic`` (bool). Empty when no run has a synthetic set.
    """
    def mean_of(name, column):
        rows = realism[realism["set"] == name]
        return rows.groupby("fraction")[column].mean()

    columns = ["n_seeds", "auc", "floor_auc", "high_frequency_ratio", "core_sd_ratio",
               "realistic"]
    synthetic = realism[realism["set"] == "synthetic"]
    if synthetic.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="fraction"))
    out = pd.DataFrame({
        "n_seeds": synthetic.groupby("fraction")["seed"].nunique(),
        "auc": mean_of("synthetic", "auc_vs_reference"),
        "floor_auc": mean_of("floor", "auc_vs_reference"),
        "high_frequency_ratio": (mean_of("synthetic", "high_frequency_share")
                                 / mean_of("real test", "high_frequency_share")),
        "core_sd_ratio": mean_of("synthetic", "core_sd") / mean_of("real test", "core_sd")})
    low, high = TEXTURE_BAND
    out["realistic"] = ((out["auc"] <= out["floor_auc"].fillna(0.5) + AUC_MARGIN)
                        & out["high_frequency_ratio"].between(low, high)
                        & out["core_sd_ratio"].between(low, high))
    out.index = out.index.astype(int)
    out.index.name = "fraction"
    return out[columns]


def _premise_note(premise: pd.DataFrame | None, fractions) -> tuple[bool, str]:
    """(whether the synthetic images of ``fractions`` pass, the measures in words)."""
    if premise is None:
        return True, ""
    missing = [f for f in fractions if f not in premise.index]
    if missing:
        return True, ("realism of the synthetic images not measured at "
                      + ", ".join(f"{f} %" for f in missing))
    rows = premise.loc[list(fractions)]
    words = "; ".join(
        f"synthetic at {f} %: AUC {r.auc:.2f} vs "
        + (f"real-real {r.floor_auc:.2f}" if np.isfinite(r.floor_auc) else "chance 0.5") + ", "
        f"high-frequency share {r.high_frequency_ratio:.2f} x, core SD {r.core_sd_ratio:.2f} x "
        f"the real" for f, r in rows.iterrows())
    return bool(rows["realistic"].all()), words


def contrast(terms, metric: str) -> tuple[float, float]:
    """A difference of table rows and its spread.

    Parameters
    ----------
    terms : ``[(coefficient, row), ...]``, rows of :func:`table3` or :func:`table4`
        (pandas Series), e.g. ``[(1, mixed), (-1, real)]``.
    metric : "map" or "ari".

    Returns
    -------
    (value, spread): ``sum(c * mean)`` and ``sqrt(sum(c**2 * sd**2))``, the spread of the
    value if the rows' seed-to-seed deviations were independent. The spread is NaN when a
    row has fewer than two seeds.
    """
    value = sum(c * row[f"{metric}_mean"] for c, row in terms)
    spread = math.sqrt(sum(c * c * row[f"{metric}_sd"] ** 2 for c, row in terms))
    if any(row["n_seeds"] < 2 for _, row in terms):
        spread = float("nan")
    return float(value), float(spread)


def judge(value: float, spread: float, at_least: bool = False) -> str:
    """Whether ``value > 0`` holds beyond the spread: "holds" when ``value > spread``,
    "fails" when ``value < -spread``, "open" in between or when the spread is NaN.
    With ``at_least`` the claim is ``value >= 0`` within the spread: "holds" when
    ``value >= -spread``, "fails" below."""
    if math.isnan(spread) or math.isnan(value):
        return "open"
    if at_least:
        return "holds" if value >= -spread else "fails"
    return "holds" if value > spread else "fails" if value < -spread else "open"


def _verdict(checks: list[tuple[str, float, float, str]]) -> str:
    """A claim holding on every check is reproduced; one failing on any is not; else
    (a check inside the spread, or no spread) inconclusive."""
    outcomes = [outcome for *_, outcome in checks]
    if "fails" in outcomes:
        return NOT_REPRODUCED
    return REPRODUCED if all(o == "holds" for o in outcomes) else INCONCLUSIVE


def _find(table: pd.DataFrame, method: str, fraction=None):
    rows = table[table["method"] == method]
    if fraction is not None:
        rows = rows[rows["fraction"] == fraction]
    rows = rows[rows["n_seeds"] > 0]
    return rows.iloc[0] if len(rows) else None


def _claim_rows(t3: pd.DataFrame, t4: pd.DataFrame) -> dict:
    """The tests of each claim: {claim: [(what, terms, at_least, metrics), ...]} (see
    :func:`contrast`, :func:`judge`), or the reason it cannot be tested."""
    real100 = _find(t3, "U-Net Real_100%")
    simulated = _find(t3, "U-Net Simulated_100%")
    mixed100 = _find(t3, "U-Net Mixed(Real_100% + Simulated_100%)")
    real_x, mixed_x = TABLE4_SETS["real"], TABLE4_SETS["real+synthetic"]
    fractions = sorted(int(f) for f in t4.loc[t4["n_seeds"] > 0, "fraction"].unique())
    below = [f for f in fractions if f < 100]
    small = fractions[0] if fractions else None
    large = (below[-1] if len(below) >= 2 else fractions[-1]) if fractions else None
    claims = {}
    baselines = t3[t3["method"].isin(BASELINES) & (t3["n_seeds"] > 0)]
    both = ("map", "ari")
    if real100 is None or simulated is None or baselines.empty:
        claims["C1"] = "needs Real_100%, Simulated_100% and the baselines (fraction 100 swept)"
    else:
        claims["C1"] = [("Real_100% - Simulated_100%", [(1, real100), (-1, simulated)],
                         False, both)]
        for metric in both:
            best = baselines.loc[baselines[f"{metric}_mean"].idxmax()]
            claims["C1"].append((f"{best['method']} - Simulated_100%",
                                 [(1, best), (-1, simulated)], False, (metric,)))
    if real100 is None or mixed100 is None:
        claims["C2"] = "needs Real_100% and Mixed(Real_100% + Simulated_100%)"
    else:
        claims["C2"] = [("Real_100% - Mixed(Real_100% + Simulated_100%)",
                         [(1, real100), (-1, mixed100)], False, both)]
    gains = {f: (_find(t4, mixed_x, f), _find(t4, real_x, f)) for f in (small, large)}
    if small is None or small == large or any(r is None for pair in gains.values() for r in pair):
        claims["C3"] = "needs Real_X% and Mixed(Real_X% + Synthetic^X_100%) at two fractions"
    else:
        (mix_s, real_s), (mix_l, real_l) = gains[small], gains[large]
        claims["C3"] = [
            (f"gain at {small} %", [(1, mix_s), (-1, real_s)], False, both),
            (f"gain at {small} % - gain at {large} %",
             [(1, mix_s), (-1, real_s), (-1, mix_l), (1, real_l)], False, both)]
    mixed35 = _find(t4, mixed_x, 35)
    if mixed35 is None or real100 is None:
        claims["C4"] = ("needs Mixed(Real_35% + Synthetic^35_100%) and Real_100% "
                        "(fractions 35 and 100)")
    else:
        claims["C4"] = [("Mixed(Real_35% + Synthetic^35_100%) - Real_100%",
                         [(1, mixed35), (-1, real100)], True, both)]
    return claims


def verdicts(t3: pd.DataFrame, t4: pd.DataFrame, premise: pd.DataFrame | None = None
             ) -> pd.DataFrame:
    """The verdict on each of the paper's claims (:data:`CLAIMS`), from the tables.

    Each claim is a set of contrasts between rows (:func:`contrast`), tested on MAP and on
    ARI with :func:`judge` against the seed-to-seed spread: the claim is *reproduced* when
    every test holds beyond the spread, *not reproduced* when any is contradicted beyond
    it, and *inconclusive* otherwise: a difference inside the spread, fewer than two seeds
    (no spread), or rows the sweep did not make.

    The claims on synthetic images (:data:`SYNTHETIC_CLAIMS`) first check their premise:
    where the synthetic images of a fraction they compare are not realistic
    (:func:`premise`), the verdict is *not tested*, with the realism measures and the
    contrasts as they came out.

    Parameters
    ----------
    t3, t4 : :func:`table3` and :func:`table4` (or hand-made tables of :data:`COLUMNS`).
    premise : :func:`premise` of the sweep's realism tables; None: not checked.

    Returns
    -------
    DataFrame indexed by claim (C1 ... C4): ``claim`` (the statement tested), ``verdict``,
    ``evidence`` (each test: metric, contrast, value, spread, outcome).
    """
    rows = []
    for name, tests in _claim_rows(t3, t4).items():
        if isinstance(tests, str):
            rows.append((name, CLAIMS[name], INCONCLUSIVE, tests))
            continue
        checks = []
        for what, terms, at_least, metrics in tests:
            for metric in metrics:
                value, spread = contrast(terms, metric)
                checks.append((f"{metric.upper()} {what}", value, spread,
                               judge(value, spread, at_least)))
        evidence = "; ".join(f"{what} = {value:+.3f} (spread {spread:.3f}): {outcome}"
                             for what, value, spread, outcome in checks)
        if any(math.isnan(spread) for _, _, spread, _ in checks):
            evidence += "; fewer than two seeds: no spread to judge by"
        verdict = _verdict(checks)
        if name in SYNTHETIC_CLAIMS:
            realistic, words = _premise_note(premise, _claim_fractions(tests))
            if not realistic:
                verdict, evidence = NOT_TESTED, (f"synthetic images not realistic ({words}); "
                                                 f"as measured: {evidence}")
            elif words:
                evidence = f"{words}; {evidence}"
        rows.append((name, CLAIMS[name], verdict, evidence))
    return pd.DataFrame(rows, columns=["id", "claim", "verdict", "evidence"]).set_index("id")


def _claim_fractions(tests) -> list[int]:
    """The real fractions whose synthetic images a claim's tests compare."""
    return sorted({int(row["fraction"]) for _, terms, _, _ in tests for _, row in terms
                   if row["method"] == TABLE4_SETS["real+synthetic"]})


# --------------------------------------------------------------------------- outputs


def save(table: pd.DataFrame, stem) -> Path:
    """Write a table of :data:`COLUMNS` as ``<stem>.csv`` (every digit) and ``<stem>.md``
    (:func:`markdown`); return the CSV's path."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(stem.with_suffix(".csv"), index=False)
    stem.with_suffix(".md").write_text(markdown(table))
    return stem.with_suffix(".csv")
