"""Offline checks behind the README's diagnosis of the experiment (not part of the library).

Run from the folder holding hospital-A/, hospital-B/ (synth-cohort) and le-A/, le-B/
(encode-cohort with the shipped weights), with Debian's python3-sklearn:

    python3 diagnostics.py

1. Patient-level AUC (highest scan value) of single volumetric features, true (from the cohort
   manifest) and measured by the pipeline (from the encoded records).
2. The same for the mean and the largest per-slice lesion share of a scan.
3. Pooled slice features (mean and max over slices after a 64-component PCA fitted on A):
   logistic regression, patient-grouped 5-fold cross-validation inside A, and A -> B.
"""

import glob
import json

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler


def patient_auc(labels, scores, patients):
    best = {}
    for y, s, p in zip(labels, scores, patients):
        best[p] = (y, max(s, best.get(p, (y, -np.inf))[1]))
    pairs = list(best.values())
    return roc_auc_score([y for y, _ in pairs], [s for _, s in pairs])


def load(hospital):
    manifest = json.load(open(f"hospital-{hospital}/manifest.json"))
    truth = {s["scan"]: s for s in manifest["scans"]}
    scans = []
    for path in sorted(glob.glob(f"le-{hospital}/scans/*.json")):
        record = json.load(open(path))
        row = truth[record["scan"]]
        scans.append(
            {
                "patient": record["patient"],
                "severe": row["severe"],
                "converter": row["converter"],
                "true": {
                    "lesion": row["lesionPercentOfLung"],
                    "ground-glass": row["groundGlassPercentOfLung"],
                    "consolidation": row["consolidationPercentOfLung"],
                },
                "measured": {
                    "lesion": record["volumetrics"]["lesion"]["percentOfLung"],
                    "ground-glass": record["volumetrics"]["groundGlass"]["percentOfLung"],
                    "consolidation": record["volumetrics"]["consolidation"]["percentOfLung"],
                    "effusion": record["volumetrics"]["pleuralEffusion"]["percentOfLung"],
                },
                "shares": np.array(record["sliceLesionShares"]).T,  # [slices, 3]
                "features": np.load(f"le-{hospital}/{record['features']}"),
            }
        )
    return scans


def task_rows(scans, task):
    chosen = [s for s in scans if task == "severe" or not s["severe"]]
    return chosen, [s[task] for s in chosen], [s["patient"] for s in chosen]


hospitals = {h: load(h) for h in "AB"}
for task in ("severe", "converter"):
    print(f"\n== {task}: single features, patient-level AUC")
    for h, scans in hospitals.items():
        chosen, y, g = task_rows(scans, task)
        for kind in ("true", "measured"):
            for name in chosen[0][kind]:
                auc = patient_auc(y, [s[kind][name] for s in chosen], g)
                print(f"  {h} {kind:8s} {name:13s} % of lung  {auc:.3f}")
        total = [s["shares"].sum(1) for s in chosen]
        mean = patient_auc(y, [t.mean() for t in total], g)
        largest = patient_auc(y, [t.max() for t in total], g)
        print(f"  {h} mean per-slice lesion share    {mean:.3f}")
        print(f"  {h} largest per-slice lesion share {largest:.3f}")

pca = PCA(64, random_state=0).fit(np.concatenate([s["features"] for s in hospitals["A"]]))


def pooled(scans, what):
    rows = []
    for s in scans:
        parts = []
        if "features" in what:
            z = pca.transform(s["features"])
            parts += [z.mean(0), z.max(0)]
        if "shares" in what:
            parts += [s["shares"].mean(0), s["shares"].max(0)]
        rows.append(np.concatenate(parts))
    return np.array(rows)


def fit(x, y):
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=0.01, max_iter=5000, class_weight="balanced")
    return scaler, model.fit(scaler.transform(x), y)


for task in ("severe", "converter"):
    print(f"\n== {task}: pooled slice features, logistic regression")
    a, ya, ga = task_rows(hospitals["A"], task)
    b, yb, gb = task_rows(hospitals["B"], task)
    ya, yb = np.array(ya), np.array(yb)
    for what in ("features", "shares", "features+shares"):
        xa, xb = pooled(a, what), pooled(b, what)
        inside = np.zeros(len(ya))
        for train, test in GroupKFold(5).split(xa, ya, ga):
            scaler, model = fit(xa[train], ya[train])
            inside[test] = model.decision_function(scaler.transform(xa[test]))
        scaler, model = fit(xa, ya)
        across = model.decision_function(scaler.transform(xb))
        print(
            f"  {what:16s} inside A (5-fold) {patient_auc(ya, inside, ga):.3f}"
            f"  A -> B {patient_auc(yb, across, gb):.3f}"
        )
