import json

import pytest

from automation.session_files import MAX_SESSION_BYTES, SessionFileError, parse_session

SECRET = "s3cr3t-cookie-value"


def test_playwright_storage_state_is_kept() -> None:
    state = {
        "cookies": [
            {
                "name": "sid",
                "value": SECRET,
                "domain": "127.0.0.1",
                "path": "/",
                "expires": -1,
                "httpOnly": True,
                "secure": False,
                "sameSite": "Lax",
            }
        ],
        "origins": [{"origin": "http://127.0.0.1", "localStorage": []}],
    }
    parsed = parse_session(json.dumps(state).encode())
    assert parsed["cookies"][0]["value"] == SECRET
    assert parsed["cookies"][0]["httpOnly"] is True
    assert parsed["origins"] == state["origins"]


def test_extension_cookie_list_is_converted() -> None:
    exported = [
        {
            "domain": "example.com",
            "hostOnly": False,
            "name": "sid",
            "value": SECRET,
            "path": "/",
            "secure": True,
            "httpOnly": True,
            "sameSite": "no_restriction",
            "session": False,
            "expirationDate": 1900000000.5,
        },
        {
            "domain": "example.com",
            "hostOnly": True,
            "name": "theme",
            "value": "dark",
            "session": True,
        },
    ]
    cookies = parse_session(json.dumps(exported).encode())["cookies"]
    assert cookies[0]["domain"] == ".example.com"
    assert cookies[0]["sameSite"] == "None"
    assert cookies[0]["expires"] == 1900000000.5
    assert cookies[1]["domain"] == "example.com"
    assert cookies[1]["expires"] == -1
    assert cookies[1]["sameSite"] == "Lax"


def test_netscape_cookies_txt_is_converted() -> None:
    text = (
        "# Netscape HTTP Cookie File\n"
        "\n"
        f".example.com\tTRUE\t/\tTRUE\t1900000000\tsid\t{SECRET}\n"
        "#HttpOnly_example.com\tFALSE\t/app\tFALSE\t0\ttoken\tabc\n"
    )
    cookies = parse_session(text.encode())["cookies"]
    assert [c["name"] for c in cookies] == ["sid", "token"]
    assert cookies[0]["secure"] is True
    assert cookies[0]["expires"] == 1900000000
    assert cookies[1]["httpOnly"] is True
    assert cookies[1]["expires"] == -1
    assert cookies[1]["path"] == "/app"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"cookies": [', "not valid JSON"),
        (b'{"foo": 1}', "not a Playwright storage_state"),
        (
            b'[{"name": "a", "value": "' + SECRET.encode() + b'"}]',
            "cookie 1: missing or invalid 'domain'",
        ),
        (b'[{"name": "a", "value": "x", "domain": "d", "expirationDate": "soon"}]', "'expires'"),
        (b"example.com\tTRUE\t/\n", "line 1: not a cookies.txt line"),
        (b"# only comments\n", "holds no cookies"),
        (b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_bad_session_files_are_explained_without_values(data: bytes, expected: str) -> None:
    with pytest.raises(SessionFileError) as info:
        parse_session(data)
    assert expected in str(info.value)
    assert SECRET not in str(info.value)


def test_oversized_file_is_refused() -> None:
    with pytest.raises(SessionFileError, match="larger than"):
        parse_session(b" " * (MAX_SESSION_BYTES + 1))
