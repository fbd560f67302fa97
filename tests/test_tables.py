import math

import numpy as np
import pandas as pd
import pytest

from grainlib.core import config
from grainlib.run import sweep
from grainlib.score import tables
from grainlib.view import report


def hand_table(rows) -> pd.DataFrame:
    """A table of tables.COLUMNS from ``(fraction, method, map_mean, map_sd, ari_mean,
    ari_sd, n_seeds)`` tuples (no paper numbers)."""
    pad = [np.nan] * (len(tables.COLUMNS) - 7)
    table = pd.DataFrame([(*row, *pad) for row in rows], columns=tables.COLUMNS)
    table["fraction"] = table["fraction"].astype("Int64")
    return table


UNETS_100 = [(100, "U-Net Real_100%", 0.55, 0.01, 0.85, 0.01, 3),
             (100, "U-Net Simulated_100%", 0.10, 0.01, 0.10, 0.02, 3),
             (100, "U-Net Mixed(Real_100% + Simulated_100%)", 0.60, 0.01, 0.90, 0.01, 3)]


def mixed_at_5_and_35(map_5, map_35) -> pd.DataFrame:
    """Table 4 at 5 and 35 %: Real_X% MAP 0.45 and 0.50, Mixed as given (ARI 0.3 above),
    sd 0.02 over 3 seeds."""
    return hand_table([(f, name, m, 0.02, m + 0.3, 0.02, 3)
                       for f, real, mixed in [(5, 0.45, map_5), (35, 0.50, map_35)]
                       for name, m in [("Real_X%", real),
                                       ("Mixed(Real_X% + Synthetic^X_100%)", mixed)]])


def test_verdicts_on_hand_made_tables():
    """C1 holds, C2 is contradicted, C3 lies inside the spread; C4 holds within it."""
    t3 = hand_table([
        (None, "OTSU", 0.20, 0.0, 0.40, 0.0, 3),
        (None, "Canny", 0.30, 0.0, 0.30, 0.0, 3),
        *UNETS_100])
    t4 = mixed_at_5_and_35(0.46, 0.54)
    verdicts = tables.verdicts(t3, t4)
    assert list(verdicts.index) == ["C1", "C2", "C3", "C4"]
    assert verdicts.loc["C1", "verdict"] == tables.REPRODUCED
    assert "MAP Canny - Simulated_100%" in verdicts.loc["C1", "evidence"]  # best MAP baseline
    assert "ARI OTSU - Simulated_100%" in verdicts.loc["C1", "evidence"]   # best ARI baseline
    assert verdicts.loc["C2", "verdict"] == tables.NOT_REPRODUCED
    assert verdicts.loc["C3", "verdict"] == tables.INCONCLUSIVE
    assert "gain at 5 % = +0.010 (spread 0.028): open" in verdicts.loc["C3", "evidence"]
    # Mixed_35 - Real_100% = -0.01 within its spread sqrt(0.02^2 + 0.01^2): matches
    assert verdicts.loc["C4", "verdict"] == tables.REPRODUCED
    worse = t4.copy()
    worse.loc[3, "map_mean"] = 0.40
    assert tables.verdicts(t3, worse).loc["C4", "verdict"] == tables.NOT_REPRODUCED


def realism_rows(auc, floor, hf, sd, fractions=(5, 35), seeds=(0, 1)):
    """Chapter-03 realism rows for every run: the synthetic set's AUC, and its
    high-frequency share and core SD as ratios of the real test set's (1.0 and 4.0)."""
    rows = []
    for f in fractions:
        for s in seeds:
            rows += [{"set": "real test", "fraction": f, "seed": s, "auc_vs_reference": np.nan,
                      "high_frequency_share": 0.06, "core_sd": 4.0},
                     {"set": "synthetic", "fraction": f, "seed": s, "auc_vs_reference": auc,
                      "high_frequency_share": 0.06 * hf, "core_sd": 4.0 * sd},
                     {"set": "floor", "fraction": f, "seed": s, "auc_vs_reference": floor,
                      "high_frequency_share": 0.06, "core_sd": 4.0}]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("auc, hf, sd, realistic", [
    (0.55, 1.0, 1.0, True), (0.60, 1.4, 0.7, True),      # within the floor + 0.1, in band
    (0.65, 1.0, 1.0, False),                              # a classifier tells them apart
    (0.55, 0.5, 1.0, False), (0.55, 1.0, 0.3, False),     # smooth inside the grains
    (0.55, 1.6, 1.0, False)])
