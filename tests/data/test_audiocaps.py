import pytest

from wstag.data.audiocaps import CaptionRow, read_captions_csv, write_captions_csv
from wstag.errors import LabelError

ROWS = [
    CaptionRow("91139", "r1nicOVtvkQ", 130.0, "A woman talks nearby as water pours"),
    CaptionRow("58146", "UDGBjjwyaqE", 20.0, 'Multiple clanging and clanking sounds, then "boom"'),
    CaptionRow("11", "abc-_def123", 2.5, "A man speaks\nthen laughs"),
]


def test_round_trip(tmp_path):
    path = tmp_path / "captions.csv"
    write_captions_csv(ROWS, path)
    assert read_captions_csv(path) == ROWS
    assert path.read_text().splitlines()[:2] == [
        "audiocap_id,youtube_id,start_time,caption",
        "91139,r1nicOVtvkQ,130,A woman talks nearby as water pours",
    ]


def test_reads_the_audiocaps_layout(tmp_path):
    # The released files' layout: a byte-order mark is tolerated, extra columns ignored.
    path = tmp_path / "train.csv"
    path.write_text(
        "\ufeffaudiocap_id,youtube_id,start_time,caption,extra\n"
        "91139,r1nicOVtvkQ,130,A woman talks nearby as water pours,x\n",
        encoding="utf-8",
    )
    assert read_captions_csv(path) == ROWS[:1]


BAD = {
    "missing_column": ("audiocap_id,youtube_id,caption\n1,a,a dog barks\n", r"missing column\(s\) start_time"),
    "empty_file": ("", r"the file is empty"),
    "empty_caption": ("audiocap_id,youtube_id,start_time,caption\n1,a,0,a dog\n2,b,0,  \n", r"line 3: empty caption.*'2'"),
    "empty_youtube_id": ("audiocap_id,youtube_id,start_time,caption\n1,,0,a dog barks\n", r"line 2: empty youtube_id"),
    "bad_start_time": ("audiocap_id,youtube_id,start_time,caption\n1,a,zero,a dog barks\n", r"line 2: start_time must be"),
    "negative_start_time": ("audiocap_id,youtube_id,start_time,caption\n1,a,-3,a dog barks\n", r"line 2: start_time must be"),
    "too_few_fields": ("audiocap_id,youtube_id,start_time,caption\n1,a,0\n", r"line 2: wrong number of fields"),
    "too_many_fields": ("audiocap_id,youtube_id,start_time,caption\n1,a,0,a dog, barks\n", r"line 2: wrong number of fields"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_csv_names_file_and_line(tmp_path, name):
    text, pattern = BAD[name]
    path = tmp_path / "captions.csv"
    path.write_text(text)
    with pytest.raises(LabelError, match=pattern) as info:
        read_captions_csv(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(LabelError, match=r"nope\.csv: no such file"):
        read_captions_csv(tmp_path / "nope.csv")


def test_write_refuses_empty_caption(tmp_path):
    with pytest.raises(LabelError, match=r"out\.csv.*'7' is empty"):
        write_captions_csv([CaptionRow("7", "a", 0.0, " ")], tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
