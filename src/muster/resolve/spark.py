"""The Spark engine: the same Splink settings, run by Splink's Spark backend.

``score_spark`` is a drop-in for ``score_duckdb``: it exports the model input (the
canonical records, ``model.MODEL_COLUMNS``) from DuckDB to Parquet, has Spark read
that, train and predict with exactly the settings of the DuckDB engine, writes the
scored pairs to Parquet and loads them back into DuckDB table ``scored``, where the
rest of resolution (clustering, ids, golden records) goes on as usual.

Spark runs in local mode (``local[2]``) unless a master is configured: the
environment variable MUSTER_SPARK_MASTER, else the profile's ``[resolution.spark]``
table (see config.SparkSettings). The session is started once per process and
reused. The Parquet exchange lives in a temporary folder under ``work_dir``, which
on a cluster must be shared with the executors; it is removed afterwards.

The trained model is returned in DuckDB's SQL dialect, so that explanations and
later runs on either engine can use it.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from muster.errors import MusterError
from muster.resolve import model
from muster.resolve.config import ResolutionConfig, SparkSettings
from muster.resolve.probabilistic import collect_scores, training_records_sql
from muster.resolve.saved_model import prior_weight

__all__ = ["MASTER_ENV", "check_spark", "in_dialect", "require_java", "score_spark",
           "spark_session", "stop_session"]

MASTER_ENV = "MUSTER_SPARK_MASTER"
MIN_JAVA = 17
JAVA_HINT = ("Install a Java 17+ runtime (bash scripts/java.sh ensure, or apt-get install "
             "default-jre-headless) or point JAVA_HOME at one; or use --engine duckdb.")
PYSPARK_HINT = "Install the Spark extra: pip install -e '.[spark]' (or use --engine duckdb)."

_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""

_session: Any = None
_session_key: tuple[Any, ...] | None = None


def score_spark(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
                trained: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train (unless a trained model is given) and score on Spark; returns the model."""
    spark = spark_session(config.spark)
    from splink import Linker
    from splink.backends.spark import SparkAPI

    columns = ", ".join(model.MODEL_COLUMNS)
    con.execute(f"CREATE OR REPLACE TABLE model_input AS SELECT {columns} FROM records")
    settings: Any = (in_dialect(trained, config, "spark") if trained is not None
                     else model.settings(config))
    base = config.spark.work_dir or None
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="muster-spark-", dir=base))
    try:
        records = work / "model_input.parquet"
        scored = work / "predictions"
        con.execute(f"COPY model_input TO {_quote(str(records))} (FORMAT parquet)")
        if trained is None:  # on the records the DuckDB engine trains on
            training = work / "model_train.parquet"
            con.execute(f"COPY ({training_records_sql(con, config)}) "
                        f"TO {_quote(str(training))} (FORMAT parquet)")
        with _quiet():
            spark.sparkContext.setCheckpointDir(str(work / "checkpoints"))

            def new_api() -> Any:
                return SparkAPI(  # type: ignore[no-untyped-call]
                    spark_session=spark, break_lineage_method=_lineage(spark))

            if trained is None:
                trainer = Linker(new_api().register(spark.read.parquet(str(training))),
                                 settings, log_level=None)
                settings = model.train(trainer, config)
            # Scored through an API of its own, with the register's term frequencies
            # rather than those the training cached (probabilistic.score_duckdb).
            table = new_api().register(spark.read.parquet(str(records)))
            linker = Linker(table, settings, log_level=None)
            saved: dict[str, Any] = linker.misc.save_model_to_json()
            prior = prior_weight(saved)
            predictions = linker.inference.predict(
                threshold_match_weight=config.review_weight + prior, warning_mode="never")
            frame = predictions.as_spark_dataframe()
            keep = [c for c in frame.columns if c in ("rid_l", "rid_r", "match_weight")
                    or c.startswith(("gamma_", "mw_"))]
            frame.select(*keep).write.mode("overwrite").parquet(str(scored))
        con.execute("CREATE OR REPLACE TABLE spark_predictions AS SELECT * FROM "
                    f"read_parquet({_quote(str(scored / '*.parquet'))})")
        collect_scores(con, "spark_predictions", config, prior)
        con.execute("DROP TABLE spark_predictions")
    finally:
        _forget_tables(spark)
        shutil.rmtree(work, ignore_errors=True)
    return in_dialect(saved, config, "duckdb")


