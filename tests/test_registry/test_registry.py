from __future__ import annotations

import sys
import textwrap

import pytest

import piston.registry as registry_module
from piston.registry import DefaultScope, Registry, build_from_cfg


def _write_package(root, name: str, files: dict[str, str]) -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for file_name, source in files.items():
        (pkg / file_name).write_text(textwrap.dedent(source))


@pytest.fixture
def tmp_packages(tmp_path, monkeypatch):
    """A sys.path folder for throw-away packages, unloaded after the test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


# ----------------------------------------------------------------------------- construction
def test_scope_is_inferred_from_calling_module():
    registry = Registry("cat")
    assert registry.scope == __name__.split(".")[0]
    assert Registry("cat", scope="zoo").scope == "zoo"


def test_scope_inferred_through_subclass_init():
    class MyRegistry(Registry):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)

    assert MyRegistry("cat").scope == __name__.split(".")[0]


def test_parent_child_links_and_duplicate_child_scope():
    parent = Registry("model", scope="root_a")
    child = Registry("model", parent=parent, scope="child_a")
    assert parent.children == {"child_a": child}
    assert child.parent is parent
    assert child.root is parent
    assert parent.root is parent
    with pytest.raises(AssertionError, match="child_a"):
        Registry("model", parent=parent, scope="child_a")


def test_build_func_resolution_order():
    def custom_build(cfg, registry, default_args=None):
        return "custom"

    parent = Registry("x", build_func=custom_build, scope="bf_root")
    child = Registry("x", parent=parent, scope="bf_child")
    plain = Registry("x", scope="bf_plain")
    assert child.build_func is custom_build
    assert plain.build_func is build_from_cfg
    assert child.build({"type": "anything"}) == "custom"


# ----------------------------------------------------------------------------- register_module
def test_register_decorator_and_call_forms_with_aliases():
    reg = Registry("animal", scope="reg_forms")

    @reg.register_module()
    class Cat:
        pass

    @reg.register_module(name=["Dog", "Puppy"])
    class Dog:
        pass

    def make_bird():
        return "bird"

    assert reg.register_module(module=make_bird) is make_bird
    assert reg.get("Cat") is Cat
    assert reg.get("Dog") is reg.get("Puppy") is Dog
    assert reg.get("make_bird") is make_bird
    assert len(reg) == 4
    assert "Cat" in reg
    assert "Lion" not in reg


def test_register_duplicate_raises_unless_forced():
    reg = Registry("animal", scope="reg_dup")

    @reg.register_module()
    class Cat:
        pass

    with pytest.raises(KeyError, match="Cat is already registered in animal"):

        @reg.register_module()
        class Cat:
            pass

    @reg.register_module(force=True)
    class Cat:
        marker = 1

    assert reg.get("Cat").marker == 1


def test_register_bad_arguments_raise_type_error():
    reg = Registry("animal", scope="reg_bad")
    with pytest.raises(TypeError, match="force"):
        reg.register_module(force=1)
    with pytest.raises(TypeError, match="name"):
        reg.register_module(name=3)
    with pytest.raises(TypeError, match="class or a function"):
        reg.register_module(module=3)


def test_get_with_non_str_key_raises():
    with pytest.raises(TypeError):
        Registry("a", scope="get_bad").get(1)


def test_repr_renders_table():
    reg = Registry("animal", scope="reg_repr")

    @reg.register_module()
    class Cat:
        pass

    text = repr(reg)
    assert "Registry of animal" in text
    assert "Names" in text
    assert "Objects" in text
    assert "Cat" in text


# ----------------------------------------------------------------------------- get across scopes
@pytest.fixture
def tree():
    """root(piston-like) -> det -> det3d, root -> cls."""
    root = Registry("model", scope="tree_root")
    det = Registry("model", parent=root, scope="tree_det")
    det3d = Registry("model", parent=det, scope="tree_det3d")
    cls_reg = Registry("model", parent=root, scope="tree_cls")

    @root.register_module()
    class EMA:
        pass

    @det.register_module()
    class RetinaNet:
        pass

    @det3d.register_module()
    class VoxelNet:
        pass

    @cls_reg.register_module()
    class ResNet:
        pass

    @det.register_module(name="ResNet")
    class DetResNet:
        pass

    return {
        "root": root,
        "det": det,
        "det3d": det3d,
        "cls": cls_reg,
        "EMA": EMA,
        "RetinaNet": RetinaNet,
        "VoxelNet": VoxelNet,
        "ResNet": ResNet,
        "DetResNet": DetResNet,
    }


def test_unscoped_get_walks_up_parents(tree):
    assert tree["det3d"].get("EMA") is tree["EMA"]
    assert tree["det3d"].get("RetinaNet") is tree["RetinaNet"]
    assert tree["root"].get("RetinaNet") is None  # parents don't look down


def test_scoped_get_routes_through_tree(tree):
    assert tree["root"].get("tree_det.RetinaNet") is tree["RetinaNet"]
    assert tree["root"].get("tree_cls.ResNet") is tree["ResNet"]
    assert tree["det"].get("tree_cls.ResNet") is tree["ResNet"]
    assert tree["det"].get("ResNet") is tree["DetResNet"]
    assert tree["cls"].get("tree_det.ResNet") is tree["DetResNet"]
    assert tree["cls"].get("tree_root.EMA") is tree["EMA"]
    assert tree["root"].get("tree_det.tree_det3d.VoxelNet") is tree["VoxelNet"]
    assert tree["det"].get("tree_det3d.VoxelNet") is tree["VoxelNet"]
    # A grandchild scope is not routed from the root (only own children and root's children).
    assert tree["root"].get("tree_det3d.VoxelNet") is None
    # Scoped lookups in a child fall back to that child's parents.
    assert tree["root"].get("tree_det.EMA") is tree["EMA"]
    # Own scope given explicitly: no walk-up.
    assert tree["det"].get("tree_det.EMA") is None


def test_get_dotted_import_path():
    reg = Registry("x", scope="dotted")
    import collections

    assert reg.get("collections.OrderedDict") is collections.OrderedDict
    assert reg.get("collections.NoSuchThing") is None
    assert reg.get("no_such_module_xyz.Thing") is None
    assert reg.get("NoDotUnknown") is None


def test_get_dotted_path_import_error_becomes_runtime_error(tmp_packages):
    _write_package(tmp_packages, "broken_pkg_dotted", {"mod.py": "raise ValueError('boom')\n"})
    reg = Registry("x", scope="dotted_err")
    with pytest.raises(RuntimeError, match=r"Failed to get broken_pkg_dotted\.mod\.Thing"):
        reg.get("broken_pkg_dotted.mod.Thing")


# ----------------------------------------------------------------------------- locations
def test_locations_are_imported_lazily_on_first_get(tmp_packages):
    _write_package(
        tmp_packages,
        "lazy_pkg",
        {
            "registry.py": """
                from piston.registry import Registry
                MODELS = Registry('model', scope='lazy_pkg', locations=['lazy_pkg.models'])
            """,
            "models.py": """
                from lazy_pkg.registry import MODELS
                @MODELS.register_module()
                class LazyNet:
                    pass
            """,
        },
    )
    from lazy_pkg.registry import MODELS

    assert "lazy_pkg.models" not in sys.modules
    assert len(MODELS) == 0
    net_cls = MODELS.get("LazyNet")
    assert "lazy_pkg.models" in sys.modules
    assert net_cls.__name__ == "LazyNet"


def test_missing_location_is_skipped_but_broken_location_raises(tmp_packages):
    missing = Registry("x", scope="loc_missing", locations=["no_such_location_pkg.models"])
    assert missing.get("Anything") is None

    _write_package(tmp_packages, "broken_loc_pkg", {"models.py": "import no_such_dependency_q\n"})
    broken = Registry("x", scope="loc_broken", locations=["broken_loc_pkg.models"])
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_q"):
        broken.get("Anything")
    # The error surfaces again on the next lookup instead of being swallowed.
    with pytest.raises(ModuleNotFoundError):
        broken.get("Anything")


def test_parent_locations_imported_when_child_falls_back(tmp_packages):
    _write_package(
        tmp_packages,
        "parent_loc_pkg",
        {
            "reg.py": """
                from piston.registry import Registry
                ROOT = Registry('m', scope='parent_loc_pkg', locations=['parent_loc_pkg.impl'])
            """,
            "impl.py": """
                from parent_loc_pkg.reg import ROOT
                @ROOT.register_module()
                class FromParent:
                    pass
            """,
        },
    )
    from parent_loc_pkg.reg import ROOT

    child = Registry("m", parent=ROOT, scope="parent_loc_child")
    assert child.get("FromParent").__name__ == "FromParent"


def test_downstream_pattern_with_default_scope(tmp_packages):
    """mmdet-style child registry resolved by default scope, `scope.Name` and fallback."""
    _write_package(
        tmp_packages,
        "fakeroot",
        {
            "registry.py": """
                from piston.registry import Registry
                MODELS = Registry('model', locations=['fakeroot.models'])
            """,
            "models.py": """
                from fakeroot.registry import MODELS
                @MODELS.register_module()
                class ExponentialMovingAverage:
                    pass
            """,
        },
    )
    _write_package(
        tmp_packages,
        "fakedet",
        {
            "registry.py": """
                from fakeroot.registry import MODELS as ROOT_MODELS
                from piston.registry import Registry
                MODELS = Registry('model', parent=ROOT_MODELS, locations=['fakedet.models'])
            """,
            "models.py": """
                from fakedet.registry import MODELS
                @MODELS.register_module()
                class RetinaNet:
                    def __init__(self, depth=50):
                        self.depth = depth
            """,
        },
    )
    from fakeroot.registry import MODELS as root

    assert root.scope == "fakeroot"
    # `fakedet.RetinaNet` imports fakedet.registry on demand and resolves through the child.
    assert "fakedet.registry" not in sys.modules
    assert root.build({"type": "fakedet.RetinaNet"}).depth == 50
    import fakedet.registry as det_registry

    assert det_registry.MODELS.scope == "fakedet"
    assert root.children == {"fakedet": det_registry.MODELS}
    with pytest.raises(KeyError, match="fakeroot::model"):
        root.build({"type": "RetinaNet"})
    DefaultScope.get_instance("exp", scope_name="fakedet")
    built = root.build({"type": "RetinaNet", "depth": 101})
    assert type(built).__module__ == "fakedet.models"
    assert built.depth == 101
    ema = det_registry.MODELS.build({"type": "ExponentialMovingAverage"})
    assert type(ema).__module__ == "fakeroot.models"


# ----------------------------------------------------------------------------- scope switching
def test_switch_scope_and_registry(tree):
    det = tree["det"]
    with tree["root"].switch_scope_and_registry(None) as registry:
        assert registry is tree["root"]
    with tree["root"].switch_scope_and_registry("tree_det") as registry:
        assert registry is det
        assert DefaultScope.get_current_instance().scope_name == "tree_det"
    assert DefaultScope.get_current_instance() is None
    with tree["cls"].switch_scope_and_registry("tree_det3d") as registry:
        assert registry is tree["det3d"]
    with tree["cls"].switch_scope_and_registry("unknown_scope_q") as registry:
        assert registry is tree["cls"]


def test_scope_key_in_cfg_builds_from_that_scope(tree):
    built = tree["root"].build({"type": "ResNet", "_scope_": "tree_det"})
    assert isinstance(built, tree["DetResNet"])
    built = tree["root"].build({"type": "ResNet", "_scope_": "tree_cls"})
    assert isinstance(built, tree["ResNet"])
    assert DefaultScope.get_current_instance() is None


def test_split_scope_key():
    assert Registry.split_scope_key("a.b.C") == ("a", "b.C")
    assert Registry.split_scope_key("C") == (None, "C")


def test_search_child(tree):
    assert tree["root"]._search_child("tree_det3d") is tree["det3d"]
    assert tree["root"]._search_child("nope") is None


def test_root_registries():
    expected = {
        "RUNNERS": "runner",
        "RUNNER_CONSTRUCTORS": "runner constructor",
        "LOOPS": "loop",
        "HOOKS": "hook",
        "STRATEGIES": "strategy",
        "DATASETS": "dataset",
        "DATA_SAMPLERS": "data sampler",
        "TRANSFORMS": "transform",
        "MODELS": "model",
        "MODEL_WRAPPERS": "model_wrapper",
        "WEIGHT_INITIALIZERS": "weight initializer",
        "OPTIMIZERS": "optimizer",
        "OPTIM_WRAPPERS": "optim_wrapper",
        "OPTIM_WRAPPER_CONSTRUCTORS": "optimizer wrapper constructor",
        "PARAM_SCHEDULERS": "parameter scheduler",
        "METRICS": "metric",
        "EVALUATOR": "evaluator",
        "TASK_UTILS": "task util",
        "VISUALIZERS": "visualizer",
        "VISBACKENDS": "vis_backend",
        "LOG_PROCESSORS": "log_processor",
        "INFERENCERS": "inferencer",
        "FUNCTIONS": "function",
    }
    for var, name in expected.items():
        reg = getattr(registry_module, var)
        assert isinstance(reg, Registry)
        assert reg.name == name
        assert reg.scope == "piston"
        assert reg.parent is None
    assert registry_module.MODELS.build_func is registry_module.build_model_from_cfg
    assert registry_module.RUNNERS.build_func is registry_module.build_runner_from_cfg
    assert registry_module.PARAM_SCHEDULERS.build_func is registry_module.build_scheduler_from_cfg
    assert registry_module.OPTIMIZERS.build_func is registry_module.build_optimizer_from_cfg
    assert registry_module.HOOKS.build_func is build_from_cfg


def test_import_piston_registry_is_light():
    import subprocess

    code = (
        "import sys, piston.registry, piston.utils;"
        "bad=[m for m in ('torch','numpy','rich','yaml','tensorboard','torchvision') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_register_callable_without_name_needs_explicit_name():
    import functools

    reg = Registry("fn", scope="reg_partial")

    def to_int(text, base=10):
        return int(text, base)

    part = functools.partial(to_int, base=2)
    with pytest.raises(TypeError, match="explicit `name=`"):
        reg.register_module(module=part)
    reg.register_module(name="parse_binary", module=part)
    assert reg.build({"type": "parse_binary", "text": "101"}) == 5


def test_scope_falls_back_to_piston_when_caller_is_not_a_module(tmp_path):
    """`python -c` / REPL: no package to infer from -> 'piston' with a warning; a script -> its
    module name (`__main__`)."""
    import subprocess

    code = "from piston.registry import Registry\nprint('SCOPE', Registry('x').scope)\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "SCOPE piston" in out.stdout
    assert "can not be inferred" in out.stdout + out.stderr
    script = tmp_path / "train.py"
    script.write_text(code)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "SCOPE __main__" in out.stdout
    assert "can not be inferred" not in out.stdout + out.stderr


def test_scope_inference_ignores_exec_with_made_up_module_name():
    namespace = {"__name__": "not_a_real_module_q.sub", "Registry": Registry}
    exec("registry = Registry('x')", namespace)
    assert namespace["registry"].scope == "piston"


def test_constructor_signature_matches_spec():
    import inspect

    params = inspect.signature(Registry).parameters
    assert list(params) == ["name", "build_func", "parent", "scope", "locations"]
    assert params["locations"].default == []
    assert params["build_func"].default is None
    assert params["parent"].default is None
    assert params["scope"].default is None
    # The shared default is never mutated, and a given list is copied.
    first = Registry("a", scope="sig_a")
    first._locations.append("x")
    assert Registry("b", scope="sig_b")._locations == []
    locations = ["some.module"]
    reg = Registry("c", scope="sig_c", locations=locations)
    reg._locations.append("other")
    assert locations == ["some.module"]
    assert Registry("d", scope="sig_d", locations=None)._locations == []
