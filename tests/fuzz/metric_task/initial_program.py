def metrics():
    return {"combined_score": 0.5}
