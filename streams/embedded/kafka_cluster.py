"""A local Apache Kafka cluster: three KRaft nodes (broker and controller each) on 127.0.0.1,
started from Apache Kafka's own jars, which Maven fetches from Maven Central (`kafka/pom.xml`,
versions pinned there). No Docker engine is needed.

    optout kafka up      # fetch the jars once (Maven cache), format, start; print the bootstrap
    optout kafka down    # stop the three nodes (their data stays under build/kafka/data)

The cluster is what the tests and benchmarks call "Kafka" (`make kafka`, `make test-kafka`): a
real cluster with replication (factor 3, min.insync.replicas 2, so one node may die without
stopping a producer using acks=all), leader election, transactions and compaction.
The same settings are in docker-compose.yml (tests/unit/test_kafka_cluster.py checks they agree).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from optout.streams.exceptions import BrokerUnavailable

__all__ = [
    "BROKER_SETTINGS",
    "KafkaCluster",
    "NODES",
    "kafka_home",
]

log = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[2]
NODES = 3
# The settings every node runs with, and docker-compose.yml's brokers too (one source of truth).
BROKER_SETTINGS = {
    "num.partitions": "4",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "auto.create.topics.enable": "false",  # the service creates its topics, compacted where needed
    # The first consumer group join waits this long for more members (Kafka's default is 3 s).
    "group.initial.rebalance.delay.ms": "0",
}
JVM_OPTIONS = ("-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
START_TIMEOUT_S = 90.0
STOP_GRACE_S = 15.0


def kafka_home() -> Path:
    """Where the jars, the nodes' data, logs and process ids live (OPTOUT_KAFKA_HOME)."""
    return Path(os.environ.get("OPTOUT_KAFKA_HOME") or REPOSITORY / "build" / "kafka")


