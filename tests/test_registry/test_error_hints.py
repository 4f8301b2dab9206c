"""Error quality of ``build``: close-match suggestions across the registry tree and for dotted
paths, a misspelt ``type`` key, and unexpected constructor arguments."""

from __future__ import annotations

import pytest

from piston.registry import Registry, build_from_cfg


@pytest.fixture
def tree():
    root = Registry("model", scope="hint_root")
    child = Registry("model", parent=root, scope="hint_det")

    @root.register_module()
    class ExponentialMovingAverage:
        pass

    @child.register_module()
    class RetinaNet:
        def __init__(self, depth=50, num_classes=80):
            self.depth, self.num_classes = depth, num_classes

    @child.register_module()
    class Wrapper:
        def __init__(self, inner=None, **kwargs):
            build_from_cfg(inner, child)

    return root, child


def test_unknown_name_through_root_suggests_scoped_name_of_child(tree):
    root, _ = tree
    with pytest.raises(KeyError, match=r"Did you mean 'hint_det\.RetinaNet'\?"):
        root.build(dict(type="RetinaNt"))
    with pytest.raises(KeyError, match=r"Did you mean 'hint_det\.RetinaNet'\?"):
        root.build(dict(type="retinanet"))  # case only


def test_unknown_scoped_name_suggests_from_that_scope(tree):
    root, _ = tree
    with pytest.raises(KeyError) as info:
        root.build(dict(type="hint_det.RetinNet"))
    assert "Did you mean 'hint_det.RetinaNet'?" in str(info.value)


def test_child_suggests_its_own_and_parent_names_unscoped(tree):
    _, child = tree
    with pytest.raises(KeyError, match=r"Did you mean 'ExponentialMovingAverage'\?"):
        child.build(dict(type="ExponentialMovingAvrage"))


def test_unknown_dotted_path_suggests_module_attributes(tree):
    root, _ = tree
    with pytest.raises(KeyError, match=r"Did you mean 'collections\.OrderedDict'"):
        root.build(dict(type="collections.OrderdDict"))


def test_misspelt_type_key_is_pointed_out(tree):
    root, _ = tree
    with pytest.raises(KeyError) as info:
        root.build(dict(tpye="RetinaNet", depth=1))
    message = info.value.args[0]
    assert 'must contain the key "type"' in message
    assert "'tpye' a misspelt 'type'" in message
    assert "hint_root::model" in message
    assert "\nNone" not in message


def test_unexpected_argument_lists_accepted_ones_and_closest(tree):
    root, _ = tree
    with pytest.raises(TypeError) as info:
        root.build(dict(type="hint_det.RetinaNet", num_class=3))
    message = str(info.value)
    assert "unexpected keyword argument 'num_class'" in message
    assert "Did you mean 'num_classes'?" in message
    assert "Accepted arguments: depth, num_classes" in message


def test_unexpected_argument_raised_deeper_gets_no_wrong_hint(tree):
    root, _ = tree
    inner = dict(type="RetinaNet", colour=1)
    with pytest.raises(TypeError) as info:
        root.build(dict(type="hint_det.Wrapper", inner=inner))
    message = str(info.value)
    assert "unexpected keyword argument 'colour'" in message
    # The inner build names RetinaNet's arguments; Wrapper (**kwargs) adds no hint of its own.
    assert message.count("Accepted arguments") == 1
    assert "depth, num_classes" in message


def test_scope_of_a_package_that_is_not_installed_names_the_pip_package(tree):
    root, _ = tree
    with pytest.raises(KeyError) as info:
        root.build(dict(type="mmflow.PWCNet"))
    assert "mmflow is not installed: pip install mmflow." in info.value.args[0]
    with pytest.raises(KeyError) as info:
        root.build(dict(type="no_such_scope_pkg.Thing"))
    assert "'no_such_scope_pkg' is neither the scope of a registry" in info.value.args[0]


def test_register_module_without_parentheses_says_how_to_fix():
    registry = Registry("hook", scope="hint_paren")

    with pytest.raises(TypeError, match=r"'MyHook', call the decorator with parentheses"):

        @registry.register_module
        class MyHook:
            pass
