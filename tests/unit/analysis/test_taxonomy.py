from pathlib import Path

import pytest

from koreapage_bot.analysis.taxonomy import TaxonomyError, load_taxonomy

REPO = Path(__file__).resolve().parents[3]
REQUIRED = {
    "cost-sharing", "gsomia", "usfk", "trade", "missile-defense", "opcon",
    "extended-deterrence", "exercises", "north-korea", "china", "japan-trilateral",
}  # fmt: skip


def test_packaged_default_has_the_required_issues() -> None:
    tax = load_taxonomy(None)
    assert set(tax.ids) >= REQUIRED
    for issue in tax.issues:
        assert issue.label and issue.description and (issue.terms or issue.strong_terms)
    assert tax.actors.us and tax.actors.rok


def test_config_file_and_packaged_copy_are_the_same() -> None:
    config = (REPO / "config" / "issues.toml").read_text(encoding="utf-8")
    packaged = (REPO / "src" / "koreapage_bot" / "defaults" / "issues.toml").read_text(
        encoding="utf-8"
    )
    assert config == packaged
    assert load_taxonomy(REPO / "config" / "issues.toml").ids == load_taxonomy(None).ids


def test_user_file_with_issues_only_borrows_the_default_actors(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        '[[issue]]\nid = "shipbuilding"\nlabel = "Shipbuilding"\n'
        'description = "Naval shipbuilding cooperation."\nterms = ["shipbuilding", "MRO"]\n'
    )
    tax = load_taxonomy(path)
    assert tax.ids == ("shipbuilding",)
    assert tax.actors == load_taxonomy(None).actors


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('[[issue]]\nid = "x"\nlabel = "X"\nterms = "not a list"\n', "key 'terms'"),
        ('[[issue]]\nlabel = "X"\nterms = ["a"]\n', "key 'id'"),
        ('[[issue]]\nid = "Bad Id"\nlabel = "X"\nterms = ["a"]\n', "key 'id'"),
        ('[[issue]]\nid = "x"\nterms = ["a"]\n', "key 'label'"),
        ('[[issue]]\nid = "x"\nlabel = "X"\nterms = ["a"]\nkind = "odd"\n', "key 'kind'"),
        ('[[issue]]\nid = "x"\nlabel = "X"\nterms = ["re:("]\n', "bad regex"),
        ('[[issue]]\nid = "x"\nlabel = "X"\nterms = ["a"]\ncolour = 1\n', "unknown key"),
        ('[[issue]]\nid = "x"\nlabel = "X"\nterms = ["a"]\nnames = ["b"]\n', "key 'names'"),
        ("issue = [", "not valid TOML"),
        ("title = 'no issues'\n", "key 'issue'"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(body)
    with pytest.raises(TaxonomyError) as err:
        load_taxonomy(path)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.toml"
    path.write_text('[[issue]]\nid = "x"\nlabel = "X"\nterms = ["a"]\n' * 2)
    with pytest.raises(TaxonomyError, match="duplicate id 'x'"):
        load_taxonomy(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(tmp_path / "nope.toml")
