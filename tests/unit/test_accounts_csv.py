import pytest

from automation.accounts import (
    CsvImportError,
    check_accounts_csv,
    parse_accounts_csv,
    parse_proxy,
    parse_tags,
)

HEADER = "label,site,username,password,proxy,tags\n"


def test_good_file_parses_every_column() -> None:
    rows = parse_accounts_csv(
        (
            HEADER
            + "a1,demo,demo1,pw-1,http://pu:pp%40x@127.0.0.1:3128,warm;eu\n"
            + "a2,demo,demo2,,,#us  night\n"
            + "\n"
            + "a3,demo,demo3,pw-3,socks5://10.0.0.1:1080,\n"
        ).encode()
    )
    assert [r.label for r in rows] == ["a1", "a2", "a3"]
    assert [r.line for r in rows] == [2, 3, 5]
    first = rows[0]
    assert first.proxy is not None
    assert first.proxy.server == "http://127.0.0.1:3128"
    assert (first.proxy.username, first.proxy.password) == ("pu", "pp@x")
    assert first.tags == ("warm", "eu")
    assert rows[1].password is None
    assert rows[1].tags == ("us", "night")
    assert "pw-1" not in repr(first)
    assert "pp@x" not in repr(first.proxy)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("bad label!,demo,u,,,", "label 'bad label!' must be"),
        (",demo,u,,,", "label is empty"),
        ("x,facebook,u,,,", "unknown site 'facebook' (known: demo, tiktok)"),
        ("x,demo,,,,", "username is empty"),
        ("x,demo,u,,ftp://h:1,", "proxy must look like"),
        ("x,demo,u,,http://h,", "proxy must look like"),
        ("x,demo,u,,http://u:secretpw@h:99999,", "proxy must look like"),
        ("x,demo,u,,,bad/tag", "tag 'bad/tag'"),
        ("x,demo,u,,,,extra", "more fields than the header"),
    ],
)
def test_each_kind_of_bad_row_is_reported_with_its_line(row: str, problem: str) -> None:
    rows, problems = check_accounts_csv((HEADER + "ok,demo,u,,,\n" + row + "\n").encode())
    assert [r.label for r in rows] == ["ok"]
    assert len(problems) == 1
    assert problems[0].startswith("line 3: ")
    assert problem in problems[0]
    assert "secretpw" not in problems[0]


def test_all_problems_are_reported_and_nothing_returned() -> None:
    data = (
        HEADER
        + "a1,demo,u1,,,\n"
        + "a2,demo,u2,,not-a-proxy,\n"
        + "a3,demo,u3,,,\n"
        + "a1,demo,u4,,,\n"
    ).encode()
    with pytest.raises(CsvImportError) as info:
        parse_accounts_csv(data)
    assert info.value.problems == [
        "line 3: proxy must look like scheme://[user:pass@]host:port with scheme http, "
        "https or socks5",
        "line 5: duplicate label 'a1' (first on line 2)",
    ]


def test_header_must_name_known_columns() -> None:
    _, problems = check_accounts_csv(b"name,site\nx,demo\n")
    assert problems == [
        "line 1: missing column(s) label, username; unknown column(s) at position 1 "
        "(line 1 must be the header label,site,username,password,proxy,tags; is it missing?)"
    ]


def test_a_file_without_its_header_line_echoes_none_of_its_cells() -> None:
    """Line 1 is then an account: its password and proxy URL must not be quoted back."""
    row = "a1,demo,demo1,hunter2-SECRET,http://pu:proxy-SECRET@10.0.0.1:3128,warm"
    _, problems = check_accounts_csv((row + "\na2,demo,demo2,pw2,,\n").encode())
    assert len(problems) == 1
    assert problems[0].startswith("line 1: missing column(s) label, site, username")
    for cell in row.split(","):
        assert cell not in problems[0]


def test_empty_and_binary_files() -> None:
    assert check_accounts_csv(HEADER.encode())[1] == ["file has no account rows"]
    assert check_accounts_csv(b"\xff\xfe")[1] == ["file is not UTF-8 text"]


def test_proxy_and_tag_parsers() -> None:
    spec = parse_proxy("https://proxy.example:8443")
    assert (spec.scheme, spec.host, spec.port, spec.username, spec.password) == (
        "https",
        "proxy.example",
        8443,
        "",
        None,
    )
    assert parse_tags("a; b;;a c") == ("a", "b", "c")
