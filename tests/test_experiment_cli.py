"""The ``experiment`` subcommand: its JSON contract (docs/cli.md), text output and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from insights.cli import main

CONTRACT = {"srm", "multiple_exposures", "comparisons"}
COMPARISON_KEYS = {"metric", "variant", "control", "n_control", "n_variant", "control_mean", "variant_mean",
                   "abs_diff", "abs_ci", "rel_lift", "rel_ci", "p_value", "p_value_adjusted", "chance_to_win"}


@pytest.fixture
def ab_file(tmp_path):
    rng = np.random.default_rng(3)
    n = 2000
    frame = pd.DataFrame({"uid": range(n), "grp": rng.choice(["B", "A", "C"], n),
                          "bought": rng.binomial(1, 0.2, n), "spend": rng.exponential(10, n),
                          "refund": rng.binomial(1, 0.05, n)})
    path = tmp_path / "ab.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_json_contract_has_documented_keys_and_values(ab_file, capsys) -> None:
    path, frame = ab_file
    code = main(["experiment", str(path), "--unit-col", "uid", "--variant", "grp", "--control", "A",
                 "--metric", "bought", "--metric", "spend", "--guardrail", "refund", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert CONTRACT <= set(out)
    assert set(out["srm"]) >= {"p_value", "flagged", "counts"}
    assert out["srm"]["counts"] == frame.grp.value_counts().to_dict()
    assert out["multiple_exposures"] == 0
    assert len(out["comparisons"]) == 6  # (2 metrics + 1 guardrail) x 2 treatment variants
    for c in out["comparisons"]:
        assert COMPARISON_KEYS <= set(c)
        assert c["control"] == "A" and c["variant"] in ("B", "C")
        assert len(c["abs_ci"]) == 2 and len(c["rel_ci"]) == 2
    first = out["comparisons"][0]
    a, b = frame[frame.grp == "A"].bought, frame[frame.grp == first["variant"]].bought
    assert (first["metric"], first["n_control"], first["n_variant"]) == ("bought", len(a), len(b))
    assert first["control_mean"] == pytest.approx(a.mean()) and first["variant_mean"] == pytest.approx(b.mean())


def test_text_output_names_control_and_metrics(ab_file, capsys) -> None:
    path, _ = ab_file
    assert main(["experiment", str(path), "--unit-col", "uid", "--variant", "grp", "--metric", "bought"]) == 0
    text = capsys.readouterr().out
    assert "control 'A'" in text and "bought" in text and "sample ratio" in text


@pytest.mark.parametrize("extra, needle", [
    (["--metric", "nope"], "nope"),
    (["--metric", "bought", "--control", "Z"], "'Z'"),
    (["--metric", "bought", "--split", "A"], "--split"),
    (["--metric", "bought", "--variant", "missing_col"], "missing_col"),
])
def test_bad_input_exits_2_with_one_line(ab_file, capsys, extra: list[str], needle: str) -> None:
    path, _ = ab_file
    code = main(["experiment", str(path), "--unit-col", "uid", "--variant-col", "grp", *extra])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1
