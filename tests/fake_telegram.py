"""A small fake Telegram Bot API server over real HTTP, for tests of the real bot.

Faithful where fleetbot depends on it: the ``/bot<token>/<method>`` and
``/file/bot<token>/<path>`` routes, ``{"ok": ..., "result" | "error_code"}`` envelopes,
long polling with ``offset`` confirmation, form and multipart bodies with JSON-encoded
nested fields (as aiogram sends them), per-chat message ids, "message is not modified",
429 with ``parameters.retry_after``, 401 for a wrong token, connection refused while down.
Simplified: private chats only, no webhooks, media are stored as opaque bytes.

Tests inject updates (``inject_message``, ``inject_callback``), wait on conditions
(``wait_for``, ``wait_for_message``) and inject faults (``retry_after``, ``fail_next``,
``go_down`` / ``come_back``, ``hold`` / ``release`` to keep a request in flight). Every
call is recorded with the answer it got.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

BOT_ID = 424242
PRIVATE_KEYS = {"history", "at", "forced"}
JSON_FIELDS = {"reply_markup", "media", "allowed_updates", "commands", "entities", "scope"}


@dataclass
class Call:
    """One request the bot made, and the status it was answered with."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    status: int = 200

    @property
    def chat_id(self) -> int | None:
        raw = self.params.get("chat_id")
        return int(raw) if raw is not None else None


@dataclass
class _Fault:
    method: str | None
    status: int
    retry_after: int | None = None
    times: int | None = None
    until: float | None = None

    def applies(self, method: str, now: float) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.until is not None:
            return now < self.until
        return (self.times or 0) > 0


