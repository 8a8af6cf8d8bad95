import pytest

from studies.analysis.votes import COLUMNS, OPTIONAL, VotesError, read_votes

HEADER = ",".join(COLUMNS)


def _row(**changes):
    row = {
        "study": "s",
        "participant": "p1",
        "session": "1",
        "trial": "10",
        "trial_index": "0",
        "item": "i1",
        "category": "piano",
        "criterion": "overall",
        "slot_systems": "a|b|c|d",
        "chosen_slot": "1",
        "chosen_system": "b",
        "is_check": "False",
        "check_expected_system": "",
        "played_all": "True",
        "rt_ms": "1200",
        "submitted_at": "2026-11-21T10:00:00+00:00",
        "design": "best_of",
        "score": "",
    }
    row.update(changes)
    return ",".join(row.get(c, "") for c in COLUMNS)


def _write(tmp_path, *rows, header=HEADER):
    path = tmp_path / "votes.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_good_file_is_read_with_types(tmp_path):
    votes = read_votes(
        _write(tmp_path, _row(), _row(criterion="noise", chosen_slot="3", chosen_system="d"))
    )
    assert len(votes) == 2
    assert votes["chosen_slot"].tolist() == [1, 3]
    assert votes["is_check"].tolist() == [False, False]
    assert votes["n_slots"].tolist() == [4, 4]


@pytest.mark.parametrize(
    "rows, message",
    [
        ((_row(chosen_slot="4"),), "votes.csv:2: chosen_slot 4 is out of range for 4 slots"),
        ((_row(), _row(chosen_slot="x")), "votes.csv:3: chosen_slot, trial_index and rt_ms"),
        ((_row(chosen_system="c"),), "votes.csv:2: chosen_system 'c' is not the system in slot"),
        ((_row(), _row()), "votes.csv:3: duplicate of line 2"),
        ((_row(slot_systems="a|a|b|c"),), "votes.csv:2: slot_systems 'a|a|b|c' must list"),
        ((_row(is_check="maybe"),), "votes.csv:2: is_check must be true/false"),
        ((_row(is_check="True", check_expected_system="z"),), "votes.csv:2: check_expected"),
    ],
)
def test_bad_rows_name_their_line(tmp_path, rows, message):
    with pytest.raises(VotesError, match=message):
        read_votes(_write(tmp_path, *rows))


def test_missing_columns_and_unknown_systems(tmp_path):
    with pytest.raises(VotesError, match="missing columns: chosen_system"):
        read_votes(_write(tmp_path, "x", header=HEADER.replace(",chosen_system", "")))
    with pytest.raises(VotesError, match="votes.csv:2: unknown systems c, d"):
        read_votes(_write(tmp_path, _row()), known_systems={"a", "b"})
    with pytest.raises(VotesError, match="no such file"):
        read_votes(tmp_path / "nope.csv")


def test_analysis_names_the_line_of_a_trial_with_other_systems(tmp_path):
    from studies.analysis.qc import QCSettings
    from studies.analysis.report import analyze

    rows = [_row(trial=str(t)) for t in range(5)]
    rows.append(_row(trial="9", slot_systems="a|b|c|e"))
    votes = read_votes(_write(tmp_path, *rows))
    with pytest.raises(ValueError, match="line 7: trial shows 'a|b|c|e'"):
        analyze(votes, qc=QCSettings(), b=100)


def test_values_keep_their_exact_text_and_quoted_fields_are_read(tmp_path):
    rows = [
        _row(participant="007", item='"piano, take 2"'),
        _row(participant="7", trial="11", item='"piano, take 2"'),
    ]
    votes = read_votes(_write(tmp_path, *rows))
    assert votes["participant"].astype(str).tolist() == ["007", "7"]  # not both the number 7
    assert votes["item"].astype(str).tolist() == ["piano, take 2"] * 2
    assert votes["line"].tolist() == [2, 3]