def test_premise_needs_the_floor_and_the_texture_band(auc, hf, sd, realistic):
    premise = tables.premise(realism_rows(auc, 0.5, hf, sd))
    assert list(premise.index) == [5, 35]
    assert premise["realistic"].tolist() == [realistic, realistic]
    assert premise.loc[5, "n_seeds"] == 2
    assert premise.loc[5, "core_sd_ratio"] == pytest.approx(sd)
    assert premise.loc[5, "high_frequency_ratio"] == pytest.approx(hf)
    assert tables.premise(realism_rows(auc, 0.5, hf, sd).query("set != 'synthetic'")).empty


def test_premise_without_a_floor_takes_chance():
    """Too few real test images to split in two: the AUC is held against chance, 0.5."""
    assert tables.premise(realism_rows(0.58, np.nan, 1.0, 1.0))["realistic"].all()
    assert not tables.premise(realism_rows(0.62, np.nan, 1.0, 1.0))["realistic"].any()


def test_claims_on_synthetic_images_need_realistic_ones():
    """C3 and C4 are not tested on synthetic images a classifier tells from real ones;
    C1 and C2 do not depend on them; realistic images leave every verdict as it was."""
    t3 = hand_table([
        (None, "OTSU", 0.20, 0.0, 0.40, 0.0, 3),
        *UNETS_100])
    t4 = mixed_at_5_and_35(0.30, 0.40)
    plain = tables.verdicts(t3, t4)
    assert plain.loc["C3", "verdict"] == plain.loc["C4", "verdict"] == tables.NOT_REPRODUCED
    fake = tables.verdicts(t3, t4, tables.premise(realism_rows(1.0, 0.5, 0.4, 0.3)))
    assert fake.loc["C3", "verdict"] == fake.loc["C4", "verdict"] == tables.NOT_TESTED
    assert fake.loc["C3", "evidence"].startswith(
        "synthetic images not realistic (synthetic at 5 %: AUC 1.00 vs real-real 0.50, "
        "high-frequency share 0.40 x, core SD 0.30 x the real; synthetic at 35 %")
    assert "as measured: MAP gain at 5 % = -0.150" in fake.loc["C3", "evidence"]
    assert "synthetic at 5 %" not in fake.loc["C4", "evidence"]  # C4 compares 35 % only
    assert (fake.loc[["C1", "C2"], "verdict"] == plain.loc[["C1", "C2"], "verdict"]).all()
    real = tables.verdicts(t3, t4, tables.premise(realism_rows(0.52, 0.5, 1.0, 1.0)))
    assert (real["verdict"] == plain["verdict"]).all()
    assert real.loc["C4", "evidence"].startswith("synthetic at 35 %: AUC 0.52")
    unmeasured = tables.verdicts(t3, t4, tables.premise(realism_rows(1.0, 0.5, 0.4, 0.3,
                                                                     fractions=(5,))))
    assert unmeasured.loc["C4", "verdict"] == tables.NOT_REPRODUCED
    assert "not measured at 35 %" in unmeasured.loc["C4", "evidence"]


def test_one_seed_or_a_missing_fraction_is_inconclusive():
    t3 = hand_table([(None, "OTSU", 0.2, np.nan, 0.4, np.nan, 1),
                     (100, "U-Net Real_100%", 0.55, np.nan, 0.85, np.nan, 1),
                     (100, "U-Net Simulated_100%", 0.10, np.nan, 0.10, np.nan, 1),
                     (100, "U-Net Mixed(Real_100% + Simulated_100%)", 0.5, np.nan, 0.8, np.nan, 1)])
    t4 = hand_table([(5, "Real_X%", 0.45, np.nan, 0.75, np.nan, 1),
                     (5, "Mixed(Real_X% + Synthetic^X_100%)", 0.55, np.nan, 0.85, np.nan, 1)])
    verdicts = tables.verdicts(t3, t4)
    assert (verdicts["verdict"] == tables.INCONCLUSIVE).all()
    assert "no spread" in verdicts.loc["C1", "evidence"]
    assert "two fractions" in verdicts.loc["C3", "evidence"]
    assert "fractions 35 and 100" in verdicts.loc["C4", "evidence"]


