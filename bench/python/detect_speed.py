"""The Python reference side of bench/detect-speed.ts: fit + forecast time of numpy robust z,
statsmodels STL + ETS (as augurs' MSTL forecasts) and prophet, on the same synthetic hourly series.
Prints one JSON object: {"<detector>": {"<n>": median_seconds}}.
Usage: python3 bench/python/detect_speed.py 1000,10000,100000 [reps]"""
import json
import logging
import sys
import time
import warnings

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.seasonal import STL

warnings.filterwarnings("ignore")
logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
logging.getLogger("prophet").setLevel(logging.WARNING)
HORIZON = 100


def series(n):
    i = np.arange(n)
    rng = np.random.default_rng(n)
    return 50 + 0.001 * i + 6 * np.sin(2 * np.pi * i / 24) + rng.normal(0, 1, n)


def robust_z(y):
    center = np.median(y)
    scale = 1.4826 * np.median(np.abs(y - center))
    return np.abs(y[-HORIZON:] - center) / scale > 4


def stl_ets(y):
    result = STL(y, period=24).fit()
    deseasonalised = pd.Series(np.asarray(result.trend) + np.asarray(result.resid))
    best = None
    for trend, damped in [(None, False), ("add", False), ("add", True)]:
        model = ETSModel(deseasonalised, error="add", trend=trend, damped_trend=damped).fit(disp=False)
        if best is None or model.aicc < best.aicc:
            best = model
    forecast = best.get_prediction(len(y), len(y) + HORIZON - 1).summary_frame(alpha=0.01)
    return forecast


def prophet(y):
    from prophet import Prophet

    ds = pd.to_datetime(1_700_006_400 + 3600 * np.arange(len(y)), unit="s")
    model = Prophet(interval_width=0.99)
    model.fit(pd.DataFrame({"ds": ds, "y": y}))
    future = pd.DataFrame({"ds": pd.to_datetime(1_700_006_400 + 3600 * np.arange(len(y), len(y) + HORIZON), unit="s")})
    return model.predict(future)


def main():
    sizes = [int(s) for s in sys.argv[1].split(",")]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    out = {}
    for name, fn in [("robust-z", robust_z), ("mstl", stl_ets), ("prophet", prophet)]:
        out[name] = {}
        for n in sizes:
            y = series(n)
            times = []
            fn(series(min(n, 1000)))  # warm-up, untimed
            for _ in range(1 if n >= 100_000 else reps):
                start = time.perf_counter()
                fn(y)
                times.append(time.perf_counter() - start)
            out[name][str(n)] = float(np.median(times))
            print(f"python {name} n={n}: {out[name][str(n)]:.3f} s", file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
