"""Small generic helpers: type checks, casts, tuples, imports, method introspection.

Everything here is pure Python and imports nothing heavy, so ``piston.utils`` stays cheap.

Parameter names follow the spec (``has_method(obj, name)``, ``is_list_of(seq, t)``, ...). Where
MMEngine names the parameter differently (``method``, ``expected_type``, ...), that name is also
accepted as a keyword-only alias (see ``_spec_or_old``), so keyword calls written either way work.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import itertools
import textwrap
import warnings
from collections.abc import Callable, Iterable
from importlib import import_module
from types import ModuleType
from typing import Any

__all__ = [
    "apply_to",
    "check_prerequisites",
    "concat_list",
    "deprecated_api_warning",
    "deprecated_function",
    "get_object_from_string",
    "has_method",
    "import_modules_from_strings",
    "is_list_of",
    "is_method_overridden",
    "is_seq_of",
    "is_str",
    "is_tuple_of",
    "iter_cast",
    "list_cast",
    "requires_executable",
    "requires_package",
    "slice_list",
    "to_1tuple",
    "to_2tuple",
    "to_3tuple",
    "to_4tuple",
    "to_ntuple",
    "tuple_cast",
]


class _Required:
    """Default of a parameter that is required but may also be passed under its old name."""

    def __repr__(self) -> str:
        return "<required>"


_REQUIRED: Any = _Required()


def _spec_or_old(func: str, name: str, value: Any, old_name: str, old_value: Any) -> Any:
    """The value passed as ``name`` (spec name) or as ``old_name`` (MMEngine's name), not both.

    Raises:
        TypeError: If neither or both are given.
    """
    if old_value is _REQUIRED:
        if value is _REQUIRED:
            raise TypeError(f"{func}() missing 1 required argument: {name!r}")
        return value
    if value is not _REQUIRED:
        raise TypeError(
            f"{func}() got both {name!r} and {old_name!r}, two names of the same argument; "
            f"pass it once, as {name!r}"
        )
    return old_value


def _ntuple(n: int) -> Callable[[Any], tuple]:
    def parse(x: Any) -> Any:
        if isinstance(x, collections.abc.Iterable):
            return x
        return tuple(itertools.repeat(x, n))

    return parse


to_1tuple = _ntuple(1)
to_2tuple = _ntuple(2)
to_3tuple = _ntuple(3)
to_4tuple = _ntuple(4)
to_ntuple = _ntuple


def is_str(x: Any) -> bool:
    """Whether ``x`` is a ``str``."""
    return isinstance(x, str)


def import_modules_from_strings(
    imports: str | list[str] | None, allow_failed_imports: bool = False
) -> ModuleType | list[ModuleType | None] | None:
    """Import modules by dotted name.

    Args:
        imports: One module name or a list of them. Falsy → nothing imported, ``None``.
        allow_failed_imports: Warn and return ``None`` for a module that fails to import
            instead of raising ``ImportError``.

    Returns:
        The module (for a str) or a list of modules (for a list).
    """
    if not imports:
        return None
    single = isinstance(imports, str)
    if single:
        imports = [imports]
    if not isinstance(imports, list):
        raise TypeError(f"custom_imports must be a str or a list of str, but got {type(imports)}")
    imported: list[ModuleType | None] = []
    for name in imports:
        if not isinstance(name, str):
            raise TypeError(f"{name!r} is of type {type(name)} and cannot be imported.")
        try:
            module: ModuleType | None = import_module(name)
        except ImportError:
            if not allow_failed_imports:
                raise
            warnings.warn(f"{name} failed to import and is ignored.", UserWarning, stacklevel=2)
            module = None
        imported.append(module)
    return imported[0] if single else imported


def _missing_module_is_prefix(exc: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``exc`` says ``module_name`` itself (or a parent package) does not exist."""
    missing = exc.name or ""
    return module_name == missing or module_name.startswith(missing + ".")


def get_object_from_string(obj_name: str) -> Any:
    """Resolve a dotted path such as ``'torch.optim.SGD'`` to the object it names.

    The longest importable module prefix is imported, then the remaining parts are looked up
    with ``getattr``. An attribute of a package wins over a submodule of the same name.

    Returns:
        The object, or ``None`` if no module or attribute of that name exists. An error raised
        while importing a module that exists propagates.
    """
    parts = obj_name.split(".")
    module = None
    index = 0
    for index in range(len(parts)):
        module_name = ".".join(parts[: index + 1])
        if module is not None:
            attr = getattr(module, parts[index], None)
            if attr is not None and not inspect.ismodule(attr):
                break
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if not _missing_module_is_prefix(exc, module_name):
                raise
            if module is None:
                return None
            break
    else:
        return module
    obj: Any = module
    for part in parts[index:]:
        if not hasattr(obj, part):
            return None
        obj = getattr(obj, part)
    return obj


def iter_cast(inputs: Iterable, dst_type: type, return_type: type | None = None) -> Any:
    """Cast every item of ``inputs`` to ``dst_type``; return an iterator or ``return_type``."""
    if not isinstance(inputs, collections.abc.Iterable):
        raise TypeError(f"inputs must be an iterable object, but got {type(inputs)}")
    if not isinstance(dst_type, type):
        raise TypeError(f'"dst_type" must be a valid type, but got {dst_type!r}')
    out_iterable = map(dst_type, inputs)
    return out_iterable if return_type is None else return_type(out_iterable)


def list_cast(inputs: Iterable, dst_type: type) -> list:
    """Cast every item of ``inputs`` to ``dst_type`` into a list."""
    return iter_cast(inputs, dst_type, return_type=list)


def tuple_cast(inputs: Iterable, dst_type: type) -> tuple:
    """Cast every item of ``inputs`` to ``dst_type`` into a tuple."""
    return iter_cast(inputs, dst_type, return_type=tuple)


def is_seq_of(seq: Any, expected_type: type | tuple, seq_type: type | None = None) -> bool:
    """Whether ``seq`` is a sequence (of ``seq_type``) whose items are all ``expected_type``."""
    exp_seq_type = collections.abc.Sequence if seq_type is None else seq_type
    if not isinstance(seq, exp_seq_type):
        return False
    return all(isinstance(item, expected_type) for item in seq)


def is_list_of(
    seq: Any, t: type | tuple = _REQUIRED, *, expected_type: type | tuple = _REQUIRED
) -> bool:
    """Whether ``seq`` is a list whose items are all of type ``t`` (alias ``expected_type``)."""
    t = _spec_or_old("is_list_of", "t", t, "expected_type", expected_type)
    return is_seq_of(seq, t, seq_type=list)


def is_tuple_of(
    seq: Any, t: type | tuple = _REQUIRED, *, expected_type: type | tuple = _REQUIRED
) -> bool:
    """Whether ``seq`` is a tuple whose items are all of type ``t`` (alias ``expected_type``)."""
    t = _spec_or_old("is_tuple_of", "t", t, "expected_type", expected_type)
    return is_seq_of(seq, t, seq_type=tuple)


def slice_list(in_list: list, lens: int | list[int]) -> list[list]:
    """Split ``in_list`` into chunks of ``lens`` items (int) or of the given lengths (list)."""
    if isinstance(lens, int):
        if lens <= 0:
            raise ValueError(f"lens must be a positive int, but got {lens}")
        if len(in_list) % lens:
            raise ValueError(
                f"the list length {len(in_list)} is not a multiple of lens={lens}; pass a list "
                "of chunk lengths to split it unevenly."
            )
        lens = [lens] * (len(in_list) // lens)
    elif not isinstance(lens, list):
        raise TypeError(f'"lens" must be an integer or a list of integers, but got {type(lens)}')
    if sum(lens) != len(in_list):
        raise ValueError(
            f"sum of lens and list length does not match: {sum(lens)} != {len(in_list)}"
        )
    out_list, idx = [], 0
    for length in lens:
        out_list.append(in_list[idx : idx + length])
        idx += length
    return out_list


def concat_list(in_list: Iterable[Iterable]) -> list:
    """Flatten one level: ``[[1, 2], [3]] -> [1, 2, 3]``."""
    return list(itertools.chain(*in_list))


def check_prerequisites(
    prerequisites: str | list[str],
    checker: Callable[[str], bool],
    msg_tmpl: str = 'Prerequisites "{}" are required in method "{}" but not '
    "found, please install them first.",
) -> Callable:
    """Decorator raising ``RuntimeError`` at call time if a prerequisite is missing."""

    def wrap(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapped_func(*args: Any, **kwargs: Any) -> Any:
            requirements = [prerequisites] if isinstance(prerequisites, str) else prerequisites
            missing = [item for item in requirements if not checker(item)]
            if missing:
                print(msg_tmpl.format(", ".join(missing), func.__name__))
                raise RuntimeError("Prerequisites not meet.")
            return func(*args, **kwargs)

        return wrapped_func

    return wrap


def _check_py_package(package: str) -> bool:
    try:
        import_module(package)
    except ImportError:
        return False
    return True


def _check_executable(cmd: str) -> bool:
    import subprocess

    return subprocess.call(f"which {cmd}", shell=True, stdout=subprocess.DEVNULL) == 0


def requires_package(
    pkgs: str | list[str] = _REQUIRED, *, prerequisites: str | list[str] = _REQUIRED
) -> Callable:
    """Decorator raising ``RuntimeError`` if the Python package(s) ``pkgs`` cannot be imported.

    ``prerequisites`` is an alias of ``pkgs`` (MMEngine's name).
    """
    pkgs = _spec_or_old("requires_package", "pkgs", pkgs, "prerequisites", prerequisites)
    return check_prerequisites(pkgs, checker=_check_py_package)


def requires_executable(
    cmds: str | list[str] = _REQUIRED, *, prerequisites: str | list[str] = _REQUIRED
) -> Callable:
    """Decorator raising ``RuntimeError`` if the executable(s) ``cmds`` are not on ``PATH``.

    ``prerequisites`` is an alias of ``cmds`` (MMEngine's name).
    """
    cmds = _spec_or_old("requires_executable", "cmds", cmds, "prerequisites", prerequisites)
    return check_prerequisites(cmds, checker=_check_executable)


def deprecated_api_warning(name_dict: dict[str, str], cls_name: str | None = None) -> Callable:
    """Decorator renaming deprecated keyword (or positional) argument names.

    Args:
        name_dict: Maps each deprecated argument name to its new name.
        cls_name: Class name shown in the warning for methods.
    """

    def api_warning_wrapper(old_func: Callable) -> Callable:
        @functools.wraps(old_func)
        def new_func(*args: Any, **kwargs: Any) -> Any:
            func_name = old_func.__name__ if cls_name is None else f"{cls_name}.{old_func.__name__}"
            arg_names = inspect.getfullargspec(old_func).args
            if args:
                for src_arg_name, dst_arg_name in name_dict.items():
                    if src_arg_name in arg_names[: len(args)]:
                        warnings.warn(
                            f'"{src_arg_name}" is deprecated in `{func_name}`, please use '
                            f'"{dst_arg_name}" instead',
                            DeprecationWarning,
                            stacklevel=2,
                        )
                        arg_names[arg_names.index(src_arg_name)] = dst_arg_name
            for src_arg_name, dst_arg_name in name_dict.items():
                if src_arg_name in kwargs:
                    if dst_arg_name in kwargs:
                        raise AssertionError(
                            f"The expected behavior is to replace the deprecated key "
                            f"`{src_arg_name}` to new key `{dst_arg_name}`, but got them "
                            f"in the arguments at the same time, which is confusing. "
                            f"`{src_arg_name}` will be deprecated in the future, please "
                            f"use `{dst_arg_name}` instead."
                        )
                    warnings.warn(
                        f'"{src_arg_name}" is deprecated in `{func_name}`, please use '
                        f'"{dst_arg_name}" instead',
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[dst_arg_name] = kwargs.pop(src_arg_name)
            return old_func(*args, **kwargs)

        return new_func

    return api_warning_wrapper


def is_method_overridden(
    method: str,
    base_class: type,
    derived_class_or_instance: type | Any = _REQUIRED,
    *,
    derived_class: type | Any = _REQUIRED,
) -> bool:
    """Whether ``derived_class_or_instance`` (class or instance) overrides ``base_class.method``.

    ``derived_class`` is an alias of ``derived_class_or_instance`` (MMEngine's name).

    Raises:
        AssertionError: If ``base_class`` is not a class.
    """
    derived = _spec_or_old(
        "is_method_overridden",
        "derived_class_or_instance",
        derived_class_or_instance,
        "derived_class",
        derived_class,
    )
    if not isinstance(base_class, type):
        raise AssertionError(f"base_class must be a class, but got {base_class!r}")
    if not isinstance(derived, type):
        derived = derived.__class__
    base_method = getattr(base_class, method)
    derived_method = getattr(derived, method)
    return derived_method != base_method


def has_method(obj: object, name: str = _REQUIRED, *, method: str = _REQUIRED) -> bool:
    """Whether ``obj`` has a callable attribute ``name`` (alias ``method``, MMEngine's name)."""
    name = _spec_or_old("has_method", "name", name, "method", method)
    return hasattr(obj, name) and callable(getattr(obj, name))


def deprecated_function(since: str, removed_in: str, instructions: str) -> Callable:
    """Decorator marking a function deprecated: warns on call and amends the docstring.

    Args:
        since: Version that deprecated the function.
        removed_in: Version that will remove it.
        instructions: What to use instead.
    """

    def decorator(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            message = (
                f"'{function.__module__}.{function.__name__}' is deprecated in version "
                f"{since} and will be removed in version {removed_in}. Please {instructions}."
            )
            warnings.warn(message, DeprecationWarning, stacklevel=2)
            try:
                from piston.logging import print_log

                print_log(message, logger="current", level=30)
            except ImportError:
                pass
            return function(*args, **kwargs)

        note = (
            f".. deprecated:: {since}\n"
            f"    Deprecated and will be removed in version {removed_in}.\n"
            f"    Please {instructions}.\n"
        )
        wrapper.__doc__ = f"{note}\n\n{_reindent_docstring(function.__doc__ or '')}"
        return wrapper

    return decorator


def _reindent_docstring(doc: str, prefix: str = "    ") -> str:
    """Dedent a docstring (first line unindented, the rest indented) and indent it by ``prefix``."""
    first, _, rest = doc.partition("\n")
    body = first.strip() + ("\n" + textwrap.dedent(rest) if rest else "")
    return textwrap.indent(body, prefix)


def apply_to(data: Any, expr: Callable[[Any], bool], apply_func: Callable[[Any], Any]) -> Any:
    """Recursively apply ``apply_func`` to leaves of dicts/lists/tuples where ``expr`` is true."""
    if isinstance(data, dict):
        return type(data)({key: apply_to(value, expr, apply_func) for key, value in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(apply_to(item, expr, apply_func) for item in data))
    if isinstance(data, (tuple, list)):
        return type(data)(apply_to(item, expr, apply_func) for item in data)
    if expr(data):
        return apply_func(data)
    return data
