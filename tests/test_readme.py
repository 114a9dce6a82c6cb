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


def test_the_readme_example_is_graphiqls_first_tab_and_is_named():
    from gateway.graphql.explorer import SESSIONS

    text = README.read_text()
    start = text.index("```graphql\n") + len("```graphql\n")
    example = text[start : text.index("```", start)]
    operation = "".join(line + "\n" for line in SESSIONS.splitlines() if not line.startswith("#"))
    assert example == operation
    assert example.startswith("query RecentSessions {")


def test_make_run_serves_on_the_port_it_is_given():
    import shutil
    import subprocess

    root = README.parent
    make = shutil.which("make")
    assert make, "make is one of the two things a fresh machine needs"
    dry = subprocess.run(  # noqa: S603 (a fixed argument list)
        [make, "-n", "run", "PORT=8080", "HOST=0.0.0.0"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [serve] = [line for line in dry.splitlines() if "session-gateway serve" in line]
    assert serve.endswith("serve --demo --host 0.0.0.0 --port 8080")
