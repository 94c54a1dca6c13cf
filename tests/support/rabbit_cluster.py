"""A real RabbitMQ cluster of three nodes on this machine, beside the
machine's own broker: each node has its own name, AMQP and distribution
ports, data and log folders, and no plugins; they share one Erlang cookie
(HOME) and join the first node. docs/operations.md shows the same by hand."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"


def available() -> str | None:
    """None when a second node can be started here, else why not."""
    if not (os.path.exists(SERVER) and os.path.exists(CTL)):
        return "RabbitMQ's server scripts are not installed on this machine"
    if shutil.which("epmd") is None and not os.path.exists("/usr/lib/erlang/bin/epmd"):
        return "Erlang's port mapper (epmd) is missing"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Node:
    name: str
    amqp_port: int
    dist_port: int
    base: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/%2F"

    def env(self, home: Path) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
        env.update({"HOME": str(home), "RABBITMQ_NODENAME": self.name,
                    "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
                    "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"), "RABBITMQ_LOG_BASE": str(self.base / "log"),
                    "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_PID_FILE": str(self.base / "pid")})
        return env


@dataclass
class Cluster:
    home: Path
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Every node, as Cadena takes them (CADENA_AMQP_URL, comma-separated)."""
        return ",".join(n.url for n in self.nodes)

    def ctl(self, node: Node, *args: str, timeout: float = 90) -> str:
        done = subprocess.run([CTL, "-n", node.name, *args], env=node.env(self.home), capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} on {node.name}: {done.stderr.strip()[:400]}")
        return done.stdout

    def start(self, node: Node) -> None:
        (node.base / "log").mkdir(parents=True, exist_ok=True)
        node.process = subprocess.Popen([SERVER], env=node.env(self.home), stdout=open(node.base / "out.log", "a"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.ctl(node, "wait", str(node.base / "pid"), "--timeout", "90", timeout=120)

    def kill(self, node: Node) -> None:
        """SIGKILL, as a lost machine would."""
        pid = int((node.base / "pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        if node.process is not None:
            node.process.wait(timeout=30)

    def running_nodes(self, via: Node) -> list[str]:
        out = self.ctl(via, "eval", "rabbit_nodes:all_running().")
        return sorted(part.strip(" []'\n") for part in out.split(",") if part.strip(" []'\n"))

    def stop(self) -> None:
        for node in self.nodes:
            try:
                self.kill(node)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.home, ignore_errors=True)


def start_cluster(home: Path, size: int = 3, prefix: str = "cadena-c") -> Cluster:
    home.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(home)
    for i in range(1, size + 1):
        node = Node(f"{prefix}{i}-{os.getpid()}@localhost", _free_port(), _free_port(), home / f"node{i}")
        node.base.mkdir(parents=True, exist_ok=True)
        (node.base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{node.amqp_port}\n")
        (node.base / "enabled_plugins").write_text("[].\n")
        cluster.nodes.append(node)
    try:
        for node in cluster.nodes:
            cluster.start(node)
        first = cluster.nodes[0]
        for node in cluster.nodes[1:]:
            cluster.ctl(node, "stop_app")
            cluster.ctl(node, "join_cluster", first.name)
            cluster.ctl(node, "start_app")
    except BaseException:
        cluster.stop()
        raise
    return cluster
