"""XGBoost `hist` reference for bench/ml.ts.

Usage: /usr/bin/python3 bench/xgb_hist.py DATA_PREFIX N_TRAIN N_TEST D ROUNDS MAX_DEPTH MAX_BIN THREADS
Reads DATA_PREFIX.X (float32 row-major, NaN = missing) and DATA_PREFIX.y (uint8), train rows first.
Prints one JSON line: train seconds (DMatrix construction excluded and reported apart), test AUC.
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb


def auc(y, p):
    order = np.argsort(p, kind="mergesort")
    ps = p[order]
    ranks = np.empty(len(p))
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and ps[j + 1] == ps[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y.sum()
    neg = len(y) - pos
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def main():
    prefix, n_train, n_test, d, rounds, depth, max_bin, threads = sys.argv[1:9]
    n_train, n_test, d = int(n_train), int(n_test), int(d)
    X = np.fromfile(prefix + ".X", dtype=np.float32).reshape(n_train + n_test, d)
    y = np.fromfile(prefix + ".y", dtype=np.uint8).astype(np.float32)
    t0 = time.perf_counter()
    dtrain = xgb.DMatrix(X[:n_train], label=y[:n_train], missing=np.nan, nthread=int(threads))
    t1 = time.perf_counter()
    params = {
        "objective": "binary:logistic", "tree_method": "hist", "max_depth": int(depth), "max_bin": int(max_bin),
        "eta": 0.1, "lambda": 1.0, "min_child_weight": 1.0, "nthread": int(threads), "eval_metric": "logloss",
    }
    booster = xgb.train(params, dtrain, num_boost_round=int(rounds))
    t2 = time.perf_counter()
    p = booster.predict(xgb.DMatrix(X[n_train:], missing=np.nan, nthread=int(threads)))
    print(json.dumps({
        "xgboost_version": xgb.__version__, "threads": int(threads), "dmatrix_s": t1 - t0, "train_s": t2 - t1,
        "auc": auc(y[n_train:], p.astype(np.float64)),
    }))


if __name__ == "__main__":
    main()
