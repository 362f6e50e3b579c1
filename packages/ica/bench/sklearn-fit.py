# Times scikit-learn's FastICA on the benchmark's shape (20000 x 1280 -> 64), for comparison.
# Run: /usr/bin/python3 packages/ica/bench/sklearn-fit.py [whiten_solver]
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.decomposition import FastICA

N_SAMPLES, N_FEATURES, N_COMPONENTS = 20000, 1280, 64


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    sources = rng.laplace(size=(N_SAMPLES, N_COMPONENTS))
    mixing = rng.normal(size=(N_FEATURES, N_COMPONENTS))
    return sources @ mixing.T + 0.5 * rng.normal(size=(N_SAMPLES, N_FEATURES))


def main():
    solver = sys.argv[1] if len(sys.argv) > 1 else "svd"
    x = make_data()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ica = FastICA(
            n_components=N_COMPONENTS, whiten="unit-variance", whiten_solver=solver, random_state=0
        )
        ica.fit(x)
    seconds = time.perf_counter() - started
    print(f"sklearn {sklearn.__version__} whiten_solver={solver}: {seconds:.2f} s, {ica.n_iter_} iterations")


main()
