"""Modules meet through public names (issue 20, design changes 3 and 4).

datamode.py enters and leaves transparent mode through Engine.detach()/attach(), not by
resetting the engine's private fields; aio.py awaits between public steps (DataSocket's
escape_quiet/escape_start/escape_poll/escape_end, socket.line_ready) instead of calling
private methods of the objects it drives. A scan of the source (ast) holds both, so an
engine or socket can change its insides without breaking these two.
"""
import ast
import os

from mpy import LIB

PKG = os.path.join(LIB, "cellmodem")


def _tree(name):
    with open(os.path.join(PKG, name)) as f:
        return ast.parse(f.read(), name)


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def _on_other(node):
    """node is x._name where x is not the object's own self."""
    return isinstance(node, ast.Attribute) and _private(node.attr) \
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")


def _privates_of(name, cls):
    """The private attributes and methods of class cls in module name."""
    out = set()
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for sub in ast.walk(node):
                if isinstance(sub, ast.FunctionDef) and _private(sub.name):
                    out.add(sub.name)
                elif isinstance(sub, ast.Attribute) and _private(sub.attr) \
                        and isinstance(sub.value, ast.Name) and sub.value.id == "self":
                    out.add(sub.attr)
    return out


def engine_fields_touched(tree):
    """(line, name) of each private field or method of Engine or AT reached on another
    object than self (self's own privates of the same name are the module's)."""
    private = _privates_of("engine.py", "Engine") | _privates_of("at.py", "AT")
    return sorted((n.lineno, n.attr) for n in ast.walk(tree)
                  if _on_other(n) and n.attr in private)


def private_calls(tree):
    """(line, name) of each call of a private method on another object than self, and
    of getattr/hasattr with a private name."""
    out = []
    for n in ast.walk(tree):
        if not isinstance(n, ast.Call):
            continue
        if _on_other(n.func):
            out.append((n.lineno, n.func.attr))
        elif isinstance(n.func, ast.Name) and n.func.id in ("getattr", "hasattr") \
                and len(n.args) > 1 and isinstance(n.args[1], ast.Constant) \
                and isinstance(n.args[1].value, str) and _private(n.args[1].value):
            out.append((n.lineno, n.args[1].value))
    return sorted(out)


def test_datamode_touches_no_private_field_or_method_of_the_engine_or_at():
    assert engine_fields_touched(_tree("datamode.py")) == []


def test_aio_calls_no_private_method_of_another_object():
    assert private_calls(_tree("aio.py")) == []


def test_the_scans_find_the_forms_they_replaced():
    # the lines datamode.py and aio.py had before the public halves existed
    old_datamode = ast.parse("def f(eng):\n    h = eng._head\n"
                             "    eng._skip_lf = eng._discard = False\n")
    assert engine_fields_touched(old_datamode) == [(2, "_head"), (3, "_discard"),
                                                   (3, "_skip_lf")]
    old_aio = ast.parse("def f(self, s, link):\n    self._s._pull(link)\n"
                        "    step = s._plus_out()\n    hasattr(s, '_link')\n")
    assert private_calls(old_aio) == [(2, "_pull"), (3, "_plus_out"), (4, "_link")]
