"""`make kafka` and docker-compose.yml run the same Kafka version with the same broker settings
(no Docker engine runs here, so this is how they are kept in agreement), and the local cluster's
nodes listen on loopback only."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from optout.streams.embedded.kafka_cluster import BROKER_SETTINGS, NODES, KafkaCluster

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def pom_kafka_version() -> str:
    found = re.search(
        r"<kafka.version>([^<]+)</kafka.version>", (ROOT / "kafka/pom.xml").read_text()
    )
    assert found is not None
    return found.group(1)


def test_compose_runs_the_kafka_version_of_make_kafka() -> None:
    brokers = [s for name, s in compose()["services"].items() if name.startswith("kafka-")]
    assert len(brokers) == NODES
    assert {b["image"] for b in brokers} == {f"apache/kafka:{pom_kafka_version()}"}


def test_compose_brokers_have_the_settings_of_make_kafka() -> None:
    for name, service in compose()["services"].items():
        if not name.startswith("kafka-"):
            continue
        env = {k: str(v) for k, v in service["environment"].items()}
        for key, value in BROKER_SETTINGS.items():
            assert env["KAFKA_" + key.upper().replace(".", "_")] == value, (name, key)


def test_the_workers_in_compose_use_every_broker_and_replicate_three_times() -> None:
    classify = compose()["services"]["classify"]["environment"]
    assert classify["OPTOUT_BROKER_URL"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
    assert classify["OPTOUT_REPLICATION_FACTOR"] == str(
        BROKER_SETTINGS["default.replication.factor"]
    )


def test_each_local_node_listens_on_loopback_with_the_shared_settings(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, (29092, 29093, 29094), (29192, 29193, 29194))
    written = cluster.write_config(2)  # the file a node starts with
    settings = dict(line.split("=", 1) for line in written.read_text().splitlines())
    assert settings["listeners"] == "PLAINTEXT://127.0.0.1:29093,CONTROLLER://127.0.0.1:29193"
    assert settings["controller.quorum.voters"] == (
        "1@127.0.0.1:29192,2@127.0.0.1:29193,3@127.0.0.1:29194"
    )
    assert {k: settings[k] for k in BROKER_SETTINGS} == BROKER_SETTINGS
    assert cluster.bootstrap == "127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094"
