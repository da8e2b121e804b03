"""Spark as an engine: the core's SQL translated to Spark SQL and run by a SparkSession.

One session per process, started on first use and reused. The default master is ``local[2]`` (this machine);
``INSIGHTS_SPARK_MASTER`` or the source ``spark://host:7077`` (or ``yarn``, ``k8s://...``) points it at a
cluster, and ``INSIGHTS_SPARK_CONF`` adds settings (``key=value`` pairs separated by commas). The session runs
in UTC with non-ANSI arithmetic (a division by zero is NULL, as in DuckDB). Intermediate results are cached
temporary views, uncached and dropped after use.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd

from insights.engine import plain_rows
from insights.errors import InsightsError
from insights.sql import Dialect

DEFAULT_MASTER = "local[2]"
_LOG4J = """rootLogger.level = fatal
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %p %c{1}: %m%n
"""
_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT",
          "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP WITH TIME ZONE",
          "timestamp_ntz": "TIMESTAMP", "date": "DATE", "binary": "BLOB"}
_lock = threading.Lock()
_session: Any = None


def duckdb_type(spark_name: str) -> str:
    """The DuckDB type name for a Spark SQL type (``decimal(p,s)`` keeps its precision)."""
    if spark_name.startswith("decimal"):
        return spark_name.upper()
    return _TYPES.get(spark_name, spark_name.upper())


def _settings(master: str) -> dict[str, str]:
    log4j = os.path.join(tempfile.gettempdir(), "insights-spark-log4j2.properties")
    if not os.path.exists(log4j):
        with open(log4j, "w") as fh:
            fh.write(_LOG4J)
    conf = {"spark.master": master, "spark.app.name": "insights", "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false", "spark.sql.shuffle.partitions": "4",
            "spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "false",
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log4j}"}
    for item in os.environ.get("INSIGHTS_SPARK_CONF", "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            conf[key.strip()] = value.strip()
    return conf


@contextlib.contextmanager
def _jvm_stderr_silenced() -> Iterator[None]:
    """The JVM inherits standard error when it starts: give it /dev/null (``INSIGHTS_SPARK_VERBOSE=1`` keeps it).

    Its log lines would otherwise break the command line's promise of one error line; failures still reach
    the caller as exceptions with their message.
    """
    if os.environ.get("INSIGHTS_SPARK_VERBOSE"):
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def spark_session(master: str | None = None) -> Any:
    """The process's SparkSession, started on first call (later calls reuse it whatever ``master`` says)."""
    global _session
    with _lock:
        if _session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:
                raise InsightsError("no_spark", "Spark sources need pyspark: pip install pyspark.") from exc
            builder = SparkSession.builder
            for key, value in _settings(master or os.environ.get("INSIGHTS_SPARK_MASTER", DEFAULT_MASTER)).items():
                builder = builder.config(key, value)
            try:
                with warnings.catch_warnings(), _jvm_stderr_silenced():
                    warnings.simplefilter("ignore", FutureWarning)
                    _session = builder.getOrCreate()
            except Exception as exc:  # Java missing or the master unreachable: one readable line
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise InsightsError("unreachable_source", f"Cannot start a Spark session: {first} "
                                    "(Spark needs Java 17 or later on PATH or JAVA_HOME).") from exc
            _session.sparkContext.setLogLevel("FATAL")
            # pyspark logs every failed query as JSON on stderr; the caller gets the exception anyway
            logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
        return _session


class SparkEngine:
    """Runs Spark SQL on the process's SparkSession."""

    name = "spark"
    dialect: Dialect = "spark"

    def __init__(self, master: str | None = None) -> None:
        self.spark = spark_session(master)

    def query(self, sql: str) -> list[tuple]:
        return plain_rows([tuple(r) for r in self.spark.sql(sql).collect()])

    def query_df(self, sql: str) -> pd.DataFrame:
        frame = self.spark.sql(sql)
        return pd.DataFrame(plain_rows([tuple(r) for r in frame.collect()]), columns=frame.columns)

    def execute(self, sql: str) -> None:
        self.spark.sql(sql)

    def columns(self, relation: str) -> list[tuple[str, str]]:
        schema = self.spark.sql(f"SELECT * FROM {relation} LIMIT 0").schema
        return [(f.name, duckdb_type(f.dataType.simpleString())) for f in schema.fields]

    def create_temp(self, name: str, select_sql: str) -> None:
        self.spark.sql(f"CACHE TABLE `{name}` AS {select_sql}")

    def drop_temp(self, name: str) -> None:
        self.spark.sql(f"UNCACHE TABLE IF EXISTS `{name}`")
        self.spark.sql(f"DROP VIEW IF EXISTS `{name}`")

    def close(self) -> None:
        """The session stays up for the next analysis in this process."""
