"""Test helpers: a real ad-store process on a free loopback port with a
temporary --db, a condition wait, and a TCP proxy that can hold and cut
connections (to break a stream at a chosen moment)."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def bin_dir():
    return os.environ.get("AD_BIN_DIR", os.path.join(REPO, "build", "bin"))


def binary(name):
    path = os.path.join(bin_dir(), name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(
            f"{path} is not built (scripts/build.sh {name}); AD_BIN_DIR "
            "names the folder")
    return path


def wait_until(predicate, timeout=30.0, what="condition", interval=0.01):
    """Polls `predicate` until it is true; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for "
                                 f"{what}")
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StoreProcess:
    """ad-store on 127.0.0.1:<free port> with its own temporary --db.

    start() waits until the gRPC port accepts connections (or the process
    exits: then raises with its log). stop() sends SIGTERM and waits; kill()
    sends SIGKILL. restart() reuses the port and the db. Use as a context
    manager; the temporary folder is removed at the end.
    """

    def __init__(self, port=None, extra_args=()):
        self.tmp = tempfile.mkdtemp(prefix="ad-py-store-")
        self.db = os.path.join(self.tmp, "db")
        self.log_path = os.path.join(self.tmp, "ad-store.log")
        self.port = port
        self.extra_args = list(extra_args)
        self.process = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self, timeout=60.0):
        attempts = 1 if self.port else 3
        for attempt in range(attempts):
            port = self.port or free_port()
            log = open(self.log_path, "ab")
            self.process = subprocess.Popen(
                [binary("ad-store"), f"--db={self.db}", "--host=127.0.0.1",
                 f"--port={port}", "--metrics_port=-1"] + self.extra_args,
                stdout=log, stderr=subprocess.STDOUT)
            log.close()
            if self._wait_serving(port, timeout):
                self.port = port
                return self
            # The port was taken between picking and binding: try another.
        raise RuntimeError(f"ad-store did not start; log:\n{self.log()}")

    def _wait_serving(self, port, timeout):
        deadline = time.monotonic() + timeout
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        try:
            ready = grpc.channel_ready_future(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    ready.result(timeout=0.1)
                    return True
                except grpc.FutureTimeoutError:
                    continue
            raise RuntimeError(f"ad-store not serving on port {port} after "
                               f"{timeout:g} s; log:\n{self.log()}")
        finally:
            channel.close()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def _end(self, sig, timeout=30.0):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def stop(self):
        self._end(signal.SIGTERM)

    def kill(self):
        self._end(signal.SIGKILL)

    def restart(self, timeout=60.0):
        self.stop()
        return self.start(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target port. hold() stops forwarding
    server-to-client bytes (the client sees no acks) until release();
    cut() closes every open connection (new ones are accepted)."""

    def __init__(self, target_port):
        self.target_port = target_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._sockets = []
        self._closed = False
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(
                    ("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True),
                             daemon=True).start()

    def _pump(self, source, sink, downstream):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if downstream:
                    self._open.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def hold(self):
        self._open.clear()

    def release(self):
        self._open.set()

    def cut(self):
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        with self._lock:
            self._closed = True
        self._listener.close()
        self.release()
        self.cut()
