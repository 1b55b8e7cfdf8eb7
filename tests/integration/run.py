#!/usr/bin/env python3
"""Integration tests: the real stack (redis-server, spawn-fcgi, nginx).

Every module tests/integration/test_*.py holds functions test_*(stack); each
gets a running stack (shared within a module, unless the module sets
FRESH_STACK = True for a new one per test; STACK_CLASS and STACK_OPTIONS
choose its kind and its options), runs with a bounded time, and is
reported as TAP (one that raises unittest.SkipTest as skipped). After all
modules, every log the stacks produced is searched for every key the tests
used (Stack.remember_keys); a hit is a failure.

  python3 tests/integration/run.py [--build-dir DIR] [PATTERN]

Ends with the line "N passed, N failed"; exits 1 if anything failed.
"""

import glob
import importlib.util
import os
import shutil
import signal
import sys
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from stack import Stack  # noqa: E402

TEST_TIMEOUT = 60


class TestTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise TestTimeout("test took longer than %ds" % TEST_TIMEOUT)


def load_module(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Runner:
    def __init__(self, build_dir):
        self.build_dir = build_dir
        self.number = 0
        self.passed = 0
        self.failed = 0
        self.stacks = []

    def new_stack(self, module):
        # A module may bring its own kind of stack (a Stack subclass: tests/ha.py).
        stack_class = getattr(module, "STACK_CLASS", Stack)
        stack = stack_class(build_dir=self.build_dir, **getattr(module, "STACK_OPTIONS", {}))
        self.stacks.append(stack)
        return stack.start()

    def report(self, ok, name, detail=""):
        self.number += 1
        if ok:
            self.passed += 1
            print("ok %d - %s" % (self.number, name), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.number, name), flush=True)
            for line in detail.rstrip().splitlines():
                print("#   " + line, flush=True)

    def run_test(self, module, name, func, stack):
        signal.alarm(TEST_TIMEOUT)
        try:
            func(stack)
            self.report(True, "%s: %s" % (module.__name__, name))
        except unittest.SkipTest as e:  # TAP's skip directive
            self.report(True, "%s: %s # SKIP %s" % (module.__name__, name, e))
        except Exception:
            self.report(False, "%s: %s" % (module.__name__, name), traceback.format_exc())
        finally:
            signal.alarm(0)

    def run_module(self, module, pattern):
        tests = [(n, f) for n, f in sorted(vars(module).items(), key=lambda kv: getattr(kv[1], "__code__", None) and kv[1].__code__.co_firstlineno or 0)
                 if n.startswith("test_") and callable(f) and (not pattern or pattern in n or pattern in module.__name__)]
        if not tests:
            return
        fresh = getattr(module, "FRESH_STACK", False)
        stack = None
        try:
            for name, func in tests:
                if stack is None or fresh:
                    if stack is not None:
                        stack.stop()
                    stack = self.new_stack(module)
                self.run_test(module, name, func, stack)
        except Exception:
            self.report(False, "%s: starting the stack" % module.__name__, traceback.format_exc())
        finally:
            if stack is not None:
                stack.stop()

    def check_sanitizer_reports(self):
        reports = []
        for stack in self.stacks:
            reports += sorted(glob.glob(os.path.join(stack.state, "asan.*")) +
                              glob.glob(os.path.join(stack.state, "ubsan.*")))
        detail = ""
        for path in reports[:3]:
            with open(path, errors="replace") as f:
                detail += "%s:\n%s\n" % (path, f.read()[:3000])
        self.report(not reports, "no AddressSanitizer or UndefinedBehaviorSanitizer report", detail)

    def check_logs(self):
        self.check_sanitizer_reports()
        leaks = []
        for stack in self.stacks:
            leaks += [(k, os.path.join(stack.state, f)) for k, f in stack.leaked_keys()]
        self.report(not leaks, "no key used by the tests appears in any log (%d stacks)" % len(self.stacks),
                    "\n".join("key %s found in %s" % leak for leak in leaks))
        if not leaks and self.failed == 0:
            for stack in self.stacks:
                shutil.rmtree(stack.state, ignore_errors=True)
        else:
            print("# logs kept in: " + " ".join(s.state for s in self.stacks), flush=True)


def main(argv):
    build_dir = None
    if len(argv) >= 2 and argv[0] == "--build-dir":
        build_dir, argv = argv[1], argv[2:]
    pattern = argv[0] if argv else None
    signal.signal(signal.SIGALRM, on_alarm)
    runner = Runner(build_dir)
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        runner.run_module(load_module(path), pattern)
    runner.check_logs()
    print("%d passed, %d failed" % (runner.passed, runner.failed), flush=True)
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
