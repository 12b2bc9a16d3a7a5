"""Reference outputs for moat's detectors, from the Python implementations teams compare against.

Writes detect/fixtures/*.csv (the input series, generated from a fixed seed) and
detect/fixtures/reference.json (statsmodels MSTL/STL forecasts and Prophet forecasts). The
TypeScript tests compare moat's augurs-based detectors with these files and need no Python.

    pip install numpy pandas statsmodels==0.14.4 prophet   (versions used are recorded in reference.json)
    python3 detect/reference/make_reference.py

Forecasting method mirrored from augurs' MSTL: decompose with MSTL (STL for one period), fit an
ETS model to the deseasonalised series (trend + remainder), chosen by AICc among ANN, AAN and
AAdN as AutoETS does for non-seasonal data, then add each seasonal component's last period
repeated (seasonal naive).
"""
import json
import logging
import os
from importlib.metadata import version

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.seasonal import MSTL, STL

logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures")
HORIZON = 48


def fixture(name, n, periods, seed, start=1_700_006_400, step=3600):
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    y = 50 + 0.02 * i + rng.normal(0, 0.8, n)
    for period, amplitude in periods:
        y = y + amplitude * np.sin(2 * np.pi * i / period)
    ts = start + i * step
    pd.DataFrame({"timestamp": ts, "value": np.round(y, 6)}).to_csv(os.path.join(OUT, f"{name}.csv"), index=False)
    return ts, np.round(y, 6)


def auto_ets(y):
    best = None
    for trend, damped in [(None, False), ("add", False), ("add", True)]:
        model = ETSModel(y, error="add", trend=trend, damped_trend=damped).fit(disp=False)
        if best is None or model.aicc < best.aicc:
            best = model
    return best


def mstl_forecast(y, periods):
    if len(periods) == 1:
        result = STL(y, period=periods[0]).fit()
        seasonals = [np.asarray(result.seasonal)]
    else:
        result = MSTL(y, periods=periods).fit()
        seasonals = [np.asarray(result.seasonal[:, k]) for k in range(len(periods))]
    deseasonalised = np.asarray(result.trend) + np.asarray(result.resid)
    model = auto_ets(deseasonalised)
    point = np.asarray(model.forecast(HORIZON))
    for period, seasonal in zip(periods, seasonals):
        last = seasonal[-period:]
        point = point + np.array([last[h % period] for h in range(HORIZON)])
    return {"point": point.tolist(), "trend_model": model.model.short_name if hasattr(model.model, "short_name") else str(model.model)}


def prophet_forecast(ts, y):
    from prophet import Prophet

    frame = pd.DataFrame({"ds": pd.to_datetime(ts, unit="s"), "y": y})
    model = Prophet(interval_width=0.95)
    model.fit(frame, seed=1)
    future = pd.DataFrame({"ds": pd.to_datetime(ts[-1] + 3600 * np.arange(1, HORIZON + 1), unit="s")})
    forecast = model.predict(future)
    return {"point": forecast.yhat.tolist(), "lower": forecast.yhat_lower.tolist(), "upper": forecast.yhat_upper.tolist()}


def main():
    os.makedirs(OUT, exist_ok=True)
    reference = {"horizon": HORIZON, "versions": {p: version(p) for p in ["numpy", "pandas", "statsmodels", "prophet"]}, "fixtures": {}}
    ts, y = fixture("daily", 24 * 14, [(24, 6.0)], seed=1)
    reference["fixtures"]["daily"] = {"stl": {"periods": [24], **mstl_forecast(y, [24])}, "prophet": prophet_forecast(ts, y)}
    ts, y = fixture("daily-weekly", 24 * 28, [(24, 6.0), (168, 4.0)], seed=2)
    reference["fixtures"]["daily-weekly"] = {"mstl": {"periods": [24, 168], **mstl_forecast(y, [24, 168])}, "prophet": prophet_forecast(ts, y)}
    with open(os.path.join(OUT, "reference.json"), "w") as handle:
        json.dump(reference, handle, indent=1)
        handle.write("\n")


if __name__ == "__main__":
    main()
