"""`import gencache` from an installed prefix, the way a Django project finds it: the
build tree installed into a scratch prefix, then a fresh Debian python3 with PYTHONPATH set
to the prefix's site-packages folder (lib/python3/dist-packages) and nothing else."""

import os
import shutil
import subprocess
import sys

CHECK = """
import gencache, gencache.django, os, sys
prefix = sys.argv[1]
assert gencache.__file__.startswith(prefix + os.sep), gencache.__file__
assert gencache._native.__file__.startswith(prefix + os.sep), gencache._native.__file__
cache = gencache.Cache.from_url("memory://")
assert cache.cached("k", [gencache.ns("user", 1)], 60, lambda: {"ok": True}) == {"ok": True}
print(gencache.__version__)
"""


def test_import_gencache_from_the_installed_prefix(tmp_path):
    build = os.environ.get("GENCACHE_BUILD_DIR")
    assert build, "GENCACHE_BUILD_DIR must name the gencache build tree (ctest sets it)"
    prefix = str(tmp_path / "prefix")
    subprocess.run([shutil.which("cmake"), "--install", build, "--prefix", prefix], check=True,
                   capture_output=True, timeout=120)
    site = os.path.join(prefix, os.environ.get("GENCACHE_PYTHON_INSTALL_DIR",
                                               "lib/python3/dist-packages"))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": site}
    done = subprocess.run([sys.executable, "-c", CHECK, prefix], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == subprocess.run(
        [sys.executable, "-c", "import gencache; print(gencache.__version__)"],
        env={**os.environ}, capture_output=True, text=True).stdout.strip()
