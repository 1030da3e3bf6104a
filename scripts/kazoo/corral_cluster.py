"""pytest plugin: kazoo's test suite against a cluster of Corral servers.

kazoo's harness (kazoo/testing/harness.py) gets its servers from
``get_global_cluster()``, a ``ZookeeperCluster`` of Java ZooKeeper
processes. This plugin replaces that function with one returning a
``CorralCluster``: three ``corral serve`` processes on 127.0.0.1, with the
interface kazoo's tests use (``cluster[i].address``, ``.run()``, ``.stop()``,
``.running``, ``cluster.start()``, ``.stop()``, ``.terminate()``,
``.reset()``, ``.get_logs()``, ``.get_ssl_client_configuration()``).

Ports are picked by the OS (bind port 0, then released) once per server and
kept for its life, so a stopped server comes back on the same address as a
restarted ZooKeeper does. The servers bootstrap from the same ``--member``
list, as the README's three-server example does. Settings mirror kazoo's
zoo.cfg: tickTime 2000, maxClientCnxns 0, every four-letter word,
readonlymode.enabled, the super digest of password "test", a TLS port with
the harness's certificates, and (with ZOOKEEPER_JAAS_AUTH=digest) its SASL
users.

Of kazoo's ZOOKEEPER_* settings only ZOOKEEPER_JAAS_AUTH=digest applies (a
change restarts the servers afresh, as kazoo's harness does);
ZOOKEEPER_LOCAL_SESSION_RO (set by the read-only test; Corral has no local
sessions) and the observer and size settings are ignored.

Environment: CORRAL_BIN, the corral binary (required).
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import OpenSSL

from kazoo.testing import common, harness

#: kazoo's harness: super:test (ZooKeeper's DigestAuthenticationProvider).
SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="

#: The JAAS file kazoo's harness writes for ZOOKEEPER_JAAS_AUTH=digest.
JAAS_DIGEST = """
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};"""

#: How long a server may take to print its addresses, and a fresh cluster
#: to elect a leader and become ready, seconds.
START_DEADLINE = 30.0
#: How long a server may take to exit after SIGTERM before SIGKILL.
STOP_DEADLINE = 30.0


def free_port():
    """A port the OS picked as free on 127.0.0.1 (released again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CorralServer(object):
    """One ``corral serve`` process of the cluster, as ManagedZooKeeper."""

    def __init__(self, binary, node_id, ports, members, shared_dir, tls):
        self.binary = binary
        self.node_id = node_id
        self.host = "127.0.0.1"
        self.ports = ports
        self.members = members
        self.shared_dir = shared_dir
        self.tls = tls
        self.working_path = os.path.join(shared_dir, "server-%d" % node_id)
        self.log_path = os.path.join(shared_dir, "server-%d.log" % node_id)
        self.process = None

    @property
    def running(self):
        return self.process is not None

    @property
    def client_port(self):
        return self.ports["zk"]

    @property
    def secure_client_port(self):
        return self.ports["zk_secure"]

    @property
    def address(self):
        return "%s:%s" % (self.host, self.client_port)

    @property
    def secure_address(self):
        return "%s:%s" % (self.host, self.secure_client_port)

    def addr(self, kind):
        return "%s:%d" % (self.host, self.ports[kind])

    def args(self):
        a = [
            self.binary,
            "serve",
            "--id", str(self.node_id),
            "--data-dir", os.path.join(self.working_path, "data"),
            "--listen", self.addr("native"),
            "--zk-listen", self.addr("zk"),
            "--admin-listen", self.addr("admin"),
            "--peer-listen", self.addr("peer"),
            "--cluster-secret-file", os.path.join(self.shared_dir, "secret"),
            "--zk-compat", "3.8",
            "--tick-ms", "2000",
            "--max-client-cnxns", "0",
            "--four-letter-words", "*",
            "--super-digest", SUPER_DIGEST,
            "--read-only-mode",
            "--zk-secure-listen", self.addr("zk_secure"),
            "--tls-cert", self.tls["cert"],
            "--tls-key", self.tls["key"],
            "--tls-client-ca", self.tls["ca"],
        ]
        for m in self.members:
            a += ["--member", m]
        if os.environ.get("ZOOKEEPER_JAAS_AUTH") == "digest":
            jaas = os.path.join(self.shared_dir, "jaas.conf")
            with open(jaas, "w") as f:
                f.write(JAAS_DIGEST)
            a += ["--sasl-users", jaas]
        return a

    def run(self):
        """Starts the server on its ports and data; returns once it has
        bound every listener (it printed ``listening:``)."""
        if self.running:
            return
        os.makedirs(os.path.join(self.working_path, "data"), exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.args(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        log.close()
        listening = threading.Event()

        def read(stdout):
            for line in stdout:
                if line.startswith(b"listening: "):
                    listening.set()

        threading.Thread(target=read, args=(self.process.stdout,), daemon=True).start()
        deadline = time.monotonic() + START_DEADLINE
        while not listening.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                code = self.process.poll()
                self.stop()
                raise RuntimeError(
                    "corral server %d did not start (exit %s); log %s:\n%s"
                    % (self.node_id, code, self.log_path, "".join(self.get_logs(30)))
                )

    def ready(self):
        """Whether the server's /readyz answers 200."""
        try:
            url = "http://%s/readyz" % self.addr("admin")
            with urllib.request.urlopen(url, timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self):
        """SIGTERM, wait, keep the data (as ManagedZooKeeper.stop)."""
        if not self.running:
            return
        p, self.process = self.process, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise RuntimeError(
                    "corral server %d ignored SIGTERM for %ss"
                    % (self.node_id, STOP_DEADLINE)
                )
        if p.stdout:
            p.stdout.close()

    def reset(self):
        """Stops the server and deletes its data."""
        self.stop()
        shutil.rmtree(self.working_path, True)

    def destroy(self):
        self.reset()

    def get_logs(self, num_lines=100):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.readlines()[-num_lines:]
        except OSError:
            return []


class CorralCluster(object):
    """Three Corral servers with ZookeeperCluster's interface."""

    def __init__(self, binary, size=3):
        self._ssl_configuration = {}
        # kazoo's own certificates (CA, server CN=localhost, client).
        common.ZookeeperCluster.perform_ssl_certs_generation(self)
        self.reissue_v3()
        self.dir = tempfile.mkdtemp(prefix="corral-kazoo-")
        with open(os.path.join(self.dir, "secret"), "wb") as f:
            f.write(os.urandom(32).hex().encode())
        tls = self.write_tls()
        kinds = ("native", "zk", "zk_secure", "admin", "peer")
        ports = [{k: free_port() for k in kinds} for _ in range(size)]
        members = [
            "%d=127.0.0.1:%d,client=127.0.0.1:%d,zk=127.0.0.1:%d"
            % (i + 1, p["peer"], p["native"], p["zk"])
            for i, p in enumerate(ports)
        ]
        self._servers = [
            CorralServer(binary, i + 1, p, members, self.dir, tls)
            for i, p in enumerate(ports)
        ]

    def reissue_v3(self):
        """kazoo's harness makes the server and client certificates X.509
        v1 (no set_version), which Java accepts and rustls refuses
        (UnsupportedCertVersion): issue them again as v3, same subjects,
        keys and CA, with the server's names as subjectAltName."""
        c = self._ssl_configuration
        for name, serial, san in (
            ("server", 2, b"DNS:localhost, IP:127.0.0.1"),
            ("client", 3, None),
        ):
            old = c[name + "_cert"]
            cert = OpenSSL.crypto.X509()
            cert.set_version(2)
            cert.set_subject(old.get_subject())
            cert.set_serial_number(serial)
            cert.gmtime_adj_notBefore(0)
            cert.gmtime_adj_notAfter(24 * 60 * 60)
            cert.set_issuer(c["ca_cert"].get_subject())
            cert.set_pubkey(c[name + "_key"])
            if san:
                cert.add_extensions(
                    [OpenSSL.crypto.X509Extension(b"subjectAltName", False, san)]
                )
            cert.sign(c["ca_key"], "sha256")
            c[name + "_cert"] = cert
        c["client_cert_pem"] = OpenSSL.crypto.dump_certificate(
            OpenSSL.crypto.FILETYPE_PEM, c["client_cert"]
        )

    def write_tls(self):
        c = self._ssl_configuration
        pem = OpenSSL.crypto.FILETYPE_PEM
        files = {
            "cert": OpenSSL.crypto.dump_certificate(pem, c["server_cert"])
            + c["ca_cert_pem"],
            "key": OpenSSL.crypto.dump_privatekey(pem, c["server_key"]),
            "ca": c["ca_cert_pem"],
        }
        paths = {}
        for name, data in files.items():
            paths[name] = os.path.join(self.dir, "tls-%s.pem" % name)
            with open(paths[name], "wb") as f:
                f.write(data)
        return paths

    def __getitem__(self, k):
        return self._servers[k]

    def __iter__(self):
        return iter(self._servers)

    def start(self):
        """Runs every stopped server, then waits until all are ready."""
        for server in reversed(self._servers):
            server.run()
        deadline = time.monotonic() + START_DEADLINE
        while not all(s.ready() for s in self._servers):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "corral cluster not ready in %ss:\n%s"
                    % (START_DEADLINE, "".join(self.get_logs()))
                )
            time.sleep(0.05)

    def stop(self):
        for server in self._servers:
            server.stop()

    def terminate(self):
        for server in self._servers:
            server.destroy()

    def reset(self):
        for server in self._servers:
            server.reset()

    def get_logs(self):
        logs = []
        for server in self._servers:
            logs += server.get_logs()
        return logs

    def get_ssl_client_configuration(self):
        return common.ZookeeperCluster.get_ssl_client_configuration(self)

    def close(self):
        self.terminate()
        shutil.rmtree(self.dir, True)


CLUSTER = None


def get_global_cluster():
    """The one Corral cluster of this pytest run (kazoo's harness makes a
    new one only when its ZOOKEEPER_* settings change, which do not apply
    to Corral)."""
    global CLUSTER
    jaas = os.environ.get("ZOOKEEPER_JAAS_AUTH")
    if CLUSTER is None:
        binary = os.environ.get("CORRAL_BIN")
        assert binary, "CORRAL_BIN must name the corral binary"
        CLUSTER = CorralCluster(binary)
        CLUSTER.jaas = jaas
        atexit.register(CLUSTER.close)
    elif CLUSTER.jaas != jaas:
        # The one ZOOKEEPER_* setting that applies (SASL users): as kazoo's
        # harness, a change means servers started afresh with it.
        CLUSTER.terminate()
        CLUSTER.jaas = jaas
    return CLUSTER


def pytest_configure(config):
    harness.get_global_cluster = get_global_cluster


def pytest_unconfigure(config):
    if CLUSTER is not None:
        CLUSTER.close()
