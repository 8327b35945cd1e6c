"""``async with`` for resources whose exit is their ``close()``; shared by every layer."""

from __future__ import annotations

from types import TracebackType


class Closing:
    """A resource whose ``__aexit__`` is ``close()``, whatever ended the block."""

    async def close(self) -> None:
        """Release everything; safe to call twice."""
        raise NotImplementedError

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
