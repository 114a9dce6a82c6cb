"""The README's configuration table lists exactly the settings the code reads."""

from dataclasses import MISSING, fields
from pathlib import Path

from gateway.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented_with_its_default():
    table = {
        cells[0].strip("` "): cells[1].strip("` *")
        for line in README.read_text().splitlines()
        if line.startswith("| `")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    documented = {f.metadata["env"] for f in fields(Settings)}
    assert set(table) == documented
    for item in fields(Settings):
        assert item.default is not MISSING
        default = table[item.metadata["env"]]
        expected = str(item.default).lower() if isinstance(item.default, bool) else item.default
        if expected == "":
            assert default == "(empty)"
        elif isinstance(item.default, int) and not isinstance(item.default, bool):
            assert int(default) == item.default
        else:
            assert default == str(expected)
