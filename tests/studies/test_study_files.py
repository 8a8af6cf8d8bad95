"""Study files: create -> export -> create gives the same study; every bad key, type and value
is named by line and key, with nothing written."""

import pytest
from django.core.management import CommandError, call_command

from studies.models import Study
from studies.replication import study_config
from studies.study_files import parse_study_file, study_config_toml, study_from_spec

pytestmark = pytest.mark.django_db

GOOD = '''title = "Pairs"
slug = "pairs"
design = "pairwise"
consent_text = """Voluntary.
Stop at any time."""

[session]
trials = 6
checks = 0
allow_no_preference = true

[qc]
min_trial_seconds = 1.5
require_played_all = true

[screening]
enabled = true
headphone_trials = 4
headphone_min_correct = 3

[recruitment]
accept_local_arrivals = false
bonus_cents = 25

[player]
kind = "switch"
heard_fraction = 0.8

[latency]
enabled = true
max_delay_ms = 150

[[criteria]]
key = "overall"
question = "Which video's music do you prefer?"

[[systems]]
key = "fm"
name = "Foley Music"
sampling = { greedy = false, top_p = 0.9 }

[[systems]]
key = "wn"
name = "WaveNet"
description = "the WaveNet baseline"
'''


def _comparable(study):
    config = study_config(study)
    config.pop("slug"), config.pop("launched_at")
    return config


def test_create_export_create_gives_the_same_study(tmp_path, capsys):
    path = tmp_path / "pairs.toml"
    path.write_text(GOOD)
    call_command("create_study", str(path))
    first = Study.objects.get(slug="pairs")
    assert first.design == "pairwise" and first.allow_no_preference and first.screening
    assert first.consent_text == "Voluntary.\nStop at any time."
    assert "Each video is shown twice" in first.instructions  # the design's own text
    assert list(first.criteria.values_list("key", flat=True)) == ["overall"]
    assert first.systems.get(key="fm").sampling == {"greedy": False, "top_p": 0.9}
    assert (first.player, first.switch_heard_fraction) == ("switch", 0.8)
    assert first.latency_check and first.max_av_delay_ms == 150 and first.latency_compensate
    capsys.readouterr()
    call_command("export_study_config", "pairs")
    exported = capsys.readouterr().out
    again = tmp_path / "again.toml"
    again.write_text(exported)
    call_command("create_study", str(again), "--slug", "pairs-2")
    second = Study.objects.get(slug="pairs-2")
    assert _comparable(first) == _comparable(second)
    capsys.readouterr()
    call_command("export_study_config", "pairs-2")
    assert capsys.readouterr().out.replace("pairs-2", "pairs") == exported


def test_every_design_and_role_round_trips(tmp_path):
    for design, roles in (("mushra", ("reference", "anchor", "generated")),
                          ("real_or_generated", ("reference", "generated", "generated")),
                          ("rating", ("generated", "generated", "generated"))):  # fmt: skip
        systems = "".join(
            f'\n[[systems]]\nkey = "s{n}"\nname = "S{n}"\nrole = "{role}"\n'
            for n, role in enumerate(roles)
        )
        text = f'title = "T"\nslug = "t-{design}"\ndesign = "{design}"\n{systems}'
        study = study_from_spec(parse_study_file(tmp_path / "x.toml", text))
        exported = study_config_toml(study)
        copy = study_from_spec(parse_study_file(tmp_path / "y.toml", exported, slug=f"c-{design}"))
        assert _comparable(study) == _comparable(copy)
        assert [s.role for s in copy.systems.order_by("id")] == list(roles)


@pytest.mark.parametrize(
    "change, message",
    [
        (("trials = 6", "trails = 6"), ":8: 'trails' in [session]: unknown key"),
        (("trials = 6", 'trials = "six"'), ":8: 'trials' in [session]: must be int, not str"),
        (("trials = 6", "trials = 0"), ":8: 'trials' in [session]: Ensure this value is greater"),
        (('design = "pairwise"', 'design = "duel"'), ":3: 'design' in the top level: must be one"),
        (("[qc]", "[quality]"), ":12: [quality]: unknown table"),
        (('key = "wn"', 'key = "Wave Net"'), ":43: 'key' in [[systems]] #2: Use lowercase"),
        (('key = "wn"', 'key = "fm"'), ":43: 'key' in [[systems]] #2: 'fm' is given twice"),
        (('description = "the WaveNet baseline"', 'role = "judge"'),
         ":45: 'role' in [[systems]] #2: must be one of"),
        (('kind = "switch"', 'kind = "carousel"'),
         ":26: 'kind' in [player]: Value 'carousel' is not"),
        (('slug = "pairs"', 'slug = "no spaces"'), ":2: 'slug' in the top level: Enter a valid"),
        (("bonus_cents = 25", "bonus_cents = true"), "'bonus_cents' in [recruitment]: must be int"),
        (('title = "Pairs"', ""), ":1: the top level: 'title' is required"),
        (("[session]", "[session"), "not valid TOML"),
        (("[[systems]]\nkey = \"wn\"", "[[systems]]\nkey = \"wn\"\ncheckpoint = \"no.pt\""),
         "'checkpoint' in [[systems]] #2: no such file 'no.pt'"),
    ],
)  # fmt: skip
def test_bad_files_are_named_by_line_and_key_and_write_nothing(tmp_path, change, message):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*change, 1))
    with pytest.raises(CommandError) as raised:
        call_command("create_study", str(path))
    assert message in str(raised.value), str(raised.value)
    assert str(path) in str(raised.value)
    assert not Study.objects.exists()


def test_a_taken_slug_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "pairs.toml"
    path.write_text(GOOD)
    call_command("create_study", str(path))
    with pytest.raises(CommandError, match=":2: 'slug' in the top level: a study with slug"):
        call_command("create_study", str(path))
    assert Study.objects.count() == 1


def test_the_demo_study_is_a_study_file():
    from studies.demo import DEMO_STUDY_FILE

    spec = parse_study_file(DEMO_STUDY_FILE)
    study = study_from_spec(spec)
    assert [s.key for s in study.systems.all()] == ["foley_music", "samplernn", "wavenet", "gan"]
    assert study.screening and study.trials_per_session == 4
    assert study.systems.get(key="foley_music").sampling == {"greedy": False, "top_p": 0.9}
