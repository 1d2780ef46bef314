"""A supervised reference for linkage on the field lists (issue #13): how far a model that is
*told* the truth gets on the same scored pairs, with the same clustering.

The engine is unsupervised: it learns its weights from the records themselves (EM), as it
must with real lists, where nobody knows which records are one person. To tell how much of
what it misses is within reach at all, this bench trains a gradient-boosted classifier
(scikit-learn's `HistGradientBoostingClassifier`) on the labelled pairs of the tuning seeds
(`fieldlists.TUNING_SEEDS`) and scores the pairs of other seeds with it:

* its inputs are everything the engine knows of a pair and more: the engine's own match
  probability (after the source priors and the rivals), the level of every comparison of
  the spec, the pair of sources, how many records share each key and how many candidates
  each record has, and finer name similarities the spec leaves out (Jaro–Winkler and edit
  distances of the folded given names, syllables agreeing, readings shared, the consonant
  skeleton, the Hangul given names, the surname's readings, the years' difference);
* its probabilities are clustered exactly as the engine's are (`engine.cluster_records`),
  at a threshold chosen by leave-one-seed-out over the tuning seeds (never on a reported
  seed);
* the pairs are the engine's blocked pairs: a pair blocking never meets is missed by both.

It is a reference, not a bound: another learner or other features might do better. But a
model given the truth and more features than the engine reaching only a little more than the
engine says that what is left is mostly not in the records (namesakes with nothing but a
name, one letter off). One JSON line per reported seed, then a summary line. Environment:
`BENCH_CEILING_TIERS` (default moderate; also harsh), `BENCH_CEILING_SEEDS` (reported seeds,
default 14,15 and the held-out 777), people as in `bench_linkage_typos.py` (4,000 moderate,
3,000 harsh).
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jikimi.settings")
os.environ.setdefault("JIKIMI_TESTING", "1")

import django  # noqa: E402

django.setup()

import jellyfish  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bench_linkage_typos import _clusters_of, _write, tier_sizes  # noqa: E402

from jikimi.linkage import engine, fieldlists, spec  # noqa: E402
from jikimi.linkage.services import link_records  # noqa: E402

THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
CATEGORICAL = [c.name for c in spec.COMPARISONS] + ["sources"]
NUMERIC = [
    "logit", "given_key_records", "surname_records", "candidates_min", "candidates_max",
    "jaro_winkler_name", "jaro_winkler_given", "edits_given", "edits_given_key",
    "first_syllable", "second_syllable", "readings_shared", "skeleton", "hangul_given",
    "surname_readings", "year_difference",
]  # fmt: skip
# Fixed vocabularies, so every seed codes a level or a pair of sources the same way.
_LEVELS = sorted({spec.NULL_LEVEL, *(lv.name for c in spec.COMPARISONS for lv in c.levels)})
_SOURCE_PAIRS = sorted(
    {":".join(sorted((a, b))) for a in fieldlists.SOURCES for b in fieldlists.SOURCES}
)


def _known(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _both(left: dict[str, Any], right: dict[str, Any], column: str) -> tuple[Any, Any] | None:
    a, b = left.get(column), right.get(column)
    return None if a is None or b is None else (a, b)


def _pair_features(
    left: dict[str, Any], right: dict[str, Any], names: tuple[str, str]
) -> dict[str, Any]:
    """The finer similarities of two derived records (−1 where either side is unknown)."""
    out: dict[str, Any] = {
        "jaro_winkler_name": jellyfish.jaro_winkler_similarity(names[0].lower(), names[1].lower())
    }
    typo = _both(left, right, "given_typo")
    out["jaro_winkler_given"] = jellyfish.jaro_winkler_similarity(*typo) if typo else -1
    out["edits_given"] = min(spec.levenshtein(*typo, 4), 4) if typo else -1
    key = _both(left, right, "given_key")
    out["edits_given_key"] = min(spec.levenshtein(*key, 4), 4) if key else -1
    for column, name in (("given_syl1", "first_syllable"), ("given_syl2", "second_syllable")):
        pair = _both(left, right, column)
        out[name] = int(pair[0] == pair[1]) if pair else -1
    out["readings_shared"] = len(
        set(left.get("given_keys") or ()) & set(right.get("given_keys") or ())
    )
    for column, name in (("given_skel", "skeleton"), ("given_hangul", "hangul_given")):
        pair = _both(left, right, column)
        out[name] = int(pair[0] == pair[1]) if pair else -1
    out["surname_readings"] = int(
        bool(set(left.get("surname_keys") or ()) & set(right.get("surname_keys") or ()))
    )
    years = _both(left, right, "birth_year")
    out["year_difference"] = min(abs(int(years[0]) - int(years[1])), 5) if years else -1
    return out


def seed_pairs(tier: str, scale: float, people: int, seed: int) -> dict[str, Any]:
    """The engine's scored pairs of one seed, their features and labels, and the engine's F1."""
    data = fieldlists.generate(people, seed=seed, scale=scale)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "people.csv"
        _write(data.records, path)
        result = link_records([path], progress=False, all_pairs=True)
        records = engine.read_records([path])
        derived = engine.derive_columns(
            records, None, alias_sources=result.model.get("alias_sources")
        )
    rows = {
        row["record_id"]: {k: _known(v) for k, v in row.items()}
        for row in derived.to_dict("records")
    }
    source = dict(zip(records.frame["record_id"], records.frame["source"], strict=True))
    name = dict(zip(records.frame["record_id"], records.frame["name"], strict=True))
    given_records = Counter(r.get("given_key") for r in rows.values())
    surname_records = Counter(r.get("surname_group") for r in rows.values())
    pairs = result.pairs
    plausible = pairs[pairs["match_probability"] >= 0.05]
    candidates = Counter(plausible["record_id_l"]) + Counter(plausible["record_id_r"])
    features = []
    for a, b, q in zip(
        pairs["record_id_l"], pairs["record_id_r"], pairs["match_probability"], strict=True
    ):
        left, right = rows[a], rows[b]
        feature: dict[str, Any] = {c.name: c.level_of(left, right) for c in spec.COMPARISONS}
        q = min(max(float(q), 1e-12), 1 - 1e-12)
        feature.update(
            sources=":".join(sorted((source[a], source[b]))),
            logit=math.log(q / (1 - q)),
            given_key_records=max(
                given_records[left.get("given_key")], given_records[right.get("given_key")]
            ),
            surname_records=max(
                surname_records[left.get("surname_group")],
                surname_records[right.get("surname_group")],
            ),
            candidates_min=min(candidates[a], candidates[b]),
            candidates_max=max(candidates[a], candidates[b]),
            **_pair_features(left, right, (name[a], name[b])),
        )
        features.append(feature)
    frame = pd.DataFrame(features)
    frame["record_id_l"], frame["record_id_r"] = pairs["record_id_l"], pairs["record_id_r"]
    frame["label"] = [
        data.truth[a] == data.truth[b]
        for a, b in zip(frame["record_id_l"], frame["record_id_r"], strict=True)
    ]
    engine_scores = fieldlists.scores_by_kind(_clusters_of(result), data.truth, data.kinds)
    return {"tier": tier, "seed": seed, "frame": frame, "data": data, "engine": engine_scores}


def _matrix(frame: pd.DataFrame) -> pd.DataFrame:
    coded = {
        column: frame[column].map({v: i for i, v in enumerate(_LEVELS)}).fillna(-1)
        for column in CATEGORICAL[:-1]
    }
    coded["sources"] = frame["sources"].map({v: i for i, v in enumerate(_SOURCE_PAIRS)})
    return pd.DataFrame({**coded, **{column: frame[column] for column in NUMERIC}})


def fit(seeds: list[dict[str, Any]]) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame = pd.concat([s["frame"] for s in seeds], ignore_index=True)
    model = HistGradientBoostingClassifier(
        max_iter=400,
        learning_rate=0.05,
        categorical_features=list(range(len(CATEGORICAL))),
        random_state=0,
    )
    model.fit(_matrix(frame), frame["label"])
    return model


def clustered_scores(model: Any, seed: dict[str, Any], threshold: float) -> dict[str, Any]:
    frame = seed["frame"]
    pairs = pd.DataFrame(
        {
            "record_id_l": frame["record_id_l"],
            "record_id_r": frame["record_id_r"],
            "match_probability": model.predict_proba(_matrix(frame))[:, 1],
        }
    )
    data = seed["data"]
    clusters = engine.cluster_records(list(data.truth), pairs, threshold)
    assigned = dict(zip(clusters["record_id"], clusters["cluster_id"], strict=True))
    return fieldlists.scores_by_kind(assigned, data.truth, data.kinds)


def choose_threshold(tuning: list[dict[str, Any]]) -> float:
    """The threshold of the best mean F1, each tuning seed scored by a model of the others."""
    totals = dict.fromkeys(THRESHOLDS, 0.0)
    for held in tuning:
        model = fit([s for s in tuning if s is not held])
        for threshold in THRESHOLDS:
            totals[threshold] += clustered_scores(model, held, threshold)["overall"]["f1"]
    return max(THRESHOLDS, key=lambda t: (totals[t], -t))


def main() -> None:
    tiers = tier_sizes()
    reported = [int(s) for s in os.environ.get("BENCH_CEILING_SEEDS", "14,15,777").split(",")]
    for tier in filter(None, os.environ.get("BENCH_CEILING_TIERS", "moderate").split(",")):
        scale, people = tiers[tier]
        tuning = [seed_pairs(tier, scale, people, s) for s in fieldlists.TUNING_SEEDS]
        threshold = choose_threshold(tuning)
        model = fit(tuning)
        engine_f1, supervised_f1 = [], []
        for seed in reported:
            pairs = seed_pairs(tier, scale, people, seed)
            supervised = clustered_scores(model, pairs, threshold)["overall"]
            engine_f1.append(pairs["engine"]["overall"]["f1"])
            supervised_f1.append(supervised["f1"])
            print(
                json.dumps(
                    {
                        "bench": "linkage_ceiling",
                        "tier": tier,
                        "seed": seed,
                        "held_out": seed == fieldlists.HELD_OUT_SEED,
                        "pairs": len(pairs["frame"]),
                        "engine": pairs["engine"]["overall"],
                        "supervised": supervised,
                        "threshold": threshold,
                    }  # fmt: skip
                ),
                flush=True,
            )
        print(
            json.dumps(
                {
                    "bench": "linkage_ceiling_summary",
                    "tier": tier,
                    "trained_on": list(fieldlists.TUNING_SEEDS),
                    "trained_on_pairs": int(sum(len(s["frame"]) for s in tuning)),
                    "seeds": reported,
                    "threshold": threshold,
                    "engine_mean_f1": round(float(np.mean(engine_f1)), 4),
                    "supervised_mean_f1": round(float(np.mean(supervised_f1)), 4),
                }  # fmt: skip
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