def test_judge_and_contrast():
    assert tables.judge(0.05, 0.01) == "holds"
    assert tables.judge(-0.05, 0.01) == "fails"
    assert tables.judge(0.005, 0.01) == "open"
    assert tables.judge(0.05, math.nan) == "open"
    assert tables.judge(-0.005, 0.01, at_least=True) == "holds"
    assert tables.judge(-0.05, 0.01, at_least=True) == "fails"
    a = pd.Series({"map_mean": 0.5, "map_sd": 0.03, "n_seeds": 3})
    b = pd.Series({"map_mean": 0.2, "map_sd": 0.04, "n_seeds": 3})
    assert tables.contrast([(1, a), (-1, b)], "map") == pytest.approx((0.3, 0.05))


def per_patch(seeds=(0, 1), fractions=(5, 100), patches=3, seed=0) -> pd.DataFrame:
    """Per-patch scores as the runs store them, random numbers."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in seeds:
        for f in fractions:
            for name in ("real", "real+flips", "real+synthetic", "synthetic"):
                rows += [("U-Net", name, f, s, p) for p in range(patches)]
        rows += [("U-Net", name, 100, s, p) for name in ("simulated", "real+simulated")
                 for p in range(patches)]
        rows += [(m, "-", fractions[0], s, p) for m in tables.BASELINES for p in range(patches)]
    table = pd.DataFrame(rows, columns=["method", "training_set", "fraction", "seed", "patch"])
    table["MAP"], table["ARI"] = rng.uniform(0, 1, len(table)), rng.uniform(-1, 1, len(table))
    table["dG"], table["intercept_error"] = rng.normal(0, 1, len(table)), rng.normal(0, 0.2, len(table))
    return table


def test_tables_are_means_over_patches_then_seeds():
    scores = per_patch()
    t3, t4 = tables.table3(scores), tables.table4(scores)
    assert list(t3.columns) == list(t4.columns) == tables.COLUMNS
    assert list(t3["method"]) == [*tables.BASELINES, *tables.TABLE3_UNETS.values()]
    assert t3["fraction"].isna().sum() == 4 and (t3["fraction"].dropna() == 100).all()
    assert list(t4["fraction"]) == [5] * 4 + [100] * 4
    chosen = scores[(scores["training_set"] == "real+synthetic") & (scores["fraction"] == 5)]
    per_seed = [chosen.loc[chosen["seed"] == s, "MAP"].mean() for s in (0, 1)]
    row = t4[(t4["fraction"] == 5) & (t4["method"] == "Mixed(Real_X% + Synthetic^X_100%)")].iloc[0]
    assert row["map_mean"] == pytest.approx(np.mean(per_seed))
    assert row["map_sd"] == pytest.approx(np.std(per_seed, ddof=1))
    abs_dG = [chosen.loc[chosen["seed"] == s, "dG"].abs().mean() for s in (0, 1)]
    assert row["abs_dG_mean"] == pytest.approx(np.mean(abs_dG))
    assert row["abs_dG_sd"] == pytest.approx(np.std(abs_dG, ddof=1))
    errors = [chosen.loc[chosen["seed"] == s, "intercept_error"].mean() for s in (0, 1)]
    assert row["intercept_error_mean"] == pytest.approx(np.mean(errors))
    assert list(tables.COLUMNS[:9]) == ["fraction", "method", "map_mean", "map_sd", "ari_mean",
                                        "ari_sd", "n_seeds", "paper_map", "paper_ari"]
    assert row["n_seeds"] == 2 and (row["paper_map"], row["paper_ari"]) == (0.560, 0.837)
    assert t4.loc[t4["method"] == "Real_X% + flips", "paper_map"].isna().all()
    assert tables.tag(scores) == "2seeds" and tables.tag(scores[scores["seed"] == 0]) == "1seed"
    shown = tables.render(t4)
    assert shown.loc[("5 %", "Real_X%"), "paper MAP"] == "0.481"
    assert " ± " in shown.loc[("5 %", "Real_X%"), "MAP"]
    assert tables.markdown(t3).startswith("| method | MAP | ARI | seeds | paper MAP | paper ARI |")


def test_wide_table4_has_one_row_per_fraction_and_the_papers_values_in_brackets():
    t4 = tables.table4(per_patch())
    shown = tables.wide(t4)
    assert list(shown.index) == ["5 %", "100 %"]
    assert list(shown.columns) == list(tables.TABLE4_SETS.values())
    row = t4[(t4["fraction"] == 5) & (t4["method"] == "Real_X%")].iloc[0]
    assert shown.loc["5 %", "Real_X%"] == (f"{row['map_mean']:.3f} ± {row['map_sd']:.3f} "
                                           "[0.481]")
    assert "[" not in shown.loc["5 %", "Real_X% + flips"]
    assert tables.wide(t4, "ari").loc["100 %", "Real_X%"].endswith("[0.866]")
    text = tables.wide_markdown(t4)
    assert text.startswith("| MAP: real X | Real_X% |") and text.count("\n") == 4
    with pytest.raises(ValueError, match="'map' or 'ari'"):
        tables.wide(t4, "MAP")


def test_paper_numbers_are_the_papers():
    """Ma et al. 2020, Tables 3 and 4 (a few entries, as printed)."""
    assert tables.PAPER_TABLE3["U-Net Real_100%"] == (0.585, 0.866)
    assert tables.PAPER_TABLE3["U-Net Simulated_100%"] == (0.112, 0.078)
    assert tables.PAPER_TABLE4["Real_X%"][5] == (0.481, 0.735)
    assert tables.PAPER_TABLE4["Mixed(Real_X% + Synthetic^X_100%)"][35] == (0.586, 0.875)
    assert sorted(tables.PAPER_TABLE4["Mixed(Real_X% + Synthetic^X_100%)"]) == list(range(5, 40, 5))


def test_fig_fractions(tmp_path):
    t4 = tables.table4(per_patch())
    path = tmp_path / "fig.png"
    fig = report.fig_fractions(t4, tables.PAPER_TABLE4, path=path)
    assert path.is_file() and len(fig.axes) == 2


@pytest.mark.slow
def test_the_tables_equal_a_recomputation_from_the_stored_scores(swept, monkeypatch):
    """The CSV tables of the smoke sweep, against plain pandas on each run's scores.csv."""
    monkeypatch.setenv("GRAINLIB_RUNS", str(swept))
    cfg = config.load("smoke")
    stored = pd.concat([pd.read_csv(sweep.run_dir(cfg, r) / sweep.SCORES,
                                    keep_default_na=False, na_values=[""])
                        for r in sweep.plan(cfg)])
    figures = swept / "smoke" / "figures"
    t3 = pd.read_csv(figures / "table3_2seeds.csv")
    t4 = pd.read_csv(figures / "table4_2seeds.csv")

    def expected(rows):
        rows = rows.assign(abs_dG=rows["dG"].abs())
        per_seed = rows.groupby("seed")[["MAP", "ARI", "abs_dG"]].mean()
        return [per_seed["MAP"].mean(), per_seed["MAP"].std(), per_seed["ARI"].mean(),
                per_seed["ARI"].std(), len(per_seed), per_seed["abs_dG"].mean(),
                per_seed["abs_dG"].std()]

    numbers = ["map_mean", "map_sd", "ari_mean", "ari_sd", "n_seeds", "abs_dG_mean",
               "abs_dG_sd"]
    for method in tables.BASELINES:  # the same in every run: any one run's rows will do
        rows = stored[(stored["method"] == method) & (stored["fraction"] == 5)]
        got = t3.loc[t3["method"] == method, numbers].iloc[0]
        assert list(got) == pytest.approx(expected(rows), abs=1e-12, nan_ok=True), method
    for training_set, name in tables.TABLE3_UNETS.items():
        rows = stored[(stored["training_set"] == training_set) & (stored["fraction"] == 100)]
        rows = rows.drop_duplicates(["seed", "patch"])  # the shared models: in every run
        got = t3.loc[t3["method"] == name, numbers].iloc[0]
        assert list(got) == pytest.approx(expected(rows), abs=1e-12, nan_ok=True), name
    assert len(t4) == 2 * len(tables.TABLE4_SETS)
    for training_set, name in tables.TABLE4_SETS.items():
        for fraction in (5, 100):
            rows = stored[(stored["training_set"] == training_set)
                          & (stored["fraction"] == fraction)]
            got = t4.loc[(t4["method"] == name) & (t4["fraction"] == fraction), numbers].iloc[0]
            assert list(got) == pytest.approx(expected(rows), abs=1e-12, nan_ok=True), (name, fraction)