@dataclass(frozen=True)
class KafkaCluster:
    """Three nodes on 127.0.0.1: node n (1, 2, 3) serves clients on `client_ports[n - 1]` and
    the controller quorum on `controller_ports[n - 1]` (by default 19092-19094 and
    19192-19194, OPTOUT_KAFKA_PORT for the first)."""

    home: Path
    client_ports: tuple[int, ...] = ()
    controller_ports: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        base = int(os.environ.get("OPTOUT_KAFKA_PORT") or 19092)
        if not self.client_ports:
            object.__setattr__(self, "client_ports", tuple(base + n for n in range(NODES)))
        if not self.controller_ports:
            ports = tuple(base + 100 + n for n in range(NODES))
            object.__setattr__(self, "controller_ports", ports)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.client_ports)

    @property
    def libs(self) -> Path:
        return self.home / "libs"

    # -- the jars --------------------------------------------------------------------------
    def fetch_jars(self) -> None:
        """Apache Kafka and its dependencies from Maven Central (cached in ~/.m2), once."""
        if any(self.libs.glob("kafka_2.13-*.jar")):
            return
        pom = REPOSITORY / "kafka" / "pom.xml"
        log.info("fetching Apache Kafka's jars with Maven (%s) ...", pom)
        done = subprocess.run(
            ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
             f"-DoutputDirectory={self.libs}", "-DincludeScope=runtime"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise BrokerUnavailable(f"Maven could not fetch Kafka's jars:\n{done.stdout[-3000:]}")

    # -- the nodes -------------------------------------------------------------------------
    def up(self) -> None:
        """Fetch, format (once) and start every node that is not running; wait until the
        cluster answers with all of them."""
        self.fetch_jars()
        cluster_id = self._cluster_id()
        for node in range(1, NODES + 1):
            if self.running(node):
                continue
            config = self.write_config(node)
            if not (self._data(node) / "meta.properties").exists():
                self._java(node, "kafka.tools.StorageTool", "format",
                           f"--cluster-id={cluster_id}", "-c", str(config), "--ignore-formatted",
                           wait=True)  # fmt: skip
            self.start_node(node)
        asyncio.run(self.wait_until_up())

    def start_node(self, node: int) -> None:
        process = self._java(node, "kafka.Kafka", str(self._config_path(node)), wait=False)
        self._pid_path(node).parent.mkdir(parents=True, exist_ok=True)
        self._pid_path(node).write_text(str(process.pid))

    def pid(self, node: int) -> int | None:
        """The node's process id while it runs."""
        return self._pid(node)

    def kill_node(self, node: int, sig: int = signal.SIGKILL) -> None:
        """Stop one node (kill -9 by default: no goodbye to the quorum)."""
        pid = self._pid(node)
        if pid is not None:
            os.kill(pid, sig)
            _wait_gone(pid)
        self._pid_path(node).unlink(missing_ok=True)

    def down(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop every node: SIGTERM to all at once, then SIGKILL to any still running after
        `grace_s` (the last nodes of a quorum that is going away wait a minute for a
        controller before they finish their controlled shutdown; the logs recover either way).
        0: kill at once, for a cluster whose data is thrown away."""
        pids = {node: pid for node in range(1, NODES + 1) if (pid := self._pid(node))}
        if grace_s:
            for pid in pids.values():
                os.kill(pid, signal.SIGTERM)
            for pid in pids.values():
                _wait_gone(pid, grace_s)
        for node in pids:
            self.kill_node(node)

    async def wait_until_up(self, nodes: int = NODES, timeout: float = START_TIMEOUT_S) -> None:
        """Until the cluster describes `nodes` brokers (aiokafka's "Unable connect" lines for
        nodes still starting are not shown)."""
        client_log = logging.getLogger("aiokafka")  # its loggers inherit this level
        level = client_log.level
        client_log.setLevel(logging.CRITICAL)
        try:
            await self._wait_until_up(nodes, timeout)
        finally:
            client_log.setLevel(level)

    async def _wait_until_up(self, nodes: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
            try:
                await admin.start()
                described = await admin.describe_cluster()
                if len(described["brokers"]) >= nodes:
                    return
            except KafkaError:
                pass
            finally:
                await admin.close()
            if time.monotonic() > deadline:
                raise BrokerUnavailable(
                    f"the local Kafka cluster did not answer with {nodes} brokers within "
                    f"{timeout:.0f}s; see {self.home / 'logs'}"
                )
            await asyncio.sleep(0.5)

    # -- files and processes ---------------------------------------------------------------
    def _cluster_id(self) -> str:
        path = self.home / "cluster-id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
            path.write_text(_kafka_uuid())
        return path.read_text().strip()

    def write_config(self, node: int) -> Path:
        client, controller = self.client_ports[node - 1], self.controller_ports[node - 1]
        voters = ",".join(f"{n}@127.0.0.1:{port}"
                          for n, port in enumerate(self.controller_ports, start=1))  # fmt: skip
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(node),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{client},CONTROLLER://127.0.0.1:{controller}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{client}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self._data(node)),
            **BROKER_SETTINGS,
        }
        path = self._config_path(node)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        return path

    def _java(self, node: int, main: str, *args: str, wait: bool) -> subprocess.Popen[bytes]:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        command = ["java", *JVM_OPTIONS, f"-Dkafka.logs.dir={logs}",
                   "-cp", f"{self.libs}/*", main, *args]  # fmt: skip
        with (logs / f"node-{node}.log").open("ab") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        if wait and process.wait(timeout=120) != 0:
            raise BrokerUnavailable(f"{main} failed for node {node}; see {logs}/node-{node}.log")
        return process

    def quorum_leader(self) -> int | None:
        """The active controller (leader of the KRaft quorum) as the running nodes last recorded
        it in their quorum-state files, the newest epoch first; None before an election."""
        states = []
        for node in range(1, NODES + 1):
            path = self._data(node) / "__cluster_metadata-0" / "quorum-state"
            if self.running(node) and path.exists():
                with contextlib.suppress(ValueError):
                    states.append(json.loads(path.read_text()))
        leaders = [(state["leaderEpoch"], state["leaderId"]) for state in states]
        return max(leaders)[1] if leaders and max(leaders)[1] > 0 else None

    def running(self, node: int) -> bool:
        return self._pid(node) is not None

    def _pid(self, node: int) -> int | None:
        path = self._pid_path(node)
        if not path.exists():
            return None
        pid = int(path.read_text())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def _data(self, node: int) -> Path:
        return self.home / "data" / f"node-{node}"

    def _config_path(self, node: int) -> Path:
        return self.home / "config" / f"node-{node}.properties"

    def _pid_path(self, node: int) -> Path:
        return self.home / "pids" / f"node-{node}"


def _kafka_uuid() -> str:
    """16 random bytes in URL-safe base64 without padding, not starting with '-' (as Kafka's own
    Uuid.randomUuid: a command line would read it as an option)."""
    while (made := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))[0] == "-":
        pass
    return made


def _wait_gone(pid: int, timeout: float = 60.0) -> None:
    """Until the process is gone, or `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it, when this process started it
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
