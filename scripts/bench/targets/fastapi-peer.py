"""The peer: FastAPI + uvicorn + scikit-learn serving POST /predict as such a service is usually written.

A LogisticRegression trained on synthetic data of the benchmark model's shape (BENCH_FEATURES features,
two classes) answers {"instances": [[...], ...]} with {"predictions": [{"probability": p, "label": l}]},
one uvicorn worker, no access log. Started with Debian's python3 (apt-get install python3-fastapi
python3-uvicorn python3-sklearn).
"""

import os

import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sklearn.linear_model import LogisticRegression

FEATURES = int(os.environ.get("BENCH_FEATURES", "4"))

rng = np.random.default_rng(7)
inputs = rng.normal(size=(2000, FEATURES))
labels = (inputs @ rng.normal(size=FEATURES) > 0).astype(int)
model = LogisticRegression().fit(inputs, labels)


class PredictRequest(BaseModel):
    instances: list[list[float]]


app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/predict")
async def predict(request: PredictRequest):
    probabilities = model.predict_proba(np.asarray(request.instances))[:, 1]
    return {"predictions": [{"probability": float(p), "label": int(p >= 0.5)} for p in probabilities]}


if __name__ == "__main__":
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8080")), workers=1, access_log=False, log_level="warning")
