"""The command line and its manual page (docs/gofannon-keys.8): --help
points to the manual, and the manual names every command --help lists."""

import os
import re
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANUAL = os.path.join(TOP, "docs", "gofannon-keys.8")


def help_text(stack, *argv):
    proc = subprocess.run([stack.binary] + list(argv), capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


def test_help_points_to_the_manual_page_not_the_readme(stack):
    for flag in ("--help", "help"):
        code, out, _ = help_text(stack, flag)
        assert code == 0, (flag, code)
        assert "man 8 gofannon-keys" in out, out
        assert "README" not in out and "docs/" not in out, out


def test_the_manual_names_every_command_and_option_of_the_usage(stack):
    _, out, _ = help_text(stack, "--help")
    with open(MANUAL) as f:
        manual = f.read()
    commands = set(re.findall(r"gofannon-keys \[?(\w+)", out))
    options = set(re.findall(r"(--[a-z]+)", out))
    assert {"serve", "keygen", "rekey", "version"} <= commands, commands
    assert {"--listen", "--workers", "--append"} <= options, options
    for command in commands:
        assert re.search(r"^\.(It |Op )?Cm %s\b" % command, manual, re.M), "no .Cm %s in the manual" % command
    for option in options:
        assert re.search(r"^\.(It |Op )?Fl %s\b" % re.escape(option[1:]), manual, re.M), \
            "no Fl %s in the manual" % option[1:]


def test_a_wrong_command_line_prints_the_usage_and_exits_2(stack):
    code, _, err = help_text(stack, "--no-such-option")
    assert code == 2 and "usage: gofannon-keys" in err, (code, err)