def _lineage(spark: Any) -> str:
    """How Splink cuts the lineage of its intermediate tables: kept in memory (spilling
    to local disk) in local mode; written as Parquet under the work folder on a cluster,
    Splink's default there."""
    return "persist" if spark.sparkContext.master.startswith("local") else "parquet"


def in_dialect(saved: dict[str, Any], config: ResolutionConfig,
               dialect: str) -> dict[str, Any]:
    """A trained model with its SQL rewritten for another engine's dialect.

    Both engines build the same settings (model.settings), so comparisons, levels and
    blocking rules correspond one to one; only the SQL text differs (e.g. DuckDB's
    ``jaro_winkler_similarity`` is Splink's ``jaro_winkler`` UDF on Spark). The trained
    parameters (m, u, prior, term frequencies) are kept as they are.
    """
    target = model.settings(config).create_settings_dict(dialect)
    out = copy.deepcopy(saved)
    if "sql_dialect" in out:
        out["sql_dialect"] = dialect
    comparisons = out.get("comparisons", [])
    if len(comparisons) != len(target["comparisons"]):
        raise MusterError("The trained model does not match this version's comparisons.",
                          hint="Run a full resolution to train a new model.")
    for have, want in zip(comparisons, target["comparisons"], strict=True):
        levels, wanted = have["comparison_levels"], want["comparison_levels"]
        if len(levels) != len(wanted):
            raise MusterError(
                f"The trained model's comparison {have.get('output_column_name')!r} does "
                "not match this version's.", hint="Run a full resolution to train a new model.")
        for level, target_level in zip(levels, wanted, strict=True):
            level["sql_condition"] = target_level["sql_condition"]
            if "sql_dialect" in level:
                level["sql_dialect"] = dialect
    out["blocking_rules_to_generate_predictions"] = [
        {k: v for k, v in rule.items() if v is not None}
        for rule in target["blocking_rules_to_generate_predictions"]]
    return out


def check_spark() -> None:
    """Fail now, with what to install, if Spark could not run (no JVM is started)."""
    if importlib.util.find_spec("pyspark") is None:
        raise MusterError("The Spark engine needs pyspark, which is not installed.",
                          hint=PYSPARK_HINT)
    if _session is None:
        require_java()


def spark_session(settings: SparkSettings) -> Any:
    """The process's Spark session for these settings: started once, then reused."""
    global _session, _session_key
    check_spark()
    master = os.environ.get(MASTER_ENV) or settings.master
    conf = _spark_conf(settings, master)
    key = (master, tuple(sorted(conf.items())))
    if _session is not None and _session_key == key and _alive(_session):
        return _session
    stop_session()
    require_java()
    try:
        with _quiet():
            session = _start(master, conf)
    except Exception as exc:
        raise MusterError(f"Spark could not start (master {master!r}): {exc}{_log_tail()}",
                          hint=f"Check {MASTER_ENV} or the profile's resolution.spark settings; "
                               + JAVA_HINT) from exc
    _session, _session_key = session, key
    return session


def _start(master: str, conf: dict[str, str]) -> Any:
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    spark_conf = SparkConf().setMaster(master).setAppName("muster").setAll(list(conf.items()))
    if SparkContext._gateway is None:  # type: ignore[attr-defined]
        # The JVM's own output (startup notices, log4j at ERROR) goes to a log file,
        # not over the user's terminal.
        path = _jvm_log()
        if path.exists() and path.stat().st_size > 1 << 20:
            path.unlink()
        log = path.open("ab")
        try:
            with _spawn_without_fork():
                gateway = launch_gateway(  # type: ignore[no-untyped-call]
                    spark_conf, popen_kwargs={"stdout": log, "stderr": log})
        finally:
            log.close()
        SparkContext(conf=spark_conf, gateway=gateway)
    session = SparkSession.builder.config(conf=spark_conf).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@contextmanager
