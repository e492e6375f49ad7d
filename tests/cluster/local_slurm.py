"""A throw-away single-node SLURM cluster from Debian's packages, for the cluster tests.

Recipe from the project's notes (reference/snakemake-slurm-papermill.md §9): munge, slurmctld and
slurmd of SLURM 22.05 run as root, cons_tres, linuxproc, accounting off. Everything lives in one
private directory: its own munge key and socket, free TCP ports, state and logs, so a system
SLURM on the same machine is never touched. The node gets the machine's own CPU layout
(``slurmd -C``), 80 % of its memory, two fake GPUs (character devices aliasing /dev/null, or
/dev/null itself) and one default partition, ``local``. Clients find the cluster through
``SLURM_CONF`` (``cluster.env``).

One workaround: snakemake-executor-plugin-slurm-jobstep removes every ``SLURM_*`` variable,
``SLURM_CONF`` included, before its nested ``srun``, which then finds no configuration (real
clusters use /etc/slurm or configless mode). ``cluster.env`` therefore puts ``<dir>/bin`` first on
PATH, with an ``srun`` that sets SLURM_CONF and runs the real one.

    eval "$(python tests/cluster/local_slurm.py start)"   # sets SLURM_CONF and PATH
    python tests/cluster/local_slurm.py stop DIR          # cancels its jobs, stops its daemons
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

TEMPLATE = Path(__file__).with_name("slurm.conf.in")
PACKAGES = ("munge", "slurmctld", "slurmd", "slurm-client")
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "scontrol", "scancel", "sinfo")
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


class ClusterUnavailable(RuntimeError):
    """This machine cannot run the test cluster (not root, no packages, a daemon failed)."""


def which(tool: str) -> str | None:
    """Path of a SLURM/munge executable, also looking in the sbin folders."""
    return shutil.which(tool, path=SBIN_PATH)


def missing_tools() -> list[str]:
    """The daemons and client commands that are not installed."""
    return [t for t in (*DAEMONS, *CLIENTS) if which(t) is None]


def install_packages(timeout: float = 900) -> None:
    """Install munge and SLURM from the Debian archive with apt-get (needs root)."""
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable(f"{', '.join(missing_tools())} missing and no apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ClusterUnavailable(f"`{' '.join(cmd)}` timed out after {timeout} s") from None
        if proc.returncode != 0:
            raise ClusterUnavailable(f"`{' '.join(cmd)}` failed: {proc.stderr[-500:]}")
    if missing_tools():
        raise ClusterUnavailable(f"still missing after apt-get: {', '.join(missing_tools())}")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_hardware() -> tuple[str, str, int]:
    """(node name, the CPU layout fields of ``slurmd -C``, its RealMemory in MB)."""
    out = subprocess.run([which("slurmd"), "-C"], capture_output=True, text=True, check=True)
    fields = dict(tok.split("=", 1) for tok in out.stdout.split("\n")[0].split() if "=" in tok)
    keys = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")
    return fields["NodeName"], " ".join(f"{k}={fields[k]}" for k in keys), int(fields["RealMemory"])


def fake_gpus(base: Path, n: int = 2) -> list[str]:
    """Device files for GRES gpu: ``n`` character devices aliasing /dev/null, or /dev/null itself
    where mknod is not allowed. (SLURM refuses regular files, and a count without files.)"""
    (base / "dev").mkdir()
    try:
        paths = []
        for i in range(n):
            path = base / "dev" / f"gpu{i}"
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            paths.append(str(path))
        return paths
    except OSError:
        return ["/dev/null"]


def write_srun_wrapper(base: Path, conf: Path) -> None:
    """``<base>/bin/srun``: the real srun with SLURM_CONF set (see the module docstring)."""
    (base / "bin").mkdir()
    wrapper = base / "bin" / "srun"
    real = shlex.quote(which("srun") or "/usr/bin/srun")
    wrapper.write_text(f'#!/bin/sh\nSLURM_CONF={shlex.quote(str(conf))} exec {real} "$@"\n')
    wrapper.chmod(0o755)


def _alive(proc: subprocess.Popen) -> bool:
    return proc.poll() is None


def _wait(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@dataclass
class LocalSlurm:
    """A running test cluster: its directory, daemons and how to talk to it."""

    base: Path
    partition: str
    gpus: int
    cpus: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    start_seconds: float = 0.0

    @property
    def conf(self) -> Path:
        return self.base / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """The caller's environment plus SLURM_CONF and the srun wrapper: what clients and
        Snakemake need."""
        path = os.pathsep.join([str(self.base / "bin"), SBIN_PATH])
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a SLURM client command (``sinfo``, ``squeue``, ...) against this cluster."""
        cmd = [which(args[0]) or args[0], *args[1:]]
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)

    def sbatch(
        self, command: str, output: Path, *, cpus: int = 1, mem_mb: int = 500, cwd: Path
    ) -> str:
        """Submit ``command`` with ``sbatch --wrap``; stdout and stderr go to ``output``."""
        proc = self.run(
            "sbatch",
            "--parsable",
            f"--partition={self.partition}",
            f"--cpus-per-task={cpus}",
            f"--mem={mem_mb}",
            "--time=30",
            f"--output={output}",
            f"--chdir={cwd}",
            f"--wrap={command}",
        )
        if proc.returncode != 0:
            raise RuntimeError(f"sbatch failed: {proc.stderr}")
        return proc.stdout.strip().split(";")[0]

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still knows (MinJobAge is an hour), as ``scontrol`` fields."""
        proc = self.run("scontrol", "show", "job", "--oneliner")
        jobs = []
        for line in proc.stdout.splitlines():
            if line.startswith("JobId="):
                jobs.append(dict(tok.split("=", 1) for tok in line.split() if "=" in tok))
        return jobs

    def job(self, job_id: str) -> dict[str, str]:
        """One job's ``scontrol show job`` fields ({} once it is forgotten)."""
        return next((j for j in self.jobs() if j["JobId"] == job_id), {})

    def state(self, job_id: str) -> str:
        """The job's state as squeue shows it: COMPLETING (not CANCELLED or COMPLETED) until
        every process of the job has exited."""
        proc = self.run("squeue", "--noheader", "--states=all", f"--jobs={job_id}", "--format=%T")
        return proc.stdout.strip() or "UNKNOWN"

    def wait_for_state(self, job_id: str, states: set[str], timeout: float) -> str:
        """Poll until the job's state is one of ``states``; return the state it ended in."""
        _wait(lambda: self.state(job_id) in states, timeout, interval=0.5)
        return self.state(job_id)

    def node_state(self) -> str:
        return self.run("sinfo", "--noheader", "--Node", "--format=%T").stdout.strip()

    def logs_tail(self, n: int = 15) -> str:
        """The last lines of every daemon log, for assertion messages."""
        parts = []
        for path in sorted((self.base / "log").glob("*")):
            lines = path.read_text(errors="replace").splitlines()[-n:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self, remove: bool = True) -> None:
        """Cancel every job, wait for them to leave the node, stop the daemons, remove the
        directory. Safe to call twice and after a failed start."""
        ctld = self.processes.get("slurmctld")
        if ctld is not None and _alive(ctld):
            ids = self.run("squeue", "--noheader", "--format=%i").stdout.split()
            if ids:
                self.run("scancel", *ids)
                _wait(
                    lambda: not self.run("squeue", "--noheader", "--format=%i").stdout.strip(), 20
                )
        for name in reversed(DAEMONS):
            proc = self.processes.get(name)
            if proc is not None and _alive(proc):
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.processes.clear()
        if remove:
            shutil.rmtree(self.base, ignore_errors=True)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        with open(self.base / "log" / f"{name}.out", "w") as log:  # the child keeps its own fd
            proc = subprocess.Popen(
                [which(name), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the tests only
            )
        self.processes[name] = proc
        (self.base / "pids.json").write_text(
            json.dumps({k: p.pid for k, p in self.processes.items()})
        )
        return proc


def prepare(base: Path, partition: str) -> LocalSlurm:
    """Write the munge key, slurm.conf, gres.conf and the srun wrapper into ``base``."""
    # munged wants every folder above its socket searchable by all and not writable by others.
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    for sub, mode in (("munge", 0o700), ("run", 0o755), ("log", 0o755), ("state", 0o755)):
        (base / sub).mkdir(mode=mode)
        (base / sub).chmod(mode)
    (base / "spool").mkdir()
    key = base / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)

    node, hardware, memory = node_hardware()
    devices = fake_gpus(base)
    cpus = int(hardware.split()[0].removeprefix("CPUs="))
    cluster = LocalSlurm(base, partition, gpus=len(devices), cpus=cpus)
    text = Template(TEMPLATE.read_text()).substitute(
        base=base,
        host=node,
        node=node,
        hardware=hardware,
        memory=int(memory * 0.8),
        gpus=len(devices),
        partition=partition,
        ctld_port=free_port(),
        slurmd_port=free_port(),
    )
    cluster.conf.write_text(text)
    gres = "".join(f"NodeName={node} Name=gpu File={dev}\n" for dev in devices)
    (base / "gres.conf").write_text(gres)
    write_srun_wrapper(base, cluster.conf)
    return cluster


