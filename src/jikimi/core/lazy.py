"""`lazy("package.module:function")`: a callable that imports its target on the first call.

The apps register monitor passes, importers and signal receivers in `ready()`, which runs for
every `jikimi` command. Importing the modules behind them there made every command pay for
all of them (a monitor, an importer, alert services) before printing its own `--help`; a
lazy callable defers that to the first call, when the command that needs it is running.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class LazyCallable:
    __slots__ = ("path", "_target")

    def __init__(self, path: str) -> None:
        module, sep, name = path.partition(":")
        if not sep or not module or not name:
            raise ValueError(f"expected 'package.module:function', got {path!r}")
        self.path = path
        self._target: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._target is None:
            module, _, name = self.path.partition(":")
            self._target = getattr(importlib.import_module(module), name)
        return self._target(*args, **kwargs)

    def __repr__(self) -> str:
        return f"lazy({self.path!r})"


def lazy(path: str) -> Callable[..., Any]:
    return LazyCallable(path)