def test_unreadable_files_name_what_is_wrong(tmp_path):
    wide = len(COLUMNS) + 1
    with pytest.raises(VotesError, match=f"not a readable CSV: line 3 has {wide} fields"):
        read_votes(_write(tmp_path, _row(), _row() + ",extra"))
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\n" + _row(item="caf\xe9") + "\n").encode("latin-1"))
    with pytest.raises(VotesError, match="not a readable CSV: not UTF-8 text"):
        read_votes(path)


LEGACY = [c for c in COLUMNS if c not in OPTIONAL]


def test_a_file_without_design_and_score_is_best_of(tmp_path):
    row = _row().split(",")[: len(LEGACY)]
    votes = read_votes(_write(tmp_path, ",".join(row), header=",".join(LEGACY)))
    assert votes["design"].tolist() == ["best_of"] and votes["score"].isna().all()


def test_rating_rows_carry_a_score_per_rated_version(tmp_path):
    rows = [
        _row(design="rating", slot_systems="a|b", chosen_slot="0", chosen_system="a", score="4"),
        _row(design="rating", slot_systems="a|b", chosen_slot="1", chosen_system="b", score="2"),
        _row(design="rating", slot_systems="c", chosen_slot="0", chosen_system="c", score="5",
             trial="11"),
    ]  # fmt: skip
    votes = read_votes(_write(tmp_path, *rows))
    assert votes["score"].tolist() == [4.0, 2.0, 5.0] and votes["n_slots"].tolist() == [2, 2, 1]


def test_a_pairwise_no_preference_reads_as_a_tie(tmp_path):
    rows = [
        _row(design="pairwise", slot_systems="a|b", chosen_slot="", chosen_system=""),
        _row(design="pairwise", slot_systems="a|b", chosen_slot="1", chosen_system="b",
             criterion="noise"),
    ]  # fmt: skip
    votes = read_votes(_write(tmp_path, *rows))
    assert votes["chosen_slot"].tolist() == [-1, 1]


@pytest.mark.parametrize(
    "rows, message",
    [
        ((_row(design="bestof"),), "votes.csv:2: design 'bestof' is not one of"),
        (
            (_row(), _row(design="pairwise", criterion="noise")),
            "votes.csv:3: design 'pairwise' differs from the file's first row",
        ),
        ((_row(score="3"),), "votes.csv:2: score '3' must be empty for best_of votes"),
        (
            (_row(design="rating", score="6"),),
            "votes.csv:2: score '6' must be a number from 1 to 5 (rating)",
        ),
        (
            (_row(design="mushra", score=""),),
            "votes.csv:2: score '' must be a number from 0 to 100 (mushra)",
        ),
        (
            (_row(chosen_slot="", chosen_system=""),),
            "votes.csv:2: chosen_slot, trial_index and rt_ms must be numbers",
        ),
        (
            (_row(design="pairwise", slot_systems="a|b", chosen_slot="", chosen_system="a"),),
            "votes.csv:2: an empty chosen_slot (no preference) needs an empty chosen_system",
        ),
        (
            (
                _row(design="rating", score="3"),
                _row(design="rating", score="4"),
            ),
            "votes.csv:3: duplicate of line 2 (same session, trial, criterion and rated version)",
        ),
        (
            (_row(slot_systems="a", chosen_slot="0", chosen_system="a"),),
            "votes.csv:2: slot_systems 'a' must list 2 or more distinct systems",
        ),
    ],
)
def test_design_rows_that_break_the_contract_name_the_line(tmp_path, rows, message):
    with pytest.raises(VotesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_votes(_write(tmp_path, *rows))


def test_ties_survive_a_write_and_read(tmp_path):
    from studies.analysis.votes import write_votes

    rows = [
        _row(design="pairwise", slot_systems="a|b", chosen_slot="", chosen_system=""),
        _row(design="pairwise", slot_systems="a|b", chosen_slot="0", chosen_system="a",
             criterion="noise"),
    ]  # fmt: skip
    votes = read_votes(_write(tmp_path, *rows))
    again = read_votes(write_votes(tmp_path / "again.csv", votes))
    assert again["chosen_slot"].tolist() == [-1, 0]
    assert again["chosen_system"].astype(str).tolist() == ["", "a"]
