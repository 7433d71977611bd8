"""Servers the Python tests start for themselves on free loopback ports, like the C++
fixtures in tests/support/server_process.cpp: a missing binary fails the test with the
package to install, never skips it."""

import os
import shutil
import signal
import socket
import subprocess
import time


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_refusing = []


def refusing_port():
    """A loopback port bound but never listening, so every connection to it is refused,
    for the life of the test process (no other process can take it meanwhile)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    _refusing.append(holder)
    return holder.getsockname()[1]


def accepts_connections(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class ServerProcess:
    """A server child process on 127.0.0.1:port; stop() kills and reaps it."""

    def __init__(self, binary, package, arguments):
        path = shutil.which(binary)
        if path is None:
            raise RuntimeError(f"{binary} binary not found: apt-get install {package}")
        for _ in range(5):  # another process may take the port between probe and bind
            self.port = free_port()
            self.process = subprocess.Popen([path, *arguments(self.port)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.process.poll() is None:
                if accepts_connections(self.port):
                    return
                time.sleep(0.02)
            self.stop()
        raise RuntimeError(f"{binary} did not start on a free loopback port")

    def pause(self):
        """SIGSTOP: like a hung server, connections open and nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def memcached():
    # memcached refuses to run as root unless told whom to run as.
    as_root = ["-u", "root"] if os.geteuid() == 0 else []
    return ServerProcess("memcached", "memcached",
                         lambda port: ["-p", str(port), "-U", "0", "-l", "127.0.0.1",
                                       "-m", "64", "-t", "1", *as_root])


def redis():
    return ServerProcess("redis-server", "redis-server",
                         lambda port: ["--port", str(port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no"])


def program(variable, what):
    """The path of a built program the ctest entry passes in `variable`."""
    path = os.environ.get(variable)
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"{variable} must name the built {what} (ctest sets it; "
                           f"build it with cmake --build --preset dev)")
    return path