@dataclass
class FakeBotAPI:
    """The fake server; ``async with FakeBotAPI() as api`` serves on ``api.url``."""

    token: str = "123456:TEST-token"
    username: str = "fleet_test_bot"
    calls: list[Call] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._sent: list[tuple[int, int]] = []
        self._files: dict[str, bytes] = {}
        self._file_ids = itertools.count(1)
        self._faults: list[_Fault] = []
        self._held: dict[str, asyncio.Event] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._app: web.Application | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeBotAPI:
        self._app = web.Application(client_max_size=64 * 2**20)
        self._app.router.add_route("*", "/bot{token}/{method}", self._api)
        self._app.router.add_get("/file/bot{token}/{path:.*}", self._download)
        await self.come_back()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for method in list(self._held):
            self.release(method)
        async with self._changed:
            self._changed.notify_all()
        await self.go_down()
        for task in list(self._tasks):
            await task

    async def go_down(self) -> None:
        """Stop listening and drop open connections: the bot gets connection refused."""
        if self._runner is not None:
            await self._runner.cleanup()  # also closes keep-alive connections
            self._runner = None

    async def come_back(self) -> None:
        """Listen again, on the same port."""
        assert self._app is not None
        self._runner = web.AppRunner(
            self._app, handle_signals=False, access_log=None, shutdown_timeout=0.2
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            server = site._server  # aiohttp has no public accessor for the bound port
            assert isinstance(server, asyncio.Server)
            self.port = int(server.sockets[0].getsockname()[1])

    # -- faults ------------------------------------------------------------------------

    def retry_after(
        self,
        seconds: int,
        *,
        method: str | None = "sendMessage",
        times: int | None = None,
        until: float | None = None,
    ) -> None:
        """Answer 429 retry_after to the next ``times`` calls, or to all until ``until``."""
        self._faults.append(_Fault(method, 429, seconds, times if until is None else None, until))

    def fail_next(self, times: int, *, status: int = 500, method: str | None = None) -> None:
        """Answer the next calls with a server error."""
        self._faults.append(_Fault(method, status, times=times))

    def hold(self, method: str) -> None:
        """Leave calls of ``method`` unanswered until ``release``: they stay in flight."""
        self._held.setdefault(method, asyncio.Event())

    def release(self, method: str) -> None:
        """Answer the held calls of ``method`` (faults added meanwhile apply to them)."""
        if (held := self._held.pop(method, None)) is not None:
            held.set()

    # -- injecting updates -------------------------------------------------------------

    def inject_message(
        self,
        chat_id: int,
        text: str | None,
        *,
        user_id: int | None = None,
        caption: str | None = None,
        reply_to: int | None = None,
        video: tuple[bytes, str, str] | None = None,
        document: tuple[bytes, str, str] | None = None,
        language_code: str = "en",
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """A user's message; a leading /command gets its bot_command entity."""
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": "User"}
        user["language_code"] = language_code
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": user,
        }
        if text is not None:
            message["text"] = text
            message["entities"] = _command_entities(text)
        if caption is not None:
            message["caption"] = caption
            message["caption_entities"] = _command_entities(caption)
        if reply_to is not None:
            replied = self._messages[(chat_id, reply_to)]
            message["reply_to_message"] = _public(replied)
        if video is not None:
            message["video"] = self._file(video, duration=1, width=64, height=64)
        if document is not None:
            message["document"] = self._file(document)
        self._messages[(chat_id, message["message_id"])] = message
        self._push({"message": message})
        return message

    def inject_callback(
        self, chat_id: int, user_id: int, message_id: int, data: str
    ) -> dict[str, Any]:
        """A press on an inline button of a bot message."""
        message = self._messages.get(
            (chat_id, message_id),
            {"message_id": message_id, "date": 0, "chat": {"id": chat_id, "type": "private"}},
        )
        query = {
            "id": str(next(self._update_ids) * 1000),
            "from": {"id": user_id, "is_bot": False, "first_name": "User"},
            "chat_instance": str(chat_id),
            "message": message,
            "data": data,
        }
        self._push({"callback_query": query})
        return query

    def _file(self, spec: tuple[bytes, str, str], **extra: Any) -> dict[str, Any]:
        data, name, mime = spec
        file_id = f"file{next(self._file_ids)}"
        self._files[file_id] = data
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_name": name,
            "mime_type": mime,
            **extra,
        }

    def _push(self, update: dict[str, Any]) -> None:
        self._updates.append({"update_id": next(self._update_ids), **update})
        task = asyncio.get_running_loop().create_task(self._notify())
        self._tasks.add(task)  # kept until done: waiters are woken from async code only
        task.add_done_callback(self._tasks.discard)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- what the bot sent -------------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent and has not deleted, in order, as they are now (after edits)."""
        return [
            self._messages[key]
            for key in self._sent
            if key in self._messages and (chat_id is None or key[0] == chat_id)
        ]

    def chat(self, chat_id: int) -> list[dict[str, Any]]:
        """Everything a member of the chat can see now: both sides, minus deleted messages."""
        return [_public(m) for (chat, _), m in sorted(self._messages.items()) if chat == chat_id]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """One message as it is now."""
        return self._messages[(chat_id, message_id)]

    async def wait_for(self, predicate: Callable[[Call], bool], within: float = 30) -> Call:
        """The first recorded call matching predicate, waiting for it if needed."""
        async with asyncio.timeout(within), self._changed:
            while True:
                for call in self.calls:
                    if predicate(call):
                        return call
                await self._changed.wait()

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str = "",
        *,
        where: Callable[[dict[str, Any]], bool] | None = None,
        within: float = 30,
    ) -> dict[str, Any]:
        """The first message sent to chat_id whose text or caption contains ``contains``."""

        def match() -> dict[str, Any] | None:
            for message in self.sent(chat_id):
                body = message.get("text") or message.get("caption") or ""
                if contains in body and (where is None or where(message)):
                    return message
            return None

        async with asyncio.timeout(within), self._changed:
            while (found := match()) is None:
                await self._changed.wait()
            return found

    # -- the HTTP side -----------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await _read_body(request)
        call = Call(method, params, files, time.monotonic())
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                return _error(call, 401, "Unauthorized")
            if (held := self._held.get(method)) is not None:
                await self._notify()  # the call is visible to waiters while it is held
                await held.wait()
            if (fault := self._fault(method)) is not None:
                return fault_response(call, fault)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                return _error(call, 404, f"Not Found: method {method} not faked")
            result = await handler(params, files)
            if isinstance(result, web.Response):
                call.status = result.status
                return result
            return web.json_response({"ok": True, "result": result})
        finally:
            await self._notify()

    def _fault(self, method: str) -> _Fault | None:
        now = time.monotonic()
        for fault in self._faults:
            if fault.applies(method, now):
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        data = self._files.get(request.match_info["path"].removeprefix("files/"))
        return web.Response(body=data) if data is not None else web.Response(status=404)

    # -- methods -----------------------------------------------------------------------

    def _me(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Fleet", "username": self.username}

    async def _m_getMe(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self._me()

    async def _m_deleteWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return True

    async def _m_setMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return True

    async def _m_getUpdates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        offset = int(params.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = min(float(params.get("timeout") or 0), 5.0)
        if not self._updates and timeout:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._changed:
                    await self._changed.wait_for(lambda: bool(self._updates))
        return list(self._updates)

    async def _m_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self._store(params, {"text": params.get("text", "")})

    async def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        photo = [{"file_id": "p1", "file_unique_id": "up1", "width": 1, "height": 1}]
        return self._store(params, {"photo": photo, "caption": params.get("caption")})

    async def _m_sendMediaGroup(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        media = params.get("media") or []
        if not 2 <= len(media) <= 10:
            return _bad(f"Bad Request: wrong number of media: {len(media)}")
        photo = [{"file_id": "p1", "file_unique_id": "up1", "width": 1, "height": 1}]
        return [
            self._store(params, {"photo": photo, "caption": item.get("caption")}) for item in media
        ]

    async def _m_editMessageText(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self._messages.get(key)
        if message is None:
            return _bad("Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        if message.get("text") == params.get("text") and message.get("reply_markup") == markup:
            return _bad("Bad Request: message is not modified: specified new message content")
        message.setdefault("history", []).append(message.get("text"))
        message["text"] = params.get("text")
        message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return _public(message)

    async def _m_deleteMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if self._messages.pop(key, None) is None:
            return _bad("Bad Request: message to delete not found")
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return True

    async def _m_getFile(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        file_id = str(params.get("file_id"))
        if file_id not in self._files:
            return _bad("Bad Request: invalid file_id")
        data = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": f"files/{file_id}",
        }

    def _store(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self._me(),
            **{k: v for k, v in content.items() if v is not None},
        }
        markup = params.get("reply_markup")
        if markup and "force_reply" in markup:
            message["forced"] = True  # a ForceReply is not part of the message Telegram shows
        elif markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        self._sent.append((chat_id, message["message_id"]))
        reply = _public(message)
        message["at"] = time.monotonic()
        return reply

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """A message without the fake's own bookkeeping keys."""
    return {k: v for k, v in message.items() if k not in PRIVATE_KEYS}


def _command_entities(text: str) -> list[dict[str, Any]]:
    if not text.startswith("/"):
        return []
    return [{"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}]


async def _read_body(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    params: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename:
                files[part.name] = bytes(await part.read())
            else:
                params[part.name] = await part.text()
    elif request.can_read_body:
        params.update(await request.post())
    for key in JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            params[key] = json.loads(params[key])
    return params, files


def fault_response(call: Call, fault: _Fault) -> web.Response:
    if fault.status == 429:
        call.status = 429
        return web.json_response(
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {fault.retry_after}",
                "parameters": {"retry_after": fault.retry_after},
            },
            status=429,
        )
    return _error(call, fault.status, "Internal Server Error")


def _error(call: Call, status: int, description: str) -> web.Response:
    call.status = status
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


def _bad(description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": 400, "description": description}, status=400
    )
