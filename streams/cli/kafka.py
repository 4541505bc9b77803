"""`optout kafka up|down|status`: a local Apache Kafka cluster of three nodes on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from optout.streams.embedded.kafka_cluster import NODES, KafkaCluster, kafka_home
from optout.streams.exceptions import BrokerUnavailable

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    kafka = commands.add_parser(
        "kafka",
        help="a local Apache Kafka cluster (three KRaft nodes on 127.0.0.1)",
        description="Apache Kafka's own jars, fetched from Maven Central with Maven "
        "(kafka/pom.xml), run as three combined broker-controller nodes on 127.0.0.1: "
        "replication factor 3, min.insync.replicas 2. Data, logs and process ids under "
        "OPTOUT_KAFKA_HOME (default build/kafka). Use it with "
        "OPTOUT_BROKER_URL=<the printed bootstrap> OPTOUT_REPLICATION_FACTOR=3.",
    )
    actions = kafka.add_subparsers(required=True, metavar="ACTION")
    up = actions.add_parser("up", help="fetch the jars once, start the nodes, print bootstrap")
    up.set_defaults(run=_up)
    down = actions.add_parser("down", help="stop the nodes (their data stays)")
    down.set_defaults(run=_down)
    status = actions.add_parser("status", help="which nodes run; exit 1 unless all do")
    status.set_defaults(run=_status)


def _up(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cluster = KafkaCluster(kafka_home())
    started = time.monotonic()
    try:
        cluster.up()
    except BrokerUnavailable as exc:
        print(f"optout: {exc}", file=sys.stderr)
        return 1
    print(
        f"Kafka cluster of {NODES} nodes up in {time.monotonic() - started:.1f}s; "
        f"OPTOUT_BROKER_URL={cluster.bootstrap}",
        file=sys.stderr,
    )
    print(cluster.bootstrap)
    return 0


def _down(args: argparse.Namespace) -> int:
    KafkaCluster(kafka_home()).down()
    return 0


def _status(args: argparse.Namespace) -> int:
    cluster = KafkaCluster(kafka_home())
    running = [node for node in range(1, NODES + 1) if cluster.running(node)]
    print(f"{len(running)} of {NODES} nodes running; bootstrap {cluster.bootstrap}")
    return 0 if len(running) == NODES else 1