def test_beside_paper_names_each_row_as_the_paper_and_puts_its_numbers_beside():
    rows = []
    for method, training_set, fraction, value in [
            ("U-Net", "real", 5, 0.5), ("U-Net", "real+synthetic", 5, 0.6),
            ("U-Net", "real+simulated", 100, 0.4), ("U-Net", "real+flips", 5, 0.55),
            ("OTSU", "baseline", 5, 0.3)]:
        rows += [{"method": method, "training_set": training_set, "fraction": fraction,
                  "seed": 0, "patch": p, "MAP": value + 0.01 * p, "ARI": 0.8} for p in range(3)]
    shown = tables.beside_paper(pd.DataFrame(rows))
    assert list(shown.index) == ["U-Net Real_5%", "U-Net Mixed(Real_5% + Synthetic^5_100%)",
                                 "U-Net Mixed(Real_100% + Simulated_100%)",
                                 "U-Net Real_5% + flips", "OTSU"]
    assert shown.loc["U-Net Real_5%", "MAP"] == pytest.approx(0.51)
    assert shown.loc["U-Net Real_5%", "patches"] == 3
    assert tuple(shown.loc["U-Net Real_5%", ["paper MAP", "paper ARI"]]) == (0.481, 0.735)
    assert shown.loc["U-Net Mixed(Real_5% + Synthetic^5_100%)", "paper MAP"] == 0.560
    assert shown.loc["U-Net Mixed(Real_100% + Simulated_100%)", "paper MAP"] == 0.504
    assert shown.loc["OTSU", "paper ARI"] == 0.204
    assert np.isnan(shown.loc["U-Net Real_5% + flips", "paper MAP"])  # not in the paper


def test_budget_curve_from_a_table_or_its_csv(tmp_path):
    index = pd.MultiIndex.from_product([["ours", "stochastic"], [300, 1000]],
                                       names=["variant", "step"])
    table = pd.DataFrame({"syn_auc_vs_reference": [1.0, 0.99, 0.9, 0.7],
                          "floor_auc_vs_reference": 0.5,
                          "syn_core_sd_ratio": [0.3, 0.2, 0.8, 1.1],
                          "syn_high_frequency_share_ratio": [0.5, 0.4, 0.9, 1.0],
                          "map_gain_mean": [-0.1, -0.1, 0.0, 0.05],
                          "map_gain_sd": 0.02}, index=index)
    fig = report.budget_curve(table, path=tmp_path / "b.png")
    assert (tmp_path / "b.png").stat().st_size > 10_000
    auc, ratios, gain = fig.axes
    assert [line.get_label() for line in auc.lines[::2]] == ["ours", "stochastic"]
    assert list(auc.lines[2].get_ydata()) == [0.9, 0.7]
    table.to_csv(tmp_path / "b.csv")
    again = report.budget_curve(tmp_path / "b.csv")
    assert list(again.axes[1].lines[0].get_ydata()) == [0.3, 0.2]