def start_daemons(cluster: LocalSlurm, timeout: float) -> None:
    """munged, then slurmctld (until it answers a ping), then slurmd (until the node is idle)."""
    base = cluster.base
    socket_path = base / "run" / "munge.socket"
    munged = cluster._spawn(
        "munged",
        "--foreground",
        f"--socket={socket_path}",
        f"--key-file={base / 'munge' / 'munge.key'}",
        f"--pid-file={base / 'run' / 'munged.pid'}",
        f"--log-file={base / 'log' / 'munged.log'}",
        f"--seed-file={base / 'munge' / 'munged.seed'}",
    )
    if not _wait(lambda: socket_path.exists() or not _alive(munged), 10) or not _alive(munged):
        raise ClusterUnavailable("munged did not start")
    ctld = cluster._spawn("slurmctld", "-D", "-f", str(cluster.conf))
    up = _wait(lambda: "UP" in cluster.run("scontrol", "ping").stdout or not _alive(ctld), timeout)
    if not up or not _alive(ctld):
        raise ClusterUnavailable("slurmctld did not come up")
    slurmd = cluster._spawn("slurmd", "-D", "-f", str(cluster.conf))
    if not _wait(lambda: cluster.node_state() == "idle" or not _alive(slurmd), timeout):
        node = cluster.run("scontrol", "show", "node").stdout
        raise ClusterUnavailable(f"the node is {cluster.node_state()!r}, not idle\n{node}")