def _spawn_without_fork() -> Iterator[None]:
    """Let PySpark start its JVM by vfork, not fork.

    PySpark passes a ``preexec_fn`` (to make the JVM ignore Ctrl-C), which forces
    Python to fork: a copy of this process, which the kernel refuses (ENOMEM) once
    the store's drivers have reserved tens of GB of address space. Without it Python
    uses vfork; the JVM ignores Ctrl-C all the same, as an ignored signal stays
    ignored across exec.
    """
    import signal

    gateway: Any = importlib.import_module("pyspark.java_gateway")
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread: fork as PySpark does
        return
    popen = gateway.Popen

    def spawn(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop("preexec_fn", None)
        return popen(*args, **kwargs)

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    gateway.Popen = spawn
    try:
        yield
    finally:
        gateway.Popen = popen
        signal.signal(signal.SIGINT, previous)


def _jvm_log() -> Path:
    return Path(tempfile.gettempdir()) / f"muster-spark-{os.getuid()}.log"


def _log_tail(lines: int = 20) -> str:
    try:
        tail = _jvm_log().read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return ("\nSpark's log (" + str(_jvm_log()) + "):\n" + "\n".join(tail)) if tail else ""


def stop_session() -> None:
    """Stop the session this process started, if any."""
    global _session, _session_key
    if _session is not None:
        with _quiet():
            _session.stop()
    _session, _session_key = None, None


def _spark_conf(settings: SparkSettings, master: str) -> dict[str, str]:
    from splink.backends.spark import similarity_jar_location

    local = master.startswith("local")
    conf = {
        "spark.driver.memory": settings.driver_memory,
        "spark.jars": similarity_jar_location(),  # Splink's jaro_winkler & co.
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
    }
    partitions = settings.shuffle_partitions or (4 if local else None)
    if partitions:
        conf["spark.sql.shuffle.partitions"] = str(partitions)
        conf["spark.default.parallelism"] = str(partitions)
    java_options = [f"-Dlog4j2.configurationFile=file:{_log4j2_file()}"]
    if local:
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        # Local runs are many small queries on small data, started afresh by each
        # command: adaptive re-planning and the JVM's slow optimising compiler cost
        # more than they save there (measured on 2 cores: about a quarter of the time).
        conf["spark.sql.adaptive.enabled"] = "false"
        java_options.append("-XX:TieredStopAtLevel=1")
        # Compiled only that way, the code goes to one of the code cache's segments, a
        # half of it: a JVM running two resolutions filled it with Spark's generated
        # classes and died ("Out of space in CodeCache"). One segment, twice the size.
        java_options += ["-XX:-SegmentedCodeCache", "-XX:ReservedCodeCacheSize=512m"]
    user = dict(settings.conf)
    if "spark.jars" in user:
        user["spark.jars"] = f"{conf['spark.jars']},{user['spark.jars']}"
    conf.update(user)
    # The user's options come last: for the JVM, the last of two contradicting ones wins.
    java_options.append(conf.get("spark.driver.extraJavaOptions", ""))
    conf["spark.driver.extraJavaOptions"] = " ".join(java_options).strip()
    return conf


def _log4j2_file() -> Path:
    path = Path(tempfile.gettempdir()) / f"muster-spark-log4j2-{os.getuid()}.properties"
    if not path.exists() or path.read_text() != _LOG4J2:
        path.write_text(_LOG4J2)
    return path


def _alive(session: Any) -> bool:
    try:
        return session.sparkContext._jsc is not None
    except Exception:
        return False


def java_version(java: str) -> int | None:
    """The major version of a Java runtime (8 for 1.8), or None if it does not run."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True,
                             timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def require_java() -> None:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise MusterError("The Spark engine needs a Java runtime; none was found"
                          + (f" (JAVA_HOME={home})." if home else " (no `java` on PATH)."),
                          hint=JAVA_HINT)
    version = java_version(java)
    if version is None or version < MIN_JAVA:
        found = "an unknown version" if version is None else f"Java {version}"
        raise MusterError(f"The Spark engine needs Java {MIN_JAVA}+; {java} is {found}.",
                          hint=JAVA_HINT)


def _forget_tables(spark: Any) -> None:
    """Drop the run's temporary views and cached data: their files are about to go."""
    with _quiet():
        for table in spark.catalog.listTables():
            if table.isTemporary:
                spark.catalog.dropTempView(table.name)
        spark.catalog.clearCache()


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
