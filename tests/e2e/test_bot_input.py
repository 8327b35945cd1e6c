"""Bad input and documents through the chat: clear replies, nothing written on rejection."""

from __future__ import annotations

import json

from tests.e2e.conftest import ADMIN, Fleet, eventually


async def eventually_deleted(fleet: Fleet, count: int) -> None:
    async def said() -> bool:
        texts = [m.get("text", "") for m in fleet.api.sent(ADMIN)]
        return sum("deleted your file" in t for t in texts) >= count

    await eventually(said, within=30)


async def test_bad_arguments_get_usage_and_close_labels(fleet: Fleet) -> None:
    await fleet.add_accounts(3)
    await fleet.serve()
    fleet.api.inject_message(ADMIN, "/warmup a b c")
    await fleet.api.wait_for_message(ADMIN, contains="Usage: /warmup [SELECTOR] [DURATION]")
    fleet.api.inject_message(ADMIN, "/run abc")
    await fleet.api.wait_for_message(ADMIN, contains="“abc” is not a run number")
    fleet.api.inject_message(ADMIN, "/warmup demo4 10s")
    reply = await fleet.api.wait_for_message(ADMIN, contains="no account labelled 'demo4'")
    assert "did you mean" in reply["text"] and "demo1" in reply["text"]
    fleet.api.inject_message(ADMIN, "/upload all")
    await fleet.api.wait_for_message(ADMIN, contains="as the caption of a video")
    fleet.api.inject_message(ADMIN, "/run 99")
    await fleet.api.wait_for_message(ADMIN, contains="there is no run #99")
    code, out, err = await fleet.cli("runs", "list", "--json")
    assert code == 0, err
    assert json.loads(out) == {"runs": []}
    assert "Traceback" not in fleet.log_text()


async def test_csv_import_by_document(fleet: Fleet) -> None:
    await fleet.serve()
    bad = b"label,site,username,password,proxy,tags\nok1,demo,u1,p1,,\nbad,nosuch,u2,p2,,\n"
    rejected = fleet.api.inject_message(
        ADMIN, None, caption="/import", document=(bad, "accounts.csv", "text/csv")
    )
    reply = await fleet.api.wait_for_message(ADMIN, contains="Nothing was imported")
    assert "line 3" in reply["text"]
    good = b"label,site,username,password,proxy,tags\nok1,demo,u1,s3cret-pw,,a;b\n"
    upload = fleet.api.inject_message(
        ADMIN, None, caption="/import", document=(good, "accounts.csv", "text/csv")
    )
    await fleet.api.wait_for_message(ADMIN, contains="Imported 1 accounts: ok1")
    await eventually_deleted(fleet, 2)
    deleted = [c for c in fleet.api.calls if c.method == "deleteMessage"]
    # The rejected file held passwords too: both are gone from the chat.
    assert [int(c.params["message_id"]) for c in deleted] == [
        rejected["message_id"],
        upload["message_id"],
    ]
    fleet.api.inject_message(ADMIN, "/accounts")
    listing = await fleet.api.wait_for_message(ADMIN, contains="Accounts 1")
    assert "ok1 (demo, u1) ok #a #b" in listing["text"]
    assert "s3cret-pw" not in json.dumps(fleet.api.sent()) + fleet.log_text()
