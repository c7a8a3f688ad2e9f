"""What the scenario scripts of tests/ (run_retain.py, run_watch.py,
run_daemons.py) share: the list of failed checks, the environment a
launched program gets (none of the caller's reachcheck settings), running a
command, reading a JSON report. Standard library only."""
import json
import os
import subprocess

FAILS = []


def check(cond, what):
    """Record `what` as failed unless cond; returns cond."""
    if not cond:
        FAILS.append(what)
    return cond


def env_clean(extra=None):
    """os.environ without REACHCHECK_OPTIONS and LD_PRELOAD, plus extra."""
    e = dict(os.environ)
    e.pop('REACHCHECK_OPTIONS', None)
    e.pop('LD_PRELOAD', None)
    if extra:
        e.update(extra)
    return e


def run(argv, timeout=120, env=None, stdin=subprocess.DEVNULL):
    """(status, stdout, stderr) of argv run in env_clean(env)."""
    p = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       env=env_clean(env))
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def load(path):
    with open(path) as f:
        return json.load(f)
