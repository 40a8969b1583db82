"""The benchmark reports keep what was written by hand below their marker."""

from experiments.benchmarks._report import KEEP_MARKER, write_report


def test_new_report_is_the_lines(tmp_path, capsys):
    path = tmp_path / "sub" / "report.md"
    write_report(str(path), ["# title", "", "| a |", ""])
    assert path.read_text() == "# title\n\n| a |\n"
    assert "| a |" in capsys.readouterr().out


def test_rewrite_replaces_the_generated_part_and_keeps_the_hand_written_tail(tmp_path):
    path = tmp_path / "report.md"
    hand = f"{KEEP_MARKER}\n\n## Notes\n\nmeasured by hand: 1.23 s\n"
    path.write_text(f"# old\n\n| 1 |\n\n{hand}")
    write_report(str(path), ["# new", "", "| 2 |", ""])
    assert path.read_text() == f"# new\n\n| 2 |\n\n{hand}"
    write_report(str(path), ["# newer", ""])  # twice: the tail is not duplicated
    assert path.read_text() == f"# newer\n\n{hand}"


def test_a_file_without_the_marker_is_replaced_whole(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("# old\n\nold notes\n")
    write_report(str(path), ["# new", ""])
    assert path.read_text() == "# new\n"
