"""How numbers are printed in the report files."""

from studies.analysis.report import format_alpha, format_p, latex_escape


def test_p_values_are_printed_at_the_resolution_of_their_method():
    assert format_p(0.04321) == "0.043"
    assert format_p(0.0004) == "< 0.001"
    assert format_p(2 / 2001, 2 / 2001) == "< 0.001"  # B = 2000: the floor is below 0.001
    assert format_p(2 / 1001, 2 / 1001) == "<= 0.002"  # B = 1000: not "0.001998"
    assert format_p(None) == "n/a"
    assert format_alpha(0.05312345678901234) == "0.053" and format_alpha(None) == "n/a"


def test_latex_special_characters_are_escaped():
    assert latex_escape("Foley_Music & 100% #1 {x} ~^\\") == (
        r"Foley\_Music \& 100\% \#1 \{x\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    )
