"""The family registry (tools/families.py) agrees with everything else that knows the
families: lib/'s dialects (NAMES, detection, one module each), the simulator's
personalities and the packages. A family added in one place and not the others fails
here, naming what is missing."""
import os

import pytest

from cellmodem import dialects
from tools import families, package_json
from tools.modemsim import ModemSim, get_personality

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _modules_defining(directory, attr):
    """Names of the .py modules in directory that assign attr at their top level."""
    out = []
    for f in sorted(os.listdir(directory)):
        if f.endswith(".py"):
            with open(os.path.join(directory, f)) as fh:
                if any(line.startswith(attr + " =") for line in fh):
                    out.append(f[:-3])
    return out


def test_the_registry_has_exactly_the_families_lib_knows():
    assert families.NAMES == dialects.NAMES
    assert [entry.split(":")[0] for entry in dialects._DETECT.split(";")] == list(dialects.NAMES)


def test_every_dialect_module_of_lib_is_a_registered_family():
    found = _modules_defining(os.path.join(ROOT, "lib", "cellmodem", "dialects"), "DIALECT")
    assert sorted(found) == sorted(families.NAMES)


def test_every_family_has_its_dialect_class(family):
    cls = families.dialect(family)
    assert cls.NAME == family
    assert cls.RX_MODES and cls.LINKS > 0 and cls.POWER


def test_every_family_has_a_simulator_personality_detected_as_that_family(family):
    cls = get_personality(family)
    assert issubclass(cls, ModemSim) and cls.name == family
    sim = cls(seed=1)
    try:
        # what Modem(dialect="auto") reads (AT+CGMM) names this family
        assert dialects.detect(sim.model) == family, sim.model
        assert list(sim.banner_lines())[-1] == families.get(family).ready
        assert families.get(family).guard in sim.opts
    finally:
        sim.close()


@pytest.mark.parametrize("variant", sorted(families.VARIANTS))
def test_a_variant_personality_is_detected_as_its_family(variant):
    sim = get_personality(variant)(seed=1)
    try:
        assert dialects.detect(sim.model) == families.VARIANTS[variant][0] == \
            families.get(variant).name
    finally:
        sim.close()


def test_every_personality_module_is_a_registered_family_or_variant():
    found = _modules_defining(os.path.join(ROOT, "tools", "modemsim"), "PERSONALITY")
    modules = {spec.partition(":")[0] for spec in families.personalities().values()}
    assert sorted(found) == sorted(modules)


def test_every_family_has_a_package_with_its_dialect(family):
    pkgs = package_json.packages()
    package = families.get(family).package
    assert package in pkgs, "no packages/%s/manifest.py" % package
    assert "cellmodem/dialects/%s.py" % family in pkgs[package]["files"]
    assert os.path.isfile(os.path.join(ROOT, "packages", package, "package.json"))
    assert package in package_json.board_packages()


def test_an_unknown_family_is_a_key_error_naming_the_known_ones():
    with pytest.raises(KeyError) as e:
        families.get("sim9000")
    assert "unknown family 'sim9000'; known: sim7080, " in str(e.value)


def test_names_narrows_by_what_the_dialect_class_says():
    assert families.names() == list(families.NAMES)
    for name in families.names(push=True):
        assert "push" in families.dialect(name).RX_MODES
    for name in families.names(push=False):
        assert "push" not in families.dialect(name).RX_MODES
    assert sorted(families.names(push=True) + families.names(push=False)) == \
        sorted(families.NAMES)
    assert families.modes(["sim7080"]) == [("sim7080", m) for m in
                                           families.dialect("sim7080").RX_MODES]