def start_cluster(
    base: Path | None = None, partition: str = "local", install: bool = True, timeout: float = 60
) -> LocalSlurm:
    """Start a cluster in ``base`` (a new folder under /tmp by default) and wait until its node
    is idle. Raises ClusterUnavailable, with the daemon logs, if this machine cannot run one."""
    if not sys.platform.startswith("linux"):
        raise ClusterUnavailable(f"needs Linux, not {sys.platform}")
    if os.geteuid() != 0:
        raise ClusterUnavailable("needs root (the daemons run as root, packages come from apt)")
    if missing_tools():
        if not install:
            raise ClusterUnavailable(f"not installed: {', '.join(missing_tools())}")
        install_packages()
    t0 = time.monotonic()
    base = Path(base) if base is not None else Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))
    try:
        cluster = prepare(base, partition)
    except (OSError, subprocess.SubprocessError, KeyError, ValueError) as err:
        shutil.rmtree(base, ignore_errors=True)
        raise ClusterUnavailable(f"could not write the cluster's files: {err!r}") from err
    try:
        start_daemons(cluster, timeout)
    except (ClusterUnavailable, OSError, subprocess.SubprocessError) as err:
        logs = cluster.logs_tail()
        cluster.stop(remove=False)
        raise ClusterUnavailable(f"{err} (files left in {base})\n{logs}") from err
    cluster.start_seconds = time.monotonic() - t0
    return cluster


def stop_directory(base: Path) -> None:
    """Stop the daemons that ``start`` left running in ``base`` (their pids are in pids.json)."""
    pids = json.loads((base / "pids.json").read_text())
    env = {**os.environ, "SLURM_CONF": str(base / "slurm.conf"), "PATH": SBIN_PATH}
    ids = subprocess.run(["squeue", "-h", "-o", "%i"], env=env, capture_output=True, text=True)
    if ids.returncode == 0 and ids.stdout.split():
        subprocess.run(["scancel", *ids.stdout.split()], env=env, check=False)
        time.sleep(7)  # KillWait is 5 s
    for name in reversed(DAEMONS):
        pid = pids.get(name)
        cmdline = Path(f"/proc/{pid}/cmdline")
        # only a process that is still ours: its command line names this directory
        if pid and cmdline.exists() and str(base).encode() in cmdline.read_bytes():
            os.kill(pid, signal.SIGTERM)
            _wait(lambda pid=pid: not Path(f"/proc/{pid}").exists(), 10)
    shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str]) -> int:
    """Command line: ``start [DIR]`` or ``stop DIR``."""
    if len(argv) >= 1 and argv[0] == "start":
        cluster = start_cluster(Path(argv[1]) if len(argv) > 1 else None)
        print(f"# cluster in {cluster.base}, up in {cluster.start_seconds:.1f} s")
        print(f"export SLURM_CONF={shlex.quote(str(cluster.conf))}")
        print(f'export PATH={shlex.quote(str(cluster.base / "bin"))}:"$PATH"')
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        stop_directory(Path(argv[1]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
