"""pytest plugin for running irctest against this project's daemon (``-p ircd_pytest_plugin``).

Two jobs, so that ``test/irctest/run.sh`` needs nothing from outside the project but an irctest
checkout and the Python packages its README lists:

1. New-style hook wrappers on old pluggy.  irctest's ``conftest.py`` declares
   ``@pytest.hookimpl(wrapper=True)``, which pluggy 1.1 introduced; Debian bookworm ships
   pytest 7.2 with pluggy 1.0, which rejects the keyword, so the conftest would not load.  With
   pluggy older than 1.1 this plugin makes ``wrapper=True`` register an equivalent old-style
   ``hookwrapper``.  With a newer pluggy it changes nothing.

2. An outcomes file.  With ``IRCTEST_OUTCOMES_FILE`` set, one line per test,
   ``<outcome>\\t<test id>`` (passed, failed, error, skipped, xfailed, xpassed), sorted by test id
   and written by the controlling process (also under pytest-xdist); ``run.sh`` counts them and
   two runs can be compared with ``diff``.

It is loaded before irctest's conftest (``-p`` plugins are), which part 1 needs.
"""

from __future__ import annotations

import inspect
import os
from typing import Any, Callable, Dict

import pluggy

# ---- 1. wrapper=True on pluggy < 1.1 ---------------------------------------------------------


def _as_old_style_wrapper(fn: Callable[..., Any]) -> Callable[..., Any]:
    """An old-style hookwrapper (a generator handed an outcome object) that runs ``fn``.

    A new-style wrapper receives the inner result from its ``yield`` (or has the inner exception
    raised there) and returns or raises what the hook call then gives.  An old-style one receives
    an outcome object instead and must set the result on it.
    """

    def wrapper(*args: Any):
        inner = fn(*args)
        next(inner)  # up to the wrapper's yield
        outcome = yield
        try:
            try:
                result = outcome.get_result()
            except BaseException as failure:  # noqa: B902 - the inner hook's, e.g. SkipTest
                inner.throw(failure)
            else:
                inner.send(result)
        except StopIteration as finished:
            outcome.force_result(finished.value)
        except BaseException as exc:  # noqa: B902
            # pluggy 1.0's outcome has no force_exception(); it keeps the exception here.
            outcome._excinfo = (type(exc), exc, exc.__traceback__)
        else:
            raise RuntimeError(f"hook wrapper {fn.__qualname__} yielded more than once")

    # pluggy picks the hook arguments to pass by the parameter names it reads from the function.
    wrapper.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__module__ = fn.__module__
    wrapper.__doc__ = fn.__doc__
    return wrapper


if "wrapper" not in inspect.signature(pluggy.HookimplMarker.__call__).parameters:
    _register = pluggy.HookimplMarker.__call__

    def _hookimpl(self: pluggy.HookimplMarker, function: Any = None, wrapper: bool = False, **options: Any) -> Any:
        if not wrapper:
            return _register(self, function, **options)

        def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
            return _register(self, _as_old_style_wrapper(fn), hookwrapper=True, **options)

        return mark if function is None else mark(function)

    pluggy.HookimplMarker.__call__ = _hookimpl  # type: ignore[method-assign]


# ---- 2. the outcomes file ---------------------------------------------------------------------

_outcomes: Dict[str, str] = {}


def _note(nodeid: str, outcome: str) -> None:
    # A failure or error in any phase (setup, call, teardown) is what the test's line says.
    if _outcomes.get(nodeid) in ("failed", "error") and outcome not in ("failed", "error"):
        return
    _outcomes[nodeid] = outcome


def pytest_runtest_logreport(report: Any) -> None:
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if xfail:
            _note(report.nodeid, "xfailed" if report.skipped else "xpassed" if report.passed else "failed")
        else:
            _note(report.nodeid, report.outcome)
    elif report.failed:
        _note(report.nodeid, "error")
    elif report.when == "setup" and report.skipped:
        _note(report.nodeid, "xfailed" if xfail else "skipped")


def pytest_sessionfinish(session: Any) -> None:
    path = os.environ.get("IRCTEST_OUTCOMES_FILE")
    # Under pytest-xdist the workers' reports reach the controlling process, which writes.
    if not path or hasattr(session.config, "workerinput"):
        return
    with open(path, "w", encoding="utf-8") as out:
        for nodeid in sorted(_outcomes):
            out.write(f"{_outcomes[nodeid]}\t{nodeid}\n")
