"""The Spark session starts with Python workers on the venv and runs pandas UDFs over Arrow."""

def test_local_session_runs_python_workers(spark):
    import pandas as pd
    df = spark.createDataFrame(pd.DataFrame({"a": [1, 2, 3]}))
    out = df.mapInPandas(lambda it: (x * 2 for x in it), "a long").toPandas()
    assert sorted(out["a"]) == [2, 4, 6]
