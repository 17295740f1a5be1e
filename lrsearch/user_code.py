"""Import a user's factory named ``module:function`` (a model, a data set); torch-free.

The module is looked up in the study file's folder first, then on ``sys.path``: the folder is
put at the front of ``sys.path`` (and left there, so the module's own imports of its
neighbours, at import or at call time, find them too). A module is imported once per process,
as Python does; every failure is one :class:`~lrsearch.errors.LrsearchError` naming the field,
the value and what went wrong, with the module's own exception chained (``--debug`` shows it).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lrsearch.config import IMAGEFOLDER, StudyConfig, is_factory
from lrsearch.errors import LrsearchError

__all__ = ["load_factory", "search_folder", "user_code_problems"]


def search_folder(study_dir: str | os.PathLike | None) -> Path:
    """The folder searched first for a factory's module: ``study_dir``, else the working one."""
    return Path(study_dir if study_dir is not None else os.getcwd()).resolve()


def load_factory(ref: str, study_dir: str | os.PathLike | None, field: str,
                 error: type[LrsearchError] = LrsearchError) -> Callable[..., Any]:
    """The function ``ref`` (``module:function``) names, imported but not called.

    Args:
        ref: ``module:function``, ``module`` a dotted path.
        study_dir: The folder searched first (None: the working directory).
        field: The study file's key that named it, for the message (``model``, ...).
        error: The error class to raise.

    Raises:
        error: The module is not found or fails to import, or has no such callable.

    Example:
        >>> load_factory("os.path:join", None, "model")("a", "b")
        'a/b'
    """
    module_name, _, function_name = ref.partition(":")
    folder = search_folder(study_dir)
    where = f"{field}: got {ref!r}"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise error(f"{where}; no module {exc.name!r} in the study's folder {folder} nor "
                        f"on sys.path") from exc
        raise error(f"{where}; module {module_name!r} failed to import: "
                    f"{type(exc).__name__}: {exc}") from exc
    except SystemExit as exc:  # sys.exit() at import would end lrsearch without a word
        raise error(f"{where}; module {module_name!r} called sys.exit({exc.code!r}) while "
                    f"being imported; guard its script part with "
                    f"`if __name__ == \"__main__\":`") from None
    except Exception as exc:  # the user's module: any error at all is its own
        raise error(f"{where}; module {module_name!r} failed to import: "
                    f"{type(exc).__name__}: {exc}") from exc
    function = getattr(module, function_name, None)
    origin = getattr(module, "__file__", None) or module_name
    if function is None:
        found = sorted(name for name, value in vars(module).items()
                       if callable(value) and not name.startswith("_"))[:20]
        raise error(f"{where}; module {module_name!r} ({origin}) has no {function_name!r}; "
                    f"its public callables: {found}")
    if not callable(function):
        raise error(f"{where}; {function_name!r} in {origin} is a {type(function).__name__}, "
                    f"not a function")
    return function


def user_code_problems(config: StudyConfig) -> list[str]:
    """What ``lrsearch validate`` can check of a study's own model and data without torch.

    A ``module:function`` model or data set is imported (not called: that builds a model or
    reads data, and needs torch); an image folder's ``root`` and ``test_root`` must be
    folders of at least 2 class subfolders. The model's outputs and the images themselves are
    checked when a run starts.
    """
    problems = []
    for field, ref in (("model", config.model), ("data.dataset", config.data.dataset)):
        if is_factory(ref):
            try:
                load_factory(ref, config.study_dir, field)
            except LrsearchError as exc:
                problems.append(str(exc))
    if config.data.dataset == IMAGEFOLDER:
        for field in ("root", "test_root"):
            folder = getattr(config.data, field)
            if folder is not None:
                problems += _folder_problems(f"data.{field}", folder, config.study_dir)
    return problems


def _folder_problems(field: str, folder: str, study_dir: str | None) -> list[str]:
    path = Path(folder).expanduser()
    path = path if path.is_absolute() else search_folder(study_dir) / path
    if not path.is_dir():
        return [f"{field}: got {folder!r}; {str(path)!r} is not a folder (a relative root "
                f"starts at the study file's folder)"]
    classes = sorted(entry.name for entry in os.scandir(path) if entry.is_dir())
    if len(classes) < 2:
        return [f"{field}: {str(path)!r} holds {len(classes)} class folder(s) {classes}; an "
                f"image folder needs at least 2, one subfolder of images per class"]
    return []
